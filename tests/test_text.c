/* Text data: UTF-8 validation, lines, the tokenizer, vocabularies (built
 * and read from tensorflow/nmt vocab files), token-id files, padding, length
 * buckets, the labelled-text readers, BLEU against NLTK's corpus_bleu, and
 * .mo catalogs against Python's gettext; every bad input of the issue. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensorcook/text.h"

static char dir[64];

static const char *p(const char *name)
{
    static char buf[4][300];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}
#define WRITE_STR(path, s) write_file((path), (s), sizeof(s) - 1)

static void assert_err(tc_status st, const char *a, const char *b)
{
    if (st == TC_OK) fail_msg("expected an error mentioning '%s'", a);
    const char *e = tc_last_error();
    if (!strstr(e, a) || (b && !strstr(e, b))) fail_msg("error '%s' lacks '%s' / '%s'", e, a, b ? b : "");
    if (strchr(e, '\n')) fail_msg("error '%s' is more than one line", e);
}

static void utf8_validation(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t bad;
    } cases[] = {
        {"plain ascii", -1},
        {"Vi\xe1\xbb\x87t", -1},            /* Việt */
        {"\xf0\x9f\x98\x80 ok", -1},        /* U+1F600 */
        {"a\x80", 1},                       /* lone continuation */
        {"\xc0\xaf", 0},                    /* overlong '/' */
        {"\xe0\x80\xaf", 0},                /* overlong, 3 bytes */
        {"ab\xed\xa0\x80", 2},              /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 0},            /* above U+10FFFF */
        {"x\xe1\xbb", 1},                   /* truncated */
        {"\xff", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(tc_utf8_invalid_at(cases[i].s, strlen(cases[i].s)), cases[i].bad);
}

static void lines_and_bad_text(void **state)
{
    (void)state;
    WRITE_STR(p("l.txt"), "one\r\ntwo\n\nlast");
    tc_lines l;
    assert_int_equal(tc_read_lines(p("l.txt"), &l), TC_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.line[0], "one");
    assert_string_equal(l.line[2], "");
    assert_string_equal(l.line[3], "last");
    tc_lines_free(&l);
    WRITE_STR(p("empty.txt"), "");
    assert_err(tc_read_lines(p("empty.txt"), &l), "empty.txt", "empty file");
    WRITE_STR(p("latin1.txt"), "good\nline two\ncaf\xe9\n");
    assert_err(tc_read_lines(p("latin1.txt"), &l), "latin1.txt:3:", "invalid UTF-8");
    write_file(p("nul.txt"), "a\nb\0c", 5);
    assert_err(tc_read_lines(p("nul.txt"), &l), "nul.txt:2:", "NUL");
    assert_err(tc_read_lines(p("missing.txt"), &l), "missing.txt", "cannot open");
}

static void tokenizer(void **state)
{
    (void)state;
    tc_tokens t;
    assert_int_equal(tc_tokenize("  Don't STOP, Việt-Nam!\t(ok)  ", true, &t), TC_OK);
    const char *want[] = {"don", "'", "t", "stop", ",", "việt", "-", "nam", "!", "(", "ok", ")"};
    assert_int_equal(t.n, 12);
    for (int i = 0; i < 12; i++) assert_string_equal(t.tok[i], want[i]);
    tc_tokens_free(&t);
    assert_int_equal(tc_tokenize("Keep Case", false, &t), TC_OK);
    assert_string_equal(t.tok[0], "Keep");
    tc_tokens_free(&t);
    assert_int_equal(tc_split_spaces(" a, b  c.\n", &t), TC_OK);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.tok[0], "a,");
    assert_string_equal(t.tok[2], "c.");
    tc_tokens_free(&t);
    assert_int_equal(tc_tokenize("", true, &t), TC_OK);
    assert_int_equal(t.n, 0);
    tc_tokens_free(&t);
}

