/* tensorcook nmt-data: the offline English-X parallel corpus built from the
 * gettext catalogs that Debian packages install
 * (/usr/share/locale/LANG/LC_MESSAGES/ *.mo), split by file into train, dev
 * and test, tokenised (white space and punctuation), written in
 * tensorflow/nmt's IWSLT'15 layout: train.{en,LANG}, tst2012.* (dev),
 * tst2013.* (test), vocab.{en,LANG} (<unk>, <s>, </s> first). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "nmt_common.h"
#include "tensorcook/text.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook nmt-data [options]\n"
            "  --lang CODE         the translations' locale [vi]\n"
            "  --locale-dir DIR    where the catalogs are [/usr/share/locale]\n"
            "  --dev X, --test X   fractions of the pairs for dev and test (whole files) [0.05, 0.05]\n"
            "  --min-count N       vocabulary: tokens seen at least N times in train [2]\n"
            "  --out DIR           the corpus in tensorflow/nmt's layout [out/nmt-data]\n"
            "  --summary-json FILE pairs, train_pairs, dev_pairs, test_pairs, vocab_src, vocab_tgt\n");
    return rc;
}

/* Tokenised lines of one side, "\n"-joined, into buf; counts into v (may be NULL). */
static char *tokenised(const tc_parallel *p, bool tgt, tc_vocab *v, size_t *size)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (int64_t i = 0; buf && i < p->n; i++) {
        tc_tokens t;
        if (tc_tokenize(tgt ? p->tgt[i] : p->src[i], false, &t) != TC_OK) {
            free(buf);
            return NULL;
        }
        for (int64_t k = 0; k < t.n; k++) {
            size_t len = strlen(t.tok[k]);
            if (n + len + 2 > cap) {
                char *nb = realloc(buf, cap = (n + len + 2) * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
            }
            if (k) buf[n++] = ' ';
            memcpy(buf + n, t.tok[k], len);
            n += len;
            if (v) tc_vocab_count(v, t.tok[k]);
        }
        if (buf) {
            if (n + 1 > cap) {
                char *nb = realloc(buf, cap = n + 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                }
                else buf = nb;
            }
            if (buf) buf[n++] = '\n';
        }
        tc_tokens_free(&t);
    }
    if (!buf) tc_error(TC_ERR_MEMORY, "nmt-data: out of memory");
    *size = n;
    return buf;
}

int nmt_data_build(const char *cmd, const char *root, const char *lang, double dev, double test, long long min_count,
                   const char *out, int64_t counts[4], int64_t vocab[2])
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s/LC_MESSAGES", root, lang);
    tc_parallel sp[3];
    if (tc_read_mo_dir(dir, dev, test, &sp[0], &sp[1], &sp[2]) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        return 1;
    }
    int rc = 1;
    static const char *const specials[] = {TC_UNK, TC_SOS, TC_EOS};
    tc_vocab *vs = tc_vocab_new(3, specials, 0), *vt = tc_vocab_new(3, specials, 0);
    const char *split_names[] = {"train", "tst2012", "tst2013"};
    char *texts[3][2] = {{NULL}};
    size_t sizes[3][2];
    for (int s = 0; s < 3; s++)
        for (int side = 0; side < 2; side++)
            if (!(texts[s][side] = tokenised(&sp[s], side == 1, s == 0 ? (side ? vt : vs) : NULL, &sizes[s][side]))) {
                fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
                goto done;
            }
    if (!vs || !vt || tc_vocab_finish(vs, 0, min_count) != TC_OK || tc_vocab_finish(vt, 0, min_count) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        goto done;
    }
    if (!prepare_out_dir(cmd, out)) goto done;
    char path[4400];
    for (int s = 0; s < 3; s++)
        for (int side = 0; side < 2; side++) {
            snprintf(path, sizeof path, "%s/%s.%s", out, split_names[s], side ? lang : "en");
            if (tc_write_file_atomic(path, texts[s][side], sizes[s][side]) != TC_OK) {
                fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
                goto done;
            }
        }
    snprintf(path, sizeof path, "%s/vocab.en", out);
    tc_status st = tc_vocab_save(vs, path);
    snprintf(path, sizeof path, "%s/vocab.%s", out, lang);
    if (st != TC_OK || tc_vocab_save(vt, path) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        goto done;
    }
    counts[0] = sp[0].n + sp[1].n + sp[2].n;
    counts[1] = sp[0].n, counts[2] = sp[1].n, counts[3] = sp[2].n;
    vocab[0] = tc_vocab_size(vs), vocab[1] = tc_vocab_size(vt);
    printf("%s: %lld English-%s pairs: train %lld, dev (tst2012) %lld, test (tst2013) %lld; vocabularies %lld (en), %lld (%s)"
           " with min count %lld; written to %s\n",
           dir, (long long)counts[0], lang, (long long)sp[0].n, (long long)sp[1].n, (long long)sp[2].n,
           (long long)vocab[0], (long long)vocab[1], lang, min_count, out);
    rc = 0;
done:
    for (int s = 0; s < 3; s++) {
        free(texts[s][0]);
        free(texts[s][1]);
        tc_parallel_free(&sp[s]);
    }
    tc_vocab_free(vs);
    tc_vocab_free(vt);
    return rc;
}

int tc_cmd_nmt_data(int argc, char **argv)
{
    const char *lang = "vi", *root = "/usr/share/locale", *out = "out/nmt-data", *summary = NULL;
    double dev = 0.05, test = 0.05;
    long long min_count = 2;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        const char **strs[] = {&lang, &root, &out, &summary};
        const char *names[] = {"--lang", "--locale-dir", "--out", "--summary-json"};
        if (opt_str_any(argc, argv, &i, 4, names, strs, &bad)) continue;
        if (opt_double(argc, argv, &i, "--dev", &dev, &bad) || opt_double(argc, argv, &i, "--test", &test, &bad) ||
            opt_int(argc, argv, &i, "--min-count", &min_count, &bad))
            continue;
        fprintf(stderr, "tensorcook nmt-data: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || dev <= 0 || test <= 0 || dev + test >= 0.5 || min_count < 1 || !*lang || strchr(lang, '/')) {
        fprintf(stderr, "tensorcook nmt-data: invalid option values (see --help)\n");
        return 2;
    }
    int64_t counts[4], vocab[2];
    if (nmt_data_build("nmt-data", root, lang, dev, test, min_count, out, counts, vocab) != 0) return 1;
    if (summary) {
        const char *keys[] = {"pairs", "train_pairs", "dev_pairs", "test_pairs", "vocab_src", "vocab_tgt"};
        double vals[] = {(double)counts[0], (double)counts[1], (double)counts[2], (double)counts[3], (double)vocab[0],
                         (double)vocab[1]};
        if (!write_summary_json("nmt-data", summary, 6, keys, vals)) return 1;
    }
    return 0;
}
