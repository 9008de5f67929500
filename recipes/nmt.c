/* tensorcook nmt / attention / nmt-infer: tensorflow/nmt's tutorial.
 *   nmt        2+2 layer LSTM 128 encoder-decoder, dropout 0.2, SGD lr 1.0,
 *              global-norm clipping 5, batch 128, uniform init +-0.1,
 *              source/target length 50, 5 length buckets, 12,000 steps;
 *              dev perplexity and BLEU every --eval-every steps, the best
 *              checkpoint (by dev BLEU) kept and tested at the end.
 *   attention  the same with scaled_luong attention (the tutorial's
 *              attention configuration); --attention picks another kind.
 *   nmt-infer  translates a file with a checkpoint: greedy, --beam K or
 *              --sample T.
 * Data: tensorflow/nmt's IWSLT'15 layout (--data DIR: train.SRC/TGT,
 * tst2012.* dev, tst2013.* test, vocab.SRC/TGT) or, by default, the
 * gettext corpus of the installed catalogs (nmt-data), vi -> en. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "nmt_common.h"
#include "tensorcook/seq2seq.h"
#include "tensorcook/text.h"

/* ---- data ------------------------------------------------------------------------ */
typedef struct {
    tc_id_seqs src, tgt;
    tc_lines ref;      /* the target side as text, for BLEU */
} split_data;

static void split_free(split_data *s)
{
    tc_id_seqs_free(&s->src);
    tc_id_seqs_free(&s->tgt);
    tc_lines_free(&s->ref);
}

/* Token ids of each line of path (white-space tokens) through v. */
static bool read_ids(const char *cmd, const char *path, const tc_vocab *v, tc_id_seqs *out, tc_lines *keep)
{
    tc_lines l;
    memset(out, 0, sizeof *out);
    if (tc_read_lines(path, &l) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        return false;
    }
    out->ids = calloc((size_t)l.n, sizeof *out->ids);
    out->len = calloc((size_t)l.n, sizeof *out->len);
    bool ok = out->ids && out->len;
    for (int64_t i = 0; ok && i < l.n; i++) {
        tc_tokens t;
        ok = tc_split_spaces(l.line[i], &t) == TC_OK && tc_encode_tokens(v, &t, &out->ids[i], &out->len[i]) == TC_OK;
        out->n = i + 1;
        tc_tokens_free(&t);
    }
    if (!ok) {
        fprintf(stderr, "tensorcook %s: %s: %s\n", cmd, path, tc_last_error());
        tc_id_seqs_free(out);
        tc_lines_free(&l);
        return false;
    }
    if (keep) *keep = l;
    else tc_lines_free(&l);
    return true;
}

static bool read_split(const char *cmd, const char *dir, const char *name, const char *src, const char *tgt,
                       const tc_vocab *vs, const tc_vocab *vt, split_data *d)
{
    char ps[8400], pt[8400];
    snprintf(ps, sizeof ps, "%s/%s.%s", dir, name, src);
    snprintf(pt, sizeof pt, "%s/%s.%s", dir, name, tgt);
    memset(d, 0, sizeof *d);
    if (!read_ids(cmd, ps, vs, &d->src, NULL) || !read_ids(cmd, pt, vt, &d->tgt, &d->ref)) {
        split_free(d);
        return false;
    }
    if (d->src.n != d->tgt.n) {
        fprintf(stderr, "tensorcook %s: %s has %lld lines but %s has %lld (one sentence a line, aligned)\n", cmd, ps,
                (long long)d->src.n, pt, (long long)d->tgt.n);
        split_free(d);
        return false;
    }
    return true;
}

/* ---- checkpoints: the parameters and the configuration --------------------------- */
static bool save_model(const char *cmd, const tc_seq2seq *m, const char *path, double step, double bleu)
{
    tc_checkpoint *ck = tc_checkpoint_new();
    const tc_seq2seq_opts *o = tc_seq2seq_options(m);
    bool ok = ck != NULL;
    for (int i = 0; ok && i < tc_seq2seq_param_count(m); i++) {
        char name[160];
        snprintf(name, sizeof name, "param/%s", tc_seq2seq_param_name(m, i));
        ok = tc_checkpoint_put(ck, name, tc_seq2seq_param(m, i)) == TC_OK;
    }
    const char *keys[] = {"config/src_vocab", "config/tgt_vocab", "config/units", "config/layers", "config/bidirectional",
                          "config/attention", "step", "dev_bleu"};
    double vals[] = {(double)o->src_vocab, (double)o->tgt_vocab, o->units, o->layers, o->bidirectional, o->attention, step, bleu};
    for (int k = 0; ok && k < 8; k++) ok = tc_checkpoint_put_scalar(ck, keys[k], vals[k]) == TC_OK;
    ok = ok && tc_checkpoint_save(ck, path) == TC_OK;
    if (!ok) fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
    tc_checkpoint_free(ck);
    return ok;
}