static void vocab_build_and_files(void **state)
{
    (void)state;
    const char *sp[] = {"<pad>", "<unk>"};
    tc_vocab *v = tc_vocab_new(2, sp, 1);
    tc_assert_ok(v);
    const char *words[] = {"b", "a", "c", "a", "b", "d", "a", "c", "e", "<pad>"};
    for (int i = 0; i < 10; i++) assert_int_equal(tc_vocab_count(v, words[i]), TC_OK);
    /* counts a 3, b 2, c 2, d 1, e 1: min count 2 keeps a, b, c; size 4 keeps a, b */
    assert_int_equal(tc_vocab_finish(v, 4, 2), TC_OK);
    assert_int_equal(tc_vocab_size(v), 4);
    assert_string_equal(tc_vocab_token(v, 2), "a");
    assert_string_equal(tc_vocab_token(v, 3), "b");
    assert_int_equal(tc_vocab_id(v, "a"), 2);
    assert_int_equal(tc_vocab_id(v, "c"), 1); /* unknown */
    assert_int_equal(tc_vocab_id(v, "<pad>"), 0);
    assert_false(tc_vocab_contains(v, "c"));
    assert_null(tc_vocab_token(v, 4));
    assert_int_equal(tc_vocab_count(v, "x"), TC_ERR_STATE);
    tc_vocab_free(v);

    /* ties in byte order, no limit */
    v = tc_vocab_new(0, NULL, -1);
    const char *w2[] = {"z", "y", "x", "y"};
    for (int i = 0; i < 4; i++) tc_vocab_count(v, w2[i]);
    assert_int_equal(tc_vocab_finish(v, 0, 0), TC_OK);
    assert_string_equal(tc_vocab_token(v, 0), "y");
    assert_string_equal(tc_vocab_token(v, 1), "x");
    assert_string_equal(tc_vocab_token(v, 2), "z");
    assert_int_equal(tc_vocab_id(v, "nope"), -1);
    tc_tokens t = {0};
    int32_t *ids;
    int64_t len;
    tc_split_spaces("x nope", &t);
    assert_err(tc_encode_tokens(v, &t, &ids, &len), "nope", "not in the vocabulary");
    tc_tokens_free(&t);
    tc_vocab_free(v);

    /* tensorflow/nmt vocab files */
    WRITE_STR(p("vocab.en"), "<unk>\n<s>\n</s>\nthe\nc\xc3\xa1\n");
    v = tc_vocab_load(p("vocab.en"));
    tc_assert_ok(v);
    assert_int_equal(tc_vocab_size(v), 5);
    assert_int_equal(tc_vocab_id(v, "cá"), 4);
    assert_int_equal(tc_vocab_id(v, "zebra"), 0);
    assert_int_equal(tc_vocab_id(v, TC_EOS), 2);
    assert_int_equal(tc_vocab_save(v, p("saved.vocab")), TC_OK);
    tc_vocab *w = tc_vocab_load(p("saved.vocab"));
    tc_assert_ok(w);
    assert_int_equal(tc_vocab_size(w), 5);
    assert_string_equal(tc_vocab_token(w, 3), "the");
    tc_vocab_free(w);
    tc_vocab_free(v);
    WRITE_STR(p("nospecial.vocab"), "the\ncat\n");
    assert_null(tc_vocab_load(p("nospecial.vocab")));
    assert_err(TC_ERR_FORMAT, "nospecial.vocab:1:", "<unk>, <s>, </s>");
    WRITE_STR(p("order.vocab"), "<unk>\n</s>\n<s>\n");
    assert_null(tc_vocab_load(p("order.vocab")));
    assert_err(TC_ERR_FORMAT, "order.vocab:2:", "<s>");
    WRITE_STR(p("dup.vocab"), "<unk>\n<s>\n</s>\na\nb\na\n");
    assert_null(tc_vocab_load(p("dup.vocab")));
    assert_err(TC_ERR_FORMAT, "dup.vocab:6:", "repeats line 4");
    WRITE_STR(p("blank.vocab"), "<unk>\n<s>\n</s>\n\n");
    assert_null(tc_vocab_load(p("blank.vocab")));
    assert_err(TC_ERR_FORMAT, "blank.vocab:4:", "empty line");
    WRITE_STR(p("e.vocab"), "");
    assert_null(tc_vocab_load(p("e.vocab")));
    assert_err(TC_ERR_FORMAT, "e.vocab", "empty file");
}