/* A model made from a checkpoint, checked against the vocabularies. */
static tc_seq2seq *load_model(const char *cmd, const char *path, const tc_vocab *vs, const char *vs_path,
                              const tc_vocab *vt, const char *vt_path)
{
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        return NULL;
    }
    double v[6];
    const char *keys[] = {"config/src_vocab", "config/tgt_vocab", "config/units", "config/layers", "config/bidirectional",
                          "config/attention"};
    for (int k = 0; k < 6; k++)
        if (!tc_checkpoint_get_scalar(ck, keys[k], &v[k])) {
            fprintf(stderr, "tensorcook %s: %s: not an nmt checkpoint (no %s)\n", cmd, path, keys[k]);
            tc_checkpoint_free(ck);
            return NULL;
        }
    if ((int64_t)v[0] != tc_vocab_size(vs) || (int64_t)v[1] != tc_vocab_size(vt)) {
        fprintf(stderr,
                "tensorcook %s: %s was trained with vocabularies of %lld (source) and %lld (target) tokens, but %s has %lld"
                " and %s %lld: a checkpoint of another vocabulary\n",
                cmd, path, (long long)v[0], (long long)v[1], vs_path, (long long)tc_vocab_size(vs), vt_path,
                (long long)tc_vocab_size(vt));
        tc_checkpoint_free(ck);
        return NULL;
    }
    tc_seq2seq *m = tc_seq2seq_new(&(tc_seq2seq_opts){.src_vocab = (int64_t)v[0], .tgt_vocab = (int64_t)v[1], .units = (int)v[2],
                                                     .layers = (int)v[3], .bidirectional = v[4] != 0,
                                                     .attention = (tc_attention_kind)v[5]});
    for (int i = 0; m && i < tc_seq2seq_param_count(m); i++) {
        char name[160];
        snprintf(name, sizeof name, "param/%s", tc_seq2seq_param_name(m, i));
        const tc_tensor *t = tc_checkpoint_get(ck, name);
        tc_tensor *p = tc_seq2seq_param(m, i);
        if (!t || !tc_same_shape(t, p)) {
            fprintf(stderr, "tensorcook %s: %s: parameter %s is %s\n", cmd, path, name, t ? "of another shape" : "missing");
            tc_seq2seq_free(m);
            tc_checkpoint_free(ck);
            return NULL;
        }
        tc_write_values(p, t->data);
    }
    if (!m) fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
    tc_checkpoint_free(ck);
    return m;
}

/* ---- evaluation -------------------------------------------------------------------- */
/* Per-token perplexity of a split. */
static double perplexity(tc_seq2seq *m, const split_data *d, int64_t batch)
{
    double total = 0;
    int64_t tokens = 0;
    bool g = tc_set_grad_enabled(false);
    int64_t *idx = malloc(sizeof *idx * (size_t)batch);
    for (int64_t at = 0; idx && at < d->src.n; at += batch) {
        int64_t n = d->src.n - at < batch ? d->src.n - at : batch;
        for (int64_t i = 0; i < n; i++) idx[i] = at + i;
        tc_seq_batch b;
        tc_tensor *l = tc_seq_batch_make(&d->src, &d->tgt, idx, n, 0, 0, 1, 2, &b) == TC_OK ? tc_seq2seq_loss(m, &b, false) : NULL;
        if (!l) {
            total = NAN;
            break;
        }
        total += l->data[0] * (double)n; /* the loss is per sentence */
        tokens += b.tgt_tokens;
        tc_step_reset();
    }
    free(idx);
    tc_set_grad_enabled(g);
    return tokens ? exp(total / (double)tokens) : NAN;
}

/* Translations of a split's sources: token lines (caller frees). */
static tc_status translate(tc_seq2seq *m, const tc_id_seqs *src, const tc_vocab *vt, const tc_decode_opts *o, int64_t batch,
                           tc_tokens *hyps)
{
    int64_t *idx = malloc(sizeof *idx * (size_t)batch);
    tc_status st = idx ? TC_OK : tc_error(TC_ERR_MEMORY, "out of memory");
    for (int64_t at = 0; st == TC_OK && at < src->n; at += batch) {
        int64_t n = src->n - at < batch ? src->n - at : batch;
        for (int64_t i = 0; i < n; i++) idx[i] = at + i;
        tc_seq_batch b;
        tc_id_seqs out;
        if ((st = tc_seq_batch_make(src, NULL, idx, n, 0, 0, 1, 2, &b)) != TC_OK ||
            (st = tc_seq2seq_decode(m, &b, o, 1, 2, &out, NULL)) != TC_OK)
            break;
        for (int64_t i = 0; i < n; i++) {
            hyps[at + i].n = out.len[i];
            hyps[at + i].tok = malloc(sizeof(char *) * (size_t)(out.len[i] ? out.len[i] : 1));
            for (int64_t t = 0; hyps[at + i].tok && t < out.len[i]; t++) {
                const char *w = tc_vocab_token(vt, out.ids[i][t]);
                hyps[at + i].tok[t] = strdup(w ? w : TC_UNK);
            }
        }
        tc_id_seqs_free(&out);
        tc_step_reset();
    }
    free(idx);
    return st;
}

static double bleu_of(const split_data *d, tc_tokens *hyps)
{
    tc_tokens *refs = calloc((size_t)d->ref.n, sizeof *refs);
    tc_bleu_result r = {0};
    bool ok = refs != NULL;
    for (int64_t i = 0; ok && i < d->ref.n; i++) ok = tc_split_spaces(d->ref.line[i], &refs[i]) == TC_OK;
    if (ok && tc_corpus_bleu(d->ref.n, refs, hyps, 4, &r) != TC_OK) r.bleu = 0;
    for (int64_t i = 0; refs && i < d->ref.n; i++) tc_tokens_free(&refs[i]);
    free(refs);
    return 100 * r.bleu;
}

static double split_bleu(tc_seq2seq *m, const split_data *d, const tc_vocab *vt, const tc_decode_opts *o, int64_t batch,
                         const char *save_path)
{
    tc_tokens *hyps = calloc((size_t)d->src.n, sizeof *hyps);
    double bleu = NAN;
    if (hyps && translate(m, &d->src, vt, o, batch, hyps) == TC_OK) {
        bleu = bleu_of(d, hyps);
        if (save_path) { /* one translation a line */
            size_t n = 0;
            for (int64_t i = 0; i < d->src.n; i++)
                for (int64_t t = 0; t < hyps[i].n; t++) n += strlen(hyps[i].tok[t]) + 1;
            char *buf = malloc(n + (size_t)d->src.n + 1), *p = buf;
            for (int64_t i = 0; buf && i < d->src.n; i++) {
                for (int64_t t = 0; t < hyps[i].n; t++) p += sprintf(p, t ? " %s" : "%s", hyps[i].tok[t]);
                *p++ = '\n';
            }
            if (buf && tc_write_file_atomic(save_path, buf, (size_t)(p - buf)) != TC_OK) bleu = NAN;
            free(buf);
        }
    }
    for (int64_t i = 0; hyps && i < d->src.n; i++) tc_tokens_free(&hyps[i]);
    free(hyps);
    return bleu;
}

/* ---- training ------------------------------------------------------------------------ */
typedef struct {
    long long steps, batch, units, layers, threads, seed, max_len, buckets, eval_every, eval_max, beam, test_max;
    double lr, dropout, init, length_penalty;
    bool bidirectional;
    const char *data, *src, *tgt, *lang, *out, *summary, *attention;
} nmt_opts;

static int usage(FILE *f, const char *cmd, const nmt_opts *d, int rc)
{
    fprintf(f,
            "usage: tensorcook %s [options]\n"
            "  --data DIR           tensorflow/nmt layout: train.SRC/TGT, tst2012.* (dev), tst2013.* (test), vocab.SRC/TGT\n"
            "                       [default: the gettext corpus of --lang, built into OUT/data]\n"
            "  --src S, --tgt T     language suffixes [vi, en]\n"
            "  --lang CODE          the gettext corpus' locale (without --data) [vi]\n"
            "  --attention KIND     none, luong, scaled_luong, bahdanau, normed_bahdanau [%s]\n"
            "  --bidirectional      bidirectional first encoder layer\n"
            "  --steps N            training steps [%lld]\n"
            "  --batch N            batch size [%lld]\n"
            "  --units N, --layers N  [%lld, %lld]\n"
            "  --dropout X, --lr X, --init X  [%g, %g (SGD), %g]\n"
            "  --max-len N          source and target length in training [%lld]\n"
            "  --buckets N          length buckets [%lld]\n"
            "  --eval-every N       dev perplexity and BLEU every N steps [%lld]\n"
            "  --eval-max N         dev sentences per periodic evaluation (0: all) [%lld]\n"
            "  --test-max N         test sentences (0: all; a prefix otherwise) [0]\n"
            "  --beam K             also test with beam search of width K (GNMT length penalty --length-penalty) [%lld]\n"
            "  --length-penalty A   [%g]\n"
            "  --threads N, --seed N\n"
            "  --out DIR            best.tcck, vocab.src/.tgt, metrics.csv, curves, test translations [out/%s]\n"
            "  --summary-json FILE  dev_bleu, test_bleu, test_bleu_beam, test_perplexity, train_seconds, cpu_seconds,\n"
            "                       target_tokens_per_second, target_tokens, beam_seconds, beam_cpu_seconds, beam_sentences\n",
            cmd, d->attention, d->steps, d->batch, d->units, d->layers, d->dropout, d->lr, d->init, d->max_len, d->buckets,
            d->eval_every, d->eval_max, d->beam, d->length_penalty, cmd);
    return rc;
}