static void id_files_and_padding(void **state)
{
    (void)state;
    WRITE_STR(p("ids.txt"), "1 2 3\n\n4 5 6 7 8\n9\n");
    tc_id_seqs s;
    assert_int_equal(tc_read_id_file(p("ids.txt"), 10, &s), TC_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.len[1], 0);
    assert_int_equal(s.ids[2][4], 8);
    tc_tensor *x = tc_pad_sequences(&s, 3, NULL); /* post padding, post truncation */
    tc_assert_ok(x);
    const tc_scalar post[] = {1, 2, 3, 0, 0, 0, 4, 5, 6, 9, 0, 0};
    for (int i = 0; i < 12; i++) assert_true(x->data[i] == post[i]);
    tc_tensor_free(x);
    x = tc_pad_sequences(&s, 4, &(tc_pad_opts){.pad_pre = true, .truncate_pre = true, .value = 7});
    const tc_scalar pre[] = {7, 1, 2, 3, 7, 7, 7, 7, 5, 6, 7, 8, 7, 7, 7, 9};
    for (int i = 0; i < 16; i++) assert_true(x->data[i] == pre[i]);
    tc_tensor_free(x);
    assert_null(tc_pad_sequences(&s, 0, NULL));
    tc_id_seqs_free(&s);
    assert_err(tc_read_id_file(p("ids.txt"), 9, &s), "ids.txt:4:", "outside the vocabulary");
    WRITE_STR(p("badids.txt"), "1 2\n3 x4\n");
    assert_err(tc_read_id_file(p("badids.txt"), 0, &s), "badids.txt:2:", "not a token id");
    WRITE_STR(p("negids.txt"), "-1\n");
    assert_err(tc_read_id_file(p("negids.txt"), 0, &s), "negids.txt:1:", "-1");
}

static void buckets(void **state)
{
    (void)state;
    /* tensorflow/nmt: width ceil(50 / 5) = 10, bucket max(src/10, tgt/10) capped at 5 */
    assert_int_equal(tc_length_bucket(3, 9, 5, 50), 0);
    assert_int_equal(tc_length_bucket(10, 2, 5, 50), 1);
    assert_int_equal(tc_length_bucket(12, 35, 5, 50), 3);
    assert_int_equal(tc_length_bucket(50, 50, 5, 50), 5);
    assert_int_equal(tc_length_bucket(95, 1, 5, 0), 5);   /* width 10 without a max length */
    assert_int_equal(tc_length_bucket(23, 1, 5, 0), 2);
    int b[11] = {0, 1, 0, 2, 1, 0, 0, 2, 1, 0, 0};
    int64_t *order, *starts, nb;
    tc_rng rng = tc_rng_new(3);
    assert_int_equal(tc_bucket_batches(11, b, 2, 2, true, &rng, &order, &starts, &nb), TC_OK);
    /* bucket 0 has 6 (3 batches), bucket 1 has 3 (2), bucket 2 has 2 (1) */
    assert_int_equal(nb, 6);
    assert_int_equal(starts[nb], 11);
    int seen[11] = {0};
    for (int64_t k = 0; k < nb; k++) {
        assert_true(starts[k + 1] - starts[k] >= 1 && starts[k + 1] - starts[k] <= 2);
        for (int64_t j = starts[k]; j < starts[k + 1]; j++) {
            seen[order[j]]++;
            assert_int_equal(b[order[j]], b[order[starts[k]]]);
        }
    }
    for (int i = 0; i < 11; i++) assert_int_equal(seen[i], 1);
    free(order);
    free(starts);
    assert_int_equal(tc_bucket_batches(11, b, 2, 4, false, NULL, &order, &starts, &nb), TC_OK);
    assert_int_equal(nb, 4);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[3], 6); /* bucket 0 in order: 0 2 5 6 | 9 10 */
    free(order);
    free(starts);
    b[4] = 3;
    assert_err(tc_bucket_batches(11, b, 2, 4, false, NULL, &order, &starts, &nb), "bucket 3", "example 4");
}