static bool parse(int argc, char **argv, const char *cmd, nmt_opts *o, int *rc)
{
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *rc = usage(stdout, cmd, o, 0);
            return false;
        }
        if (!strcmp(argv[i], "--bidirectional")) {
            o->bidirectional = true;
            continue;
        }
        const char **strs[] = {&o->data, &o->src, &o->tgt, &o->lang, &o->out, &o->summary, &o->attention};
        const char *names[] = {"--data", "--src", "--tgt", "--lang", "--out", "--summary-json", "--attention"};
        if (opt_str_any(argc, argv, &i, 7, names, strs, &bad)) continue;
        bool matched = false;
        long long *ints[] = {&o->steps, &o->batch, &o->units, &o->layers, &o->threads, &o->seed, &o->max_len, &o->buckets,
                             &o->eval_every, &o->eval_max, &o->beam, &o->test_max};
        const char *inames[] = {"--steps", "--batch", "--units", "--layers", "--threads", "--seed", "--max-len", "--buckets",
                                "--eval-every", "--eval-max", "--beam", "--test-max"};
        for (int k = 0; k < 12 && !matched; k++) matched = opt_int(argc, argv, &i, inames[k], ints[k], &bad);
        if (matched) continue;
        double *dbl[] = {&o->lr, &o->dropout, &o->init, &o->length_penalty};
        const char *dnames[] = {"--lr", "--dropout", "--init", "--length-penalty"};
        for (int k = 0; k < 4 && !matched; k++) matched = opt_double(argc, argv, &i, dnames[k], dbl[k], &bad);
        if (matched) continue;
        fprintf(stderr, "tensorcook %s: unknown option '%s'\n", cmd, argv[i]);
        *rc = usage(stderr, cmd, o, 2);
        return false;
    }
    tc_attention_kind kind;
    if (bad || o->steps < 1 || o->batch < 1 || o->units < 1 || o->layers < 1 || o->layers > 8 || o->lr <= 0 ||
        o->dropout < 0 || o->dropout >= 1 || o->init <= 0 || o->max_len < 1 || o->buckets < 1 || o->eval_every < 1 ||
        o->eval_max < 0 || o->beam < 0 || o->test_max < 0 || tc_attention_kind_parse(o->attention, &kind) != TC_OK) {
        fprintf(stderr, "tensorcook %s: invalid option values (see --help)%s%s\n", cmd,
                tc_attention_kind_parse(o->attention, &kind) != TC_OK ? ": " : "",
                tc_attention_kind_parse(o->attention, &kind) != TC_OK ? tc_last_error() : "");
        *rc = 2;
        return false;
    }
    return true;
}

/* One training batch's loss, for tc_train_step */
typedef struct {
    tc_seq2seq *m;
    const tc_seq_batch *b;
} nmt_step_ctx;

static tc_tensor *nmt_batch_loss(void *ctx)
{
    nmt_step_ctx *c = ctx;
    return tc_seq2seq_loss(c->m, c->b, true);
}