static void labelled_tsv(void **state)
{
    (void)state;
    WRITE_STR(p("l.tsv"), "pos\tA fine film.\nneg\tDull and slow\n\nmaybe\tHm\npos\tGreat!\n");
    tc_text_corpus c;
    assert_int_equal(tc_read_labelled_tsv(p("l.tsv"), &c), TC_OK);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.classes, 3);
    assert_string_equal(c.class_names[0], "maybe");
    assert_string_equal(c.class_names[2], "pos");
    const int want[] = {2, 1, 0, 2};
    for (int i = 0; i < 4; i++) assert_int_equal(c.label[i], want[i]);
    assert_string_equal(c.text[1], "Dull and slow");
    tc_vocab *v = tc_vocab_new(2, (const char *[]){"<pad>", "<unk>"}, 1);
    assert_int_equal(tc_vocab_count_corpus(v, &c), TC_OK);
    assert_int_equal(tc_vocab_finish(v, 0, 0), TC_OK);
    tc_dataset *d = tc_text_dataset(&c, v, 3, NULL);
    tc_assert_ok(d);
    assert_int_equal(d->x->shape[0], 4);
    assert_int_equal(d->x->shape[1], 3);
    assert_true(d->y->data[0] == 2);
    /* "a fine film ." truncated to 3 ids */
    assert_true(d->x->data[0] == (tc_scalar)tc_vocab_id(v, "a"));
    assert_true(d->x->data[2] == (tc_scalar)tc_vocab_id(v, "film"));
    /* "hm" then padding */
    assert_true(d->x->data[2 * 3] == (tc_scalar)tc_vocab_id(v, "hm"));
    assert_true(d->x->data[2 * 3 + 1] == 0);
    assert_string_equal(d->class_names[1], "neg");
    tc_dataset_free(d);
    tc_vocab_free(v);
    tc_text_corpus_free(&c);
    WRITE_STR(p("notab.tsv"), "pos\tok\nno tab here\n");
    assert_err(tc_read_labelled_tsv(p("notab.tsv"), &c), "notab.tsv:2:", "no tab");
    WRITE_STR(p("nolabel.tsv"), "\tx\n");
    assert_err(tc_read_labelled_tsv(p("nolabel.tsv"), &c), "nolabel.tsv:1:", "empty label");
}

static void aclimdb(void **state)
{
    (void)state;
    mkdir(p("imdb"), 0755);
    mkdir(p("imdb/train"), 0755);
    mkdir(p("imdb/train/pos"), 0755);
    mkdir(p("imdb/train/neg"), 0755);
    WRITE_STR(p("imdb/train/pos/1_9.txt"), "Loved it.<br /><br />Really");
    WRITE_STR(p("imdb/train/pos/0_10.txt"), "Best film");
    WRITE_STR(p("imdb/train/neg/5_2.txt"), "Awful");
    WRITE_STR(p("imdb/train/neg/notes.md"), "ignored");
    tc_text_corpus c;
    assert_int_equal(tc_read_aclimdb(p("imdb"), "train", &c), TC_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.text[0], "Awful");
    assert_int_equal(c.label[0], 0);
    assert_string_equal(c.text[1], "Best film");
    assert_int_equal(c.label[2], 1);
    assert_non_null(strstr(c.text[2], "Loved it.")); /* the <br /> are spaces */
    assert_null(strstr(c.text[2], "<br"));
    tc_text_corpus_free(&c);
    assert_err(tc_read_aclimdb(p("imdb"), "test", &c), "imdb/test/neg", "cannot open folder");
    mkdir(p("empty"), 0755);
    mkdir(p("empty/train"), 0755);
    mkdir(p("empty/train/neg"), 0755);
    mkdir(p("empty/train/pos"), 0755);
    assert_err(tc_read_aclimdb(p("empty"), "train", &c), "empty/train/neg", "no *.txt files");
    WRITE_STR(p("imdb/train/neg/6_1.txt"), "bad \xff byte");
    assert_err(tc_read_aclimdb(p("imdb"), "train", &c), "6_1.txt:1:", "invalid UTF-8");
    WRITE_STR(p("imdb/train/neg/6_1.txt"), "");
    assert_err(tc_read_aclimdb(p("imdb"), "train", &c), "6_1.txt", "empty file");
}

static void package_lists(void **state)
{
    (void)state;
    static const char list[] =
        "Package: curl\nVersion: 1\nDescription: command line tool for transferring data with URL syntax\n"
        " curl is a command line tool.\n .\n It supports many protocols.\nSection: web\n\n"
        "Package: grep\nSection: utils\nDescription: GNU grep, egrep and fgrep\n\n"
        "Package: grep-dbg\nSection: utils\nDescription: GNU grep, egrep and fgrep\n\n"
        "Package: wget\nSection: contrib/web\nDescription: retrieves files from the web\n\n"
        "Package: bash\nSection: shells\nDescription: GNU Bourne Again SHell\n";
    FILE *f = fmemopen((void *)list, sizeof list - 1, "r");
    tc_text_corpus c;
    const char *sections[] = {"utils", "web"};
    assert_int_equal(tc_read_package_descriptions(f, "list", 2, sections, &c), TC_OK);
    fclose(f);
    assert_int_equal(c.n, 3); /* the repeated description is kept once, shells skipped */
    assert_string_equal(c.text[0],
                        "command line tool for transferring data with URL syntax curl is a command line tool. It supports many protocols.");
    assert_int_equal(c.label[0], 1);
    assert_int_equal(c.label[1], 0);
    assert_string_equal(c.text[2], "retrieves files from the web");
    assert_int_equal(c.label[2], 1);
    assert_string_equal(c.class_names[1], "web");
    tc_text_corpus_free(&c);
    static const char bad[] = "Package: a\nSection: web\nDescription: x\nno colon line\n";
    f = fmemopen((void *)bad, sizeof bad - 1, "r");
    assert_err(tc_read_package_descriptions(f, "bad-list", 2, sections, &c), "bad-list:4:", "Field: value");
    fclose(f);
    static const char none[] = "Package: a\nSection: games\nDescription: x\n";
    f = fmemopen((void *)none, sizeof none - 1, "r");
    assert_err(tc_read_package_descriptions(f, "games-list", 2, sections, &c), "games-list", "no package");
    fclose(f);
}