static int train(int argc, char **argv, const char *cmd, const char *default_attention)
{
    nmt_opts o = {.steps = 12000, .batch = 128, .units = 128, .layers = 2, .seed = 42, .max_len = 50, .buckets = 5,
                  .eval_every = 1000, .eval_max = 0, .beam = 10, .lr = 1.0, .dropout = 0.2, .init = 0.1,
                  .length_penalty = 0.0, .src = "vi", .tgt = "en", .lang = "vi", .attention = default_attention};
    char default_out[64];
    snprintf(default_out, sizeof default_out, "out/%s", cmd);
    o.out = default_out;
    int rc = 1;
    if (!parse(argc, argv, cmd, &o, &rc)) return rc;
    set_threads(cmd, o.threads);
    char dir[4200], path[4400], vs_path[4400], vt_path[4400];
    if (!o.data) { /* the gettext corpus: English msgids and their LANG translations, LANG -> en */
        snprintf(dir, sizeof dir, "%s/data", o.out);
        int64_t counts[4], vocab[2];
        if (nmt_data_build(cmd, "/usr/share/locale", o.lang, 0.05, 0.05, 2, dir, counts, vocab) != 0) return 1;
        if (strcmp(o.src, "en") && strcmp(o.tgt, "en")) o.src = o.lang, o.tgt = "en";
        if (!strcmp(o.src, "vi") && strcmp(o.lang, "vi")) o.src = o.lang;
    } else {
        snprintf(dir, sizeof dir, "%s", o.data);
    }
    snprintf(vs_path, sizeof vs_path, "%s/vocab.%s", dir, o.src);
    snprintf(vt_path, sizeof vt_path, "%s/vocab.%s", dir, o.tgt);
    tc_vocab *vs = tc_vocab_load(vs_path), *vt = vs ? tc_vocab_load(vt_path) : NULL;
    split_data sp[3] = {{{0}}};
    tc_seq2seq *m = NULL;
    tc_optimizer *opt = NULL;
    int64_t *order = NULL, *starts = NULL, n_batches = 0;
    int *kb = NULL;
    int64_t *keep = NULL, nk = 0;
    tc_atomic_file *csv_file = NULL; /* metrics.csv appears whole, at the end */
    FILE *csv = NULL;
    double *curve[3] = {NULL};
    if (!vs || !vt) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        goto done;
    }
    const char *names[3] = {"train", "tst2012", "tst2013"};
    for (int s = 0; s < 3; s++)
        if (!read_split(cmd, dir, names[s], o.src, o.tgt, vs, vt, &sp[s])) goto done;
    if (sp[0].src.n == 0 || sp[1].src.n == 0 || sp[2].src.n == 0) {
        fprintf(stderr, "tensorcook %s: %s: a split has no sentences\n", cmd, dir);
        goto done;
    }
    if (!prepare_out_dir(cmd, o.out)) goto done;
    tc_attention_kind kind;
    tc_attention_kind_parse(o.attention, &kind);
    m = tc_seq2seq_new(&(tc_seq2seq_opts){.src_vocab = tc_vocab_size(vs), .tgt_vocab = tc_vocab_size(vt), .units = (int)o.units,
                                         .layers = (int)o.layers, .bidirectional = o.bidirectional, .attention = kind,
                                         .dropout = o.dropout, .init_scale = o.init, .seed = (uint64_t)o.seed});
    opt = tc_optimizer_new(TC_OPT_SGD, &(tc_optim_opts){.lr = o.lr, .clip_norm = 5.0});
    if (!m || !opt) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        goto done;
    }
    /* the vocabularies travel with the checkpoint (nmt-infer reads them there) */
    snprintf(path, sizeof path, "%s/vocab.src", o.out);
    if (tc_vocab_save(vs, path) != TC_OK) goto io_error;
    snprintf(path, sizeof path, "%s/vocab.tgt", o.out);
    if (tc_vocab_save(vt, path) != TC_OK) goto io_error;
    /* training pairs: both sides non-empty (nmt drops the others), cut at max_len */
    tc_id_seqs *ts = &sp[0].src, *tt = &sp[0].tgt;
    keep = malloc(sizeof *keep * (size_t)ts->n);
    if (!keep) goto io_error;
    for (int64_t i = 0; i < ts->n; i++)
        if (ts->len[i] > 0 && tt->len[i] > 0) keep[nk++] = i;
    kb = malloc(sizeof *kb * (size_t)(nk ? nk : 1));
    if (!kb) goto io_error;
    for (int64_t i = 0; kb && i < nk; i++) {
        int64_t ls = ts->len[keep[i]] < o.max_len ? ts->len[keep[i]] : o.max_len;
        int64_t lt = tt->len[keep[i]] < o.max_len ? tt->len[keep[i]] : o.max_len;
        kb[i] = tc_length_bucket(ls, lt, (int)o.buckets, o.max_len);
    }
    printf("%s: %s -> %s, %lld training pairs (%lld kept), dev %lld, test %lld; vocabularies %lld / %lld; "
           "%lld layers of %lld units, attention %s%s; %d threads\n",
           dir, o.src, o.tgt, (long long)ts->n, (long long)nk, (long long)sp[1].src.n, (long long)sp[2].src.n,
           (long long)tc_vocab_size(vs), (long long)tc_vocab_size(vt), o.layers, o.units, tc_attention_kind_name(kind),
           o.bidirectional ? ", bidirectional first layer" : "", tc_num_threads());
    tc_rng rng = tc_rng_new((uint64_t)o.seed);
    snprintf(path, sizeof path, "%s/metrics.csv", o.out);
    if (!(csv_file = tc_atomic_begin(path))) goto io_error;
    csv = tc_atomic_stream(csv_file);
    fprintf(csv, "step,train_loss,train_ppl,dev_ppl,dev_bleu,seconds\n");
    int64_t n_eval = o.steps / o.eval_every + 2, n_rows = 0;
    for (int k = 0; k < 3; k++) curve[k] = calloc((size_t)n_eval, sizeof(double));
    double best_bleu = -1, train_time = 0, train_cpu = 0, t0 = wall_seconds(), loss_sum = 0, dev_bleu = NAN;
    int64_t tokens = 0, window_tokens = 0, bpos = 0, step = 0;
    char best_path[4400];
    snprintf(best_path, sizeof best_path, "%s/best.tcck", o.out);
    split_data dev_eval = sp[1];
    if (o.eval_max > 0 && dev_eval.src.n > o.eval_max) { /* a prefix of dev for the periodic evaluations */
        dev_eval.src.n = dev_eval.tgt.n = dev_eval.ref.n = o.eval_max;
    }
    tc_tensor *const *params = tc_seq2seq_params(m);
    int np = tc_seq2seq_param_count(m);
    while (step < o.steps) {
        if (bpos >= n_batches) { /* a new epoch of bucketed batches */
            free(order);
            free(starts);
            if (tc_bucket_batches(nk, kb, (int)o.buckets, o.batch, true, &rng, &order, &starts, &n_batches) != TC_OK) goto lib_error;
            for (int64_t i = 0; i < starts[n_batches]; i++) order[i] = keep[order[i]];
            bpos = 0;
        }
        double ts0 = wall_seconds(), tc0 = process_cpu_seconds();
        tc_seq_batch b;
        int64_t n = starts[bpos + 1] - starts[bpos];
        if (tc_seq_batch_make(ts, tt, order + starts[bpos], n, o.max_len, o.max_len, 1, 2, &b) != TC_OK) goto lib_error;
        bpos++;
        nmt_step_ctx sc = {m, &b};
        double l;
        tc_status st = tc_train_step(opt, np, params, nmt_batch_loss, &sc, &l);
        tc_step_reset(); /* the batch itself */
        if (st != TC_OK) goto lib_error;
        if (!isfinite(l)) {
            fprintf(stderr, "tensorcook %s: the loss became %g at step %lld\n", cmd, l, (long long)step);
            goto done;
        }
        train_time += wall_seconds() - ts0;
        train_cpu += process_cpu_seconds() - tc0;
        step++;
        loss_sum += l * (double)n;
        tokens += b.tgt_tokens;
        window_tokens += b.tgt_tokens;
        if (step % 10 == 0 || step == o.steps)
            fprintf(stderr, "\r  step %lld/%lld  loss %.3f  %.0f target tokens/s   ", (long long)step, (long long)o.steps, l,
                    (double)tokens / train_time);
        if (step % o.eval_every == 0 || step == o.steps) {
            double train_ppl = exp(loss_sum / (double)window_tokens), dppl = perplexity(m, &dev_eval, o.batch);
            dev_bleu = split_bleu(m, &dev_eval, vt, NULL, o.batch, NULL);
            fprintf(stderr, "\n");
            printf("  step %lld: train ppl %.2f, dev ppl %.2f, dev bleu %.2f (%.0f target tokens/s, %.0f s)\n", (long long)step,
                   train_ppl, dppl, dev_bleu, (double)tokens / train_time, wall_seconds() - t0);
            fflush(stdout);
            fprintf(csv, "%lld,%.6f,%.4f,%.4f,%.4f,%.2f\n", (long long)step, loss_sum / (double)window_tokens, train_ppl, dppl,
                    dev_bleu, wall_seconds() - t0);
            if (n_rows < n_eval) curve[0][n_rows] = (double)step, curve[1][n_rows] = dppl, curve[2][n_rows++] = dev_bleu;
            loss_sum = 0, window_tokens = 0;
            if (dev_bleu > best_bleu) {
                best_bleu = dev_bleu;
                if (!save_model(cmd, m, best_path, (double)step, dev_bleu)) goto done;
            }
        }
    }
    csv = NULL;
    tc_status csv_status = tc_atomic_commit(csv_file);
    csv_file = NULL;
    if (csv_status != TC_OK) goto io_error;
    snprintf(path, sizeof path, "%s/%s_dev.png", o.out, cmd);
    tc_plot_line lines[2] = {{"dev perplexity", (int)n_rows, curve[0], curve[1], 0.8, 0.2, 0.2, false},
                             {"dev BLEU", (int)n_rows, curve[0], curve[2], 0.2, 0.3, 0.8, false}};
    if (tc_plot_lines(path, cmd, "step", "dev perplexity / BLEU", 2, lines) != TC_OK) goto lib_error;
    /* the test with the best checkpoint */
    tc_seq2seq *best = load_model(cmd, best_path, vs, vs_path, vt, vt_path);
    if (!best) goto done;
    tc_seq2seq_free(m);
    m = best;
    if (o.test_max > 0 && sp[2].src.n > o.test_max) { /* a prefix of test (the rest is freed with the split) */
        int64_t n = sp[2].src.n;
        for (int64_t i = o.test_max; i < n; i++) {
            free(sp[2].src.ids[i]), free(sp[2].tgt.ids[i]), free(sp[2].ref.line[i]);
        }
        sp[2].src.n = sp[2].tgt.n = sp[2].ref.n = o.test_max;
    }
    double test_ppl = perplexity(m, &sp[2], o.batch);
    snprintf(path, sizeof path, "%s/test.greedy.%s", o.out, o.tgt);
    double test_bleu = split_bleu(m, &sp[2], vt, NULL, o.batch, path), beam_bleu = NAN, beam_time = 0, beam_cpu = 0;
    if (o.beam > 1) {
        double tb = wall_seconds(), tcb = process_cpu_seconds();
        snprintf(path, sizeof path, "%s/test.beam%lld.%s", o.out, o.beam, o.tgt);
        beam_bleu = split_bleu(m, &sp[2], vt, &(tc_decode_opts){.beam_width = (int)o.beam, .length_penalty = o.length_penalty},
                               o.batch, path);
        beam_time = wall_seconds() - tb;
        beam_cpu = process_cpu_seconds() - tcb;
    }
    if (kind != TC_ATTN_NONE) { /* the attention weights of the first test sentence */
        int64_t idx0 = 0;
        tc_seq_batch b;
        tc_id_seqs outp;
        float **att = NULL;
        if (tc_seq_batch_make(&sp[2].src, NULL, &idx0, 1, 0, 0, 1, 2, &b) == TC_OK &&
            tc_seq2seq_decode(m, &b, NULL, 1, 2, &outp, &att) == TC_OK) {
            int rows = (int)outp.len[0] + (outp.len[0] < 2 * b.Ts ? 1 : 0);
            const char **rl = calloc((size_t)rows + 1, sizeof *rl), **cl = calloc((size_t)b.Ts + 1, sizeof *cl);
            for (int r = 0; rl && r < rows; r++) rl[r] = r < outp.len[0] ? tc_vocab_token(vt, outp.ids[0][r]) : TC_EOS;
            for (int64_t t = 0; cl && t < b.Ts; t++) cl[t] = tc_vocab_token(vs, (int64_t)b.src->data[t]);
            snprintf(path, sizeof path, "%s/attention.png", o.out);
            if (rows > 0 && tc_plot_heatmap(path, "attention of the first test sentence", rows, (int)b.Ts, att[0], rl, cl) != TC_OK)
                fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
            free(rl);
            free(cl);
            free(att[0]);
            free(att);
            tc_id_seqs_free(&outp);
        }
        tc_step_reset();
    }
    double tps = (double)tokens / (train_time > 0 ? train_time : 1e-9);
    printf("test: perplexity %.2f, BLEU %.2f (greedy)", test_ppl, test_bleu);
    if (o.beam > 1) printf(", %.2f (beam %lld, %.1f s)", beam_bleu, o.beam, beam_time);
    printf("; best dev BLEU %.2f; %lld steps in %.1f s of training, %.1f s CPU (%.0f target tokens/s)\n", best_bleu,
           (long long)step, train_time, train_cpu, tps);
    if (o.summary) {
        const char *keys[] = {"dev_bleu", "test_bleu", "test_bleu_beam", "test_perplexity", "train_seconds",
                              "target_tokens_per_second", "steps", "cpu_seconds", "target_tokens", "beam_seconds",
                              "beam_cpu_seconds", "beam_sentences"};
        double vals[] = {best_bleu, test_bleu, beam_bleu, test_ppl, train_time, tps, (double)step, train_cpu, (double)tokens,
                         beam_time, beam_cpu, o.beam > 1 ? (double)sp[2].src.n : 0};
        if (!write_summary_json(cmd, o.summary, 12, keys, vals)) goto done;
    }
    rc = 0;
    goto done;
io_error:
lib_error:
    fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
done:
    if (csv_file) tc_atomic_abort(csv_file);
    for (int k = 0; k < 3; k++) free(curve[k]);
    free(order);
    free(starts);
    free(kb);
    free(keep);
    for (int s = 0; s < 3; s++) split_free(&sp[s]);
    tc_seq2seq_free(m);
    tc_optimizer_free(opt);
    tc_vocab_free(vs);
    tc_vocab_free(vt);
    return rc;
}

int tc_cmd_nmt(int argc, char **argv) { return train(argc, argv, "nmt", "none"); }
int tc_cmd_attention(int argc, char **argv) { return train(argc, argv, "attention", "scaled_luong"); }

/* ---- nmt-infer ------------------------------------------------------------------------ */
static int infer_usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook nmt-infer --checkpoint FILE --input FILE [options]\n"
               "  translates FILE (one white-space tokenised sentence a line) with a checkpoint of nmt/attention\n"
               "  --vocab-src F, --vocab-tgt F  vocabularies [vocab.src, vocab.tgt next to the checkpoint]\n"
               "  --beam K             beam search of width K [greedy]\n"
               "  --length-penalty A   GNMT length penalty of the beam search [0]\n"
               "  --sample T           sample with temperature T instead\n"
               "  --max-len N          tokens per sentence [twice the source length]\n"
               "  --batch N            sentences decoded together [64]\n"
               "  --output FILE        the translations [standard output]\n"
               "  --attention-png F    heatmap of the first sentence's attention (greedy, attention models)\n"
               "  --threads N, --seed N (sampling)\n"
               "  --summary-json FILE  sentences, seconds, cpu_seconds, sentences_per_second\n");
    return rc;
}