/* BLEU of committed fixtures against NLTK's corpus_bleu (gen_text.py). */
static void bleu_against_nltk(void **state)
{
    (void)state;
    FILE *f = fopen(TC_FIXTURE_PATH("text/bleu_expected.txt"), "r");
    assert_non_null(f);
    char name[64];
    double bleu, pr[4], bp;
    long long hl, rl;
    int cases = 0;
    while (fscanf(f, "%63s %lf %lf %lf %lf %lf %lf %lld %lld", name, &bleu, &pr[0], &pr[1], &pr[2], &pr[3], &bp, &hl, &rl) == 9) {
        char ref[200], hyp[200];
        snprintf(ref, sizeof ref, "%s/text/%s.ref", TC_FIXTURES, name);
        snprintf(hyp, sizeof hyp, "%s/text/%s.hyp", TC_FIXTURES, name);
        tc_bleu_result r;
        assert_int_equal(tc_bleu_files(ref, hyp, &r), TC_OK);
        if (fabs(r.bleu - bleu) > 1e-12) fail_msg("%s: BLEU %.17g, NLTK %.17g", name, r.bleu, bleu);
        for (int k = 0; k < 4; k++)
            if (fabs(r.precisions[k] - pr[k]) > 1e-12) fail_msg("%s: p%d %.17g, NLTK %.17g", name, k + 1, r.precisions[k], pr[k]);
        assert_true(fabs(r.bp - bp) < 1e-12);
        assert_int_equal(r.hyp_len, hl);
        assert_int_equal(r.ref_len, rl);
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 4);
    /* bleu.py's counts where NLTK's differ: a hypothesis shorter than the
     * order adds no possible matches (NLTK adds 1) */
    tc_tokens refs[2], hyps[2];
    tc_split_spaces("a b c d e", &refs[0]);
    tc_split_spaces("a b c d e", &hyps[0]);
    tc_split_spaces("x y", &refs[1]);
    tc_split_spaces("x y", &hyps[1]);
    tc_bleu_result r;
    assert_int_equal(tc_corpus_bleu(2, refs, hyps, 4, &r), TC_OK);
    assert_true(r.precisions[3] == 1.0 && r.precisions[2] == 1.0); /* 2/2 4-grams, 3/3 trigrams */
    assert_true(r.bleu == 1.0);
    /* short hypotheses: brevity penalty exp(1 - 7/3) */
    tc_tokens_free(&hyps[0]);
    tc_split_spaces("a", &hyps[0]);
    assert_int_equal(tc_corpus_bleu(2, refs, hyps, 1, &r), TC_OK);
    assert_true(fabs(r.bp - exp(1.0 - 7.0 / 3.0)) < 1e-15);
    assert_true(fabs(r.bleu - r.bp) < 1e-15);
    for (int i = 0; i < 2; i++) {
        tc_tokens_free(&refs[i]);
        tc_tokens_free(&hyps[i]);
    }
    /* bad input */
    WRITE_STR(p("ref3.txt"), "a b\nc d\ne f\n");
    WRITE_STR(p("hyp2.txt"), "a b\nc d\n");
    assert_err(tc_bleu_files(p("ref3.txt"), p("hyp2.txt"), &r), "ref3.txt has 3 lines", "hyp2.txt has 2");
    WRITE_STR(p("emptyhyp.txt"), "");
    assert_err(tc_bleu_files(p("ref3.txt"), p("emptyhyp.txt"), &r), "emptyhyp.txt", "empty file");
    WRITE_STR(p("blankref.txt"), "\n\n");
    WRITE_STR(p("hyp2b.txt"), "a\nb\n");
    assert_err(tc_bleu_files(p("blankref.txt"), p("hyp2b.txt"), &r), "blankref.txt", "empty");
}