int tc_cmd_nmt_infer(int argc, char **argv)
{
    const char *ckpt = NULL, *input = NULL, *vsp = NULL, *vtp = NULL, *output = NULL, *png = NULL, *summary = NULL;
    long long beam = 0, max_len = 0, batch = 64, threads = 0, seed = 42;
    double temperature = 0, lp = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return infer_usage(stdout, 0);
        const char **strs[] = {&ckpt, &input, &vsp, &vtp, &output, &png, &summary};
        const char *names[] = {"--checkpoint", "--input", "--vocab-src", "--vocab-tgt", "--output", "--attention-png", "--summary-json"};
        if (opt_str_any(argc, argv, &i, 7, names, strs, &bad)) continue;
        if (opt_int(argc, argv, &i, "--beam", &beam, &bad) || opt_int(argc, argv, &i, "--max-len", &max_len, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_double(argc, argv, &i, "--sample", &temperature, &bad) ||
            opt_double(argc, argv, &i, "--length-penalty", &lp, &bad))
            continue;
        fprintf(stderr, "tensorcook nmt-infer: unknown option '%s'\n", argv[i]);
        return infer_usage(stderr, 2);
    }
    if (bad || !ckpt || !input || beam < 0 || max_len < 0 || batch < 1 || temperature < 0 || (beam > 1 && temperature > 0)) {
        fprintf(stderr, "tensorcook nmt-infer: --checkpoint and --input are required; --beam and --sample exclude each other (see --help)\n");
        return 2;
    }
    set_threads("nmt-infer", threads);
    char dvs[4200], dvt[4200], dir[4096];
    snprintf(dir, sizeof dir, "%s", ckpt);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    snprintf(dvs, sizeof dvs, "%s/vocab.src", dir);
    snprintf(dvt, sizeof dvt, "%s/vocab.tgt", dir);
    if (!vsp) vsp = dvs;
    if (!vtp) vtp = dvt;
    int rc = 1;
    tc_vocab *vs = tc_vocab_load(vsp), *vt = vs ? tc_vocab_load(vtp) : NULL;
    tc_seq2seq *m = NULL;
    tc_id_seqs src = {0};
    tc_tokens *hyps = NULL;
    if (!vs || !vt) {
        fprintf(stderr, "tensorcook nmt-infer: %s\n", tc_last_error());
        goto done;
    }
    if (!(m = load_model("nmt-infer", ckpt, vs, vsp, vt, vtp))) goto done;
    if (!read_ids("nmt-infer", input, vs, &src, NULL)) goto done;
    hyps = calloc((size_t)src.n, sizeof *hyps);
    double t0 = wall_seconds(), c0 = process_cpu_seconds();
    tc_decode_opts o = {.beam_width = (int)beam, .length_penalty = lp, .temperature = temperature, .max_len = max_len,
                        .seed = (uint64_t)seed};
    if (!hyps || translate(m, &src, vt, &o, batch, hyps) != TC_OK) {
        fprintf(stderr, "tensorcook nmt-infer: %s\n", tc_last_error());
        goto done;
    }
    double secs = wall_seconds() - t0, cpu = process_cpu_seconds() - c0;
    size_t n = 0;
    for (int64_t i = 0; i < src.n; i++)
        for (int64_t t = 0; t < hyps[i].n; t++) n += strlen(hyps[i].tok[t]) + 1;
    char *buf = malloc(n + (size_t)src.n + 1), *p = buf;
    for (int64_t i = 0; buf && i < src.n; i++) {
        for (int64_t t = 0; t < hyps[i].n; t++) p += sprintf(p, t ? " %s" : "%s", hyps[i].tok[t]);
        *p++ = '\n';
    }
    if (!buf) goto done;
    if (output ? tc_write_file_atomic(output, buf, (size_t)(p - buf)) != TC_OK : fwrite(buf, 1, (size_t)(p - buf), stdout) != (size_t)(p - buf)) {
        fprintf(stderr, "tensorcook nmt-infer: %s\n", output ? tc_last_error() : "cannot write the translations");
        free(buf);
        goto done;
    }
    free(buf);
    if (png) {
        int64_t idx0 = 0;
        tc_seq_batch b;
        tc_id_seqs outp;
        float **att = NULL;
        if (tc_seq_batch_make(&src, NULL, &idx0, 1, 0, 0, 1, 2, &b) != TC_OK ||
            tc_seq2seq_decode(m, &b, &(tc_decode_opts){.max_len = max_len}, 1, 2, &outp, &att) != TC_OK) {
            fprintf(stderr, "tensorcook nmt-infer: %s\n", tc_last_error());
            goto done;
        }
        int64_t limit = max_len > 0 ? max_len : 2 * b.Ts;
        int rows = (int)outp.len[0] + (outp.len[0] < limit ? 1 : 0);
        const char **rl = calloc((size_t)rows + 1, sizeof *rl), **cl = calloc((size_t)b.Ts + 1, sizeof *cl);
        for (int r = 0; rl && r < rows; r++) rl[r] = r < outp.len[0] ? tc_vocab_token(vt, outp.ids[0][r]) : TC_EOS;
        for (int64_t t = 0; cl && t < b.Ts; t++) cl[t] = tc_vocab_token(vs, (int64_t)b.src->data[t]);
        tc_status st = rows > 0 ? tc_plot_heatmap(png, "attention", rows, (int)b.Ts, att[0], rl, cl) : TC_OK;
        free(rl);
        free(cl);
        free(att[0]);
        free(att);
        tc_id_seqs_free(&outp);
        if (st != TC_OK) {
            fprintf(stderr, "tensorcook nmt-infer: %s\n", tc_last_error());
            goto done;
        }
    }
    fprintf(stderr, "tensorcook nmt-infer: %lld sentences in %.2f s (%s)\n", (long long)src.n, secs,
            beam > 1 ? "beam search" : temperature > 0 ? "sampling" : "greedy");
    if (summary) {
        const char *keys[] = {"sentences", "seconds", "sentences_per_second", "cpu_seconds"};
        double vals[] = {(double)src.n, secs, (double)src.n / (secs > 0 ? secs : 1e-9), cpu};
        if (!write_summary_json("nmt-infer", summary, 4, keys, vals)) goto done;
    }
    rc = 0;
done:
    for (int64_t i = 0; hyps && i < src.n; i++) tc_tokens_free(&hyps[i]);
    free(hyps);
    tc_id_seqs_free(&src);
    tc_seq2seq_free(m);
    tc_vocab_free(vs);
    tc_vocab_free(vt);
    return rc;
}