static int cmp_pair(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* .mo catalogs (both byte orders) against Python's gettext reading them. */
static void mo_against_gettext(void **state)
{
    (void)state;
    tc_parallel par = {0};
    int64_t added;
    assert_int_equal(tc_read_mo(TC_FIXTURE_PATH("text/a_le.mo"), &par, &added), TC_OK);
    assert_int_equal(added, 6);
    assert_int_equal(tc_read_mo(TC_FIXTURE_PATH("text/b_be.mo"), &par, &added), TC_OK);
    assert_int_equal(added, 1);
    tc_lines want;
    assert_int_equal(tc_read_lines(TC_FIXTURE_PATH("text/mo_expected.txt"), &want), TC_OK);
    assert_int_equal(par.n, want.n);
    char **got = malloc(sizeof(char *) * (size_t)par.n);
    for (int64_t i = 0; i < par.n; i++) {
        got[i] = malloc(strlen(par.src[i]) + strlen(par.tgt[i]) + 2);
        sprintf(got[i], "%s\t%s", par.src[i], par.tgt[i]);
    }
    qsort(got, (size_t)par.n, sizeof *got, cmp_pair);
    qsort(want.line, (size_t)want.n, sizeof *want.line, cmp_pair);
    for (int64_t i = 0; i < par.n; i++) {
        assert_string_equal(got[i], want.line[i]);
        free(got[i]);
    }
    free(got);
    tc_lines_free(&want);
    tc_parallel_free(&par);

    /* bad files: nothing is added */
    WRITE_STR(p("x.mo"), "not a catalog at all, just words");
    assert_err(tc_read_mo(p("x.mo"), &par, &added), "x.mo", "not a gettext .mo file");
    WRITE_STR(p("e.mo"), "");
    assert_err(tc_read_mo(p("e.mo"), &par, &added), "e.mo", "empty file");
    FILE *f = fopen(TC_FIXTURE_PATH("text/a_le.mo"), "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(p("cut.mo"), buf, n - 40);
    assert_err(tc_read_mo(p("cut.mo"), &par, &added), "cut.mo", "truncated");
    assert_int_equal(par.n, 0);
    write_file(p("head.mo"), buf, 20);
    assert_err(tc_read_mo(p("head.mo"), &par, &added), "head.mo", "truncated");
    /* a translation that is not UTF-8 */
    unsigned char bad[1024];
    memcpy(bad, buf, n);
    for (size_t i = 0; i + 3 < n; i++)
        if (!memcmp(bad + i, "Tho", 3)) bad[i + 1] = 0xff;
    write_file(p("latin.mo"), bad, n);
    assert_err(tc_read_mo(p("latin.mo"), &par, &added), "latin.mo", "invalid UTF-8");
}

static void mo_folder_split(void **state)
{
    (void)state;
    mkdir(p("mo"), 0755);
    /* three copies of the catalogs: the pairs repeat across files, so the
     * splits must drop them from later splits */
    const char *src[] = {"text/a_le.mo", "text/b_be.mo"};
    for (int k = 0; k < 6; k++) {
        char from[300], to[40];
        snprintf(from, sizeof from, "%s/%s", TC_FIXTURES, src[k % 2]);
        snprintf(to, sizeof to, "mo/f%d.mo", k);
        FILE *f = fopen(from, "rb");
        unsigned char buf[2048];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        write_file(p(to), buf, n);
    }
    WRITE_STR(p("mo/readme.txt"), "not a catalog");
    tc_parallel tr, dv, te;
    assert_int_equal(tc_read_mo_dir(p("mo"), 0.2, 0.2, &tr, &dv, &te), TC_OK);
    int64_t total = tr.n + dv.n + te.n;
    assert_true(total >= 1 && total <= 7); /* the same 7 pairs, never twice across splits */
    tc_parallel *all[3] = {&tr, &dv, &te};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            for (int64_t i = 0; i < all[a]->n; i++)
                for (int64_t j = 0; j < all[b]->n; j++) assert_string_not_equal(all[a]->src[i], all[b]->src[j]);
    tc_parallel_free(&tr);
    tc_parallel_free(&dv);
    tc_parallel_free(&te);
    mkdir(p("nomo"), 0755);
    assert_err(tc_read_mo_dir(p("nomo"), 0.1, 0.1, &tr, &dv, &te), "nomo", "no .mo files");
    assert_err(tc_read_mo_dir(p("nothere"), 0.1, 0.1, &tr, &dv, &te), "nothere", "cannot open");
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "text") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_validation),      cmocka_unit_test(lines_and_bad_text),
        cmocka_unit_test(tokenizer),            cmocka_unit_test(vocab_build_and_files),
        cmocka_unit_test(id_files_and_padding), cmocka_unit_test(buckets),
        cmocka_unit_test(labelled_tsv),         cmocka_unit_test(aclimdb),
        cmocka_unit_test(package_lists),        cmocka_unit_test(bleu_against_nltk),
        cmocka_unit_test(mo_against_gettext),   cmocka_unit_test(mo_folder_split),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
