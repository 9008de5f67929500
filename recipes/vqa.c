/* tensorcook vqa: the cookbook's visual question answering (chapter 5).
 * Image: VGG16's fc2 features (4096); question: word vectors (300-d, a
 * GloVe or word2vec text file, or random vectors offline) padded to 30;
 * three LSTM 512 (the last returns a vector); concatenation 4096 + 512;
 * three times Dense 1024 tanh + Dropout 0.5; Dense softmax over the
 * answers (tc_vqa_model: the seed's 13,707,240 parameters with 1000
 * answers). The seed only loads pretrained weights; here the model trains
 * end to end (Adam; see docs/recipes/vqa.md for RMSprop) on a folder of images with
 * questions (qa.h), by default a generated set of coloured shapes, and
 * answers a question about an image with the top 5 answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vqa.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook vqa [options]                       train (default: generated shapes)\n"
            "       tensorcook vqa --image IMG --question \"...\" --checkpoint CK --answers FILE   top-5 answers\n"
            "  --data DIR          DIR/answers.txt, DIR/questions.tsv (IMAGE<TAB>QUESTION<TAB>ANSWER), DIR/images/\n"
            "                      [generated coloured shapes in OUT/data]\n"
            "  --images N          generated images [400], 3 questions each\n"
            "  --vectors FILE      word vectors, GloVe or word2vec text format [random 300-d vectors]\n"
            "  --max-vectors N     read only the first N words of --vectors [all]\n"
            "  --vgg-weights F.h5  Keras VGG16 weights with the top (vgg16_weights_tf_dim_ordering_tf_kernels.h5)\n"
            "                      [none: RANDOM seeded weights]\n"
            "  --features F        vgg (VGG16 fc2, the seed's) | pixels (16x16 pictures, for comparison) [vgg]\n"
            "  --epochs N          epochs [8]\n"
            "  --iters N           train N steps instead of whole epochs\n"
            "  --batch N           batch size [32]\n"
            "  --lr X              learning rate [0.001]\n"
            "  --optimizer O       adam | rmsprop (TensorFlow 1.x's; the seed compiles Keras' rmsprop, which\n"
            "                      starts its mean square at 0 and moves at once: see docs/recipes/vqa.md) [adam]\n"
            "  --padding P         post: words first, zeros after (the seed's) | pre: zeros first (Keras' pad_sequences) [post]\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of data, weights, shuffling and dropout [42]\n"
            "  --out DIR           generated data, feature cache, checkpoint vqa.tcck, metrics [out/vqa]\n"
            "  --summary           print the model's table and exit (the seed's: 13,707,240 parameters)\n"
            "  --summary-json FILE test_accuracy, majority_accuracy, question_only_accuracy, train_seconds, ...\n"
            "  --answers-count N   answers of the --summary model [1000]\n"
            "  --dropout X         rate of the three Dropout layers [0.5] (training only; 0: none)\n"
            "  --linear-dense      Dense layers without activation, as the seed runs (its 'tanh' is never passed on)\n"
            "  --width-div N       LSTM and Dense widths divided by N [1] (small models for tests)\n"
            "  --vgg-div N         VGG16 widths divided by N [1] (fast tests only; fc2 then has 4096/N values)\n");
    return rc;
}

typedef struct {
    int words, dim, lstm, dense, answers, feat;
    bool linear, pre_pad;
    double dropout;
} vqa_shape;

static tc_model *build(const vqa_shape *s)
{
    return tc_vqa_model(&(tc_vqa_opts){.image_features = s->feat, .max_words = s->words, .word_dim = s->dim,
                                       .lstm_units = s->lstm, .dense_units = s->dense, .answers = s->answers,
                                       .linear_dense = s->linear, .dropout = s->dropout > 0 ? s->dropout : -1});
}

/* ---- checkpoints: the model, its sizes, the vocabulary's vectors and how
 * image features were made, under extra/vqa/ ---- */
static const char *SHAPE_KEYS[] = {"words", "dim", "lstm", "dense", "answers", "feat", "linear", "features", "vgg_seed",
                                   "vgg_div", "vgg_weights", "feature_scale", "pre_pad", "dropout"};
#define N_KEYS 14

static bool save_checkpoint(const char *path, const tc_model *m, const vqa_shape *s, const vqa_feature_opts *fo,
                            double scale, const tc_word_vectors *wv)
{
    tc_checkpoint *x = tc_checkpoint_new();
    double v[N_KEYS] = {s->words, s->dim, s->lstm, s->dense, s->answers, s->feat, s->linear, fo->kind, (double)fo->vgg_seed,
                        fo->vgg_div, fo->vgg_weights != NULL, scale, s->pre_pad, s->dropout};
    char name[64];
    bool ok = true;
    for (int i = 0; i < N_KEYS && ok; i++) {
        snprintf(name, sizeof name, "vqa/%s", SHAPE_KEYS[i]);
        ok = tc_checkpoint_put_scalar(x, name, v[i]) == TC_OK;
    }
    /* the words, NUL-separated bytes, and their vectors */
    size_t bytes = 0;
    for (int64_t i = 0; i < wv->n; i++) bytes += strlen(wv->word[i]) + 1;
    tc_tensor *w = tc_tensor_new(1, (int64_t[]){(int64_t)bytes}), *vec = tc_tensor_new(2, (int64_t[]){wv->n, wv->dim});
    size_t k = 0;
    for (int64_t i = 0; i < wv->n; i++)
        for (const char *c = wv->word[i];; c++) {
            w->data[k++] = (tc_scalar)(unsigned char)*c;
            if (!*c) break;
        }
    for (int64_t i = 0; i < wv->n * wv->dim; i++) vec->data[i] = (tc_scalar)wv->vec[i];
    ok = ok && tc_checkpoint_put(x, "vqa/vocabulary", w) == TC_OK && tc_checkpoint_put(x, "vqa/vectors", vec) == TC_OK &&
         tc_checkpoint_save_model(m, NULL, path, x) == TC_OK;
    tc_tensor_free(w);
    tc_tensor_free(vec);
    tc_checkpoint_free(x);
    return ok;
}

/* Reads the sizes and vocabulary, builds the model and loads it. */
static tc_model *load_checkpoint(const char *path, vqa_shape *s, vqa_feature_opts *fo, double *scale, tc_word_vectors *wv)
{
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return NULL;
    double v[N_KEYS];
    char name[64];
    for (int i = 0; i < N_KEYS; i++) {
        snprintf(name, sizeof name, "extra/vqa/%s", SHAPE_KEYS[i]);
        if (!tc_checkpoint_get_scalar(ck, name, &v[i])) {
            tc_checkpoint_free(ck);
            tc_error(TC_ERR_FORMAT, "%s: not a vqa checkpoint (no %s)", path, name);
            return NULL;
        }
    }
    const tc_tensor *w = tc_checkpoint_get(ck, "extra/vqa/vocabulary"), *vec = tc_checkpoint_get(ck, "extra/vqa/vectors");
    if (!w || !vec || vec->ndim != 2 || vec->shape[1] != (int64_t)v[1]) {
        tc_checkpoint_free(ck);
        tc_error(TC_ERR_FORMAT, "%s: not a vqa checkpoint (no vocabulary)", path);
        return NULL;
    }
    tc_checkpoint_free(ck);
    *s = (vqa_shape){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], v[6] != 0, v[12] != 0, v[13]};
    fo->kind = (vqa_features_kind)v[7];
    fo->vgg_seed = (uint64_t)v[8];
    fo->vgg_div = (int)v[9];
    *scale = v[11];
    if (v[10] != 0 && !fo->vgg_weights) {
        tc_error(TC_ERR_ARG, "%s: trained on VGG16 features of a weight file: give it with --vgg-weights", path);
        return NULL;
    }
    if (v[10] == 0) fo->vgg_weights = NULL;
    tc_model *m = build(s);
    if (!m || tc_checkpoint_load_model(m, NULL, path, &ck) != TC_OK) {
        tc_model_free(m);
        return NULL;
    }
    w = tc_checkpoint_get(ck, "vqa/vocabulary");
    vec = tc_checkpoint_get(ck, "vqa/vectors");
    wv->n = vec->shape[0];
    wv->dim = (int)vec->shape[1];
    wv->word = calloc((size_t)wv->n + 1, sizeof(char *));
    wv->vec = malloc(sizeof(float) * (size_t)(wv->n * wv->dim + 1));
    int64_t at = 0;
    for (int64_t i = 0; i < wv->n; i++) {
        char buf[1024];
        int k = 0;
        while (at < w->shape[0] && w->data[at] != 0 && k < 1023) buf[k++] = (char)w->data[at++];
        buf[k] = 0;
        at++;
        wv->word[i] = strdup(buf);
    }
    for (int64_t i = 0; i < wv->n * wv->dim; i++) wv->vec[i] = (float)vec->data[i];
    tc_checkpoint_free(ck);
    return m;
}

/* ---- answering ---- */
static int answer(const char *image, const char *question, const char *ckpath, const char *answers_path,
                  const char *vectors, const char *vgg_weights)
{
    vqa_shape s;
    vqa_feature_opts fo = {.vgg_weights = vgg_weights};
    double scale;
    tc_word_vectors wv = {0}, file = {0};
    int n_ans = 0, rc = 1;
    char **ans = NULL;
    vqa_extractor *ex = NULL;
    tc_scalar *feat = NULL, *q = NULL;
    tc_model *m = load_checkpoint(ckpath, &s, &fo, &scale, &wv);
    if (!m) goto fail;
    if (tc_qa_answers_load(answers_path, &n_ans, &ans) != TC_OK) goto fail;
    if (n_ans < s.answers) {
        tc_error(TC_ERR_FORMAT, "%s: %d answers, but the model of %s has %d outputs", answers_path, n_ans, ckpath, s.answers);
        goto fail;
    }
    if (vectors) { /* the question's words from the file instead of the checkpoint's vocabulary */
        if (tc_word_vectors_read(vectors, 0, &file) != TC_OK) goto fail;
        if (file.dim != s.dim) {
            tc_error(TC_ERR_FORMAT, "%s: %d-dimensional vectors, but the model of %s reads %d", vectors, file.dim, ckpath, s.dim);
            goto fail;
        }
    }
    ex = vqa_extractor_new(&fo);
    if (!ex) goto fail;
    feat = malloc(sizeof(tc_scalar) * (size_t)s.feat);
    q = malloc(sizeof(tc_scalar) * (size_t)s.words * (size_t)s.dim);
    int unknown;
    if (vqa_extractor_dim(ex) != s.feat) {
        tc_error(TC_ERR_FORMAT, "%s: the model reads %d image features, the extractor gives %d", ckpath, s.feat, vqa_extractor_dim(ex));
        goto fail;
    }
    if (!vqa_extractor_run(ex, image, feat) || tc_question_vectors(vectors ? &file : &wv, question, s.words, s.pre_pad, q, &unknown) != TC_OK)
        goto fail;
    for (int i = 0; i < s.feat; i++) feat[i] = (tc_scalar)(feat[i] * scale);
    bool was = tc_set_grad_enabled(false);
    tc_tensor *in[2] = {tc_copy_of(feat, TC_SHAPE(1, s.feat)), tc_copy_of(q, TC_SHAPE(1, s.words, s.dim))}, *logits;
    tc_tensor *p = tc_model_forward_multi(m, 2, in, false, 1, &logits) == TC_OK ? tc_softmax(logits, -1) : NULL;
    tc_set_grad_enabled(was);
    if (!p) goto fail;
    if (unknown) fprintf(stderr, "tensorcook vqa: note: %d word(s) of the question have no vector (read as zeros)\n", unknown);
    printf("question: %s\n", question);
    bool *used = calloc((size_t)s.answers, sizeof(bool));
    for (int r = 0; r < 5 && r < s.answers; r++) {
        int b = -1;
        for (int i = 0; i < s.answers; i++)
            if (!used[i] && (b < 0 || p->data[i] > p->data[b])) b = i;
        used[b] = true;
        printf("%05.2f %%  %s\n", 100.0 * p->data[b], ans[b]);
    }
    free(used);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "tensorcook vqa: %s\n", tc_last_error());
    tc_step_reset();
    free(feat);
    free(q);
    vqa_extractor_free(ex);
    tc_qa_answers_free(n_ans, ans);
    tc_word_vectors_free(&wv);
    tc_word_vectors_free(&file);
    tc_model_free(m);
    return rc;
}

/* ---- training ---- */
typedef struct {
    tc_model *m;
    const tc_scalar *F, *Q;   /* features [images, feat], questions [n, words, dim] */
    const tc_qa_set *d;
    int64_t *order, n, pos, batch;
    tc_rng *rng;
    vqa_shape s;
    double acc;
} batch_ctx;

/* inputs of examples idx[0..b) as step tensors */
static void inputs_of(const batch_ctx *c, const int64_t *idx, int64_t b, tc_tensor **in, tc_tensor **y)
{
    int64_t qs = (int64_t)c->s.words * c->s.dim;
    in[0] = tc_empty(TC_SHAPE(b, c->s.feat));
    in[1] = tc_empty(TC_SHAPE(b, c->s.words, c->s.dim));
    if (y) *y = tc_empty(TC_SHAPE(b));
    for (int64_t i = 0; i < b && in[0] && in[1]; i++) {
        int64_t e = idx[i];
        memcpy(in[0]->data + i * c->s.feat, c->F + c->d->image[e] * c->s.feat, sizeof(tc_scalar) * (size_t)c->s.feat);
        memcpy(in[1]->data + i * qs, c->Q + e * qs, sizeof(tc_scalar) * (size_t)qs);
        if (y && *y) (*y)->data[i] = (tc_scalar)c->d->answer[e];
    }
}

static tc_tensor *batch_loss(void *ctx)
{
    batch_ctx *c = ctx;
    if (c->pos + c->batch > c->n) { /* a new epoch: a new order (the last partial batch is dropped) */
        tc_rng_shuffle(c->rng, c->order, c->n);
        c->pos = 0;
    }
    int64_t b = c->batch < c->n ? c->batch : c->n;
    tc_tensor *in[2], *y, *logits;
    inputs_of(c, c->order + c->pos, b, in, &y);
    c->pos += b;
    if (!in[0] || !in[1] || !y || tc_model_forward_multi(c->m, 2, in, true, 1, &logits) != TC_OK) return NULL;
    int correct = 0;
    for (int64_t i = 0; i < b; i++) {
        const tc_scalar *r = logits->data + i * c->s.answers;
        int best = 0;
        for (int k = 1; k < c->s.answers; k++)
            if (r[k] > r[best]) best = k;
        correct += best == (int)y->data[i];
    }
    c->acc = (double)correct / (double)b;
    return tc_sparse_softmax_cross_entropy(logits, y, NULL, TC_REDUCE_MEAN);
}

/* accuracy over examples idx[0..n) (inference; memory released after), predictions into pred (may be NULL) */
static double accuracy(const batch_ctx *c, const int64_t *idx, int64_t n, int *pred)
{
    int64_t correct = 0;
    bool was = tc_set_grad_enabled(false);
    for (int64_t at = 0; at < n; at += 64) {
        int64_t b = n - at < 64 ? n - at : 64;
        tc_step_mark mark = tc_step_get_mark();
        tc_tensor *in[2], *logits;
        inputs_of(c, idx + at, b, in, NULL);
        if (!in[0] || !in[1] || tc_model_forward_multi(c->m, 2, in, false, 1, &logits) != TC_OK) {
            tc_step_release(mark);
            tc_set_grad_enabled(was);
            return NAN;
        }
        for (int64_t i = 0; i < b; i++) {
            const tc_scalar *r = logits->data + i * c->s.answers;
            int best = 0;
            for (int k = 1; k < c->s.answers; k++)
                if (r[k] > r[best]) best = k;
            correct += best == c->d->answer[idx[at + i]];
            if (pred) pred[at + i] = best;
        }
        tc_step_release(mark);
    }
    tc_set_grad_enabled(was);
    return (double)correct / (double)n;
}

/* The distinct question words of the set, in order of first use. */
static int64_t vocabulary(const tc_qa_set *d, int max_words, char ***words)
{
    int64_t n = 0, cap = 64;
    char **w = malloc((size_t)cap * sizeof *w), **tok = malloc((size_t)max_words * sizeof *tok);
    for (int64_t i = 0; i < d->n; i++) {
        int k = tc_question_tokens(d->questions[i], max_words, tok);
        for (int t = 0; t < k; t++) {
            int64_t j = 0;
            while (j < n && strcmp(w[j], tok[t])) j++;
            if (j < n) {
                free(tok[t]);
                continue;
            }
            if (n == cap) w = realloc(w, (size_t)(cap *= 2) * sizeof *w);
            w[n++] = tok[t];
        }
    }
    free(tok);
    *words = w;
    return n;
}

/* Features of every image, computed once and cached in
 * OUT/features_KIND_HASH.npy (HASH: of the image paths, so another data
 * folder never reads this one's features). */
static tc_scalar *image_features(const tc_qa_set *d, const char *out, const vqa_feature_opts *fo, int *dim)
{
    char desc[512], file[256], cache[4600];
    vqa_features_describe(fo, desc, sizeof desc, false);
    vqa_features_describe(fo, file, sizeof file, true);
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int64_t i = 0; i < d->n_images; i++)
        for (const char *c = d->images[i];; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c) break;
        }
    snprintf(cache, sizeof cache, "%s/features_%s_%016llx.npy", out, file, (unsigned long long)h);
    fprintf(stderr, "tensorcook vqa: image features: %s\n", desc);
    FILE *probe = fopen(cache, "rb");
    if (probe) {
        fclose(probe);
        tc_tensor *t = tc_npy_load(cache);
        if (t && t->ndim == 2 && t->shape[0] == d->n_images) {
            *dim = (int)t->shape[1];
            tc_scalar *f = malloc(sizeof(tc_scalar) * (size_t)tc_numel(t));
            memcpy(f, t->data, sizeof(tc_scalar) * (size_t)tc_numel(t));
            tc_tensor_free(t);
            fprintf(stderr, "tensorcook vqa: features of %lld images read from the cache %s\n", (long long)d->n_images, cache);
            return f;
        }
        tc_tensor_free(t); /* a stale cache is made again */
    }
    vqa_extractor *ex = vqa_extractor_new(fo);
    if (!ex) return NULL;
    *dim = vqa_extractor_dim(ex);
    tc_scalar *f = malloc(sizeof(tc_scalar) * (size_t)(d->n_images * *dim));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t i = 0; i < d->n_images; i++) {
        if (!vqa_extractor_run(ex, d->images[i], f + i * *dim)) {
            vqa_extractor_free(ex);
            free(f);
            return NULL;
        }
        if ((i + 1) % 50 == 0) fprintf(stderr, "\r  features of %lld/%lld images", (long long)i + 1, (long long)d->n_images);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "\r  features of %lld images in %.1f s\n", (long long)d->n_images,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    vqa_extractor_free(ex);
    tc_tensor *t = tc_tensor_from(2, (int64_t[]){d->n_images, *dim}, f);
    tc_status st = t ? tc_npy_save(cache, t) : tc_last_status();
    tc_tensor_free(t);
    if (st != TC_OK) {
        free(f);
        return NULL;
    }
    return f;
}

int tc_cmd_vqa(int argc, char **argv)
{
    const char *data = NULL, *out = "out/vqa", *summary = NULL, *vectors = NULL, *vgg_weights = NULL, *features = "vgg";
    const char *image = NULL, *question = NULL, *checkpoint = NULL, *answers = NULL, *optimizer = "adam", *padding = "post";
    long long epochs = 8, iters = 0, batch = 32, threads = 0, seed = 42, images = 400, answers_count = 1000;
    long long width_div = 1, vgg_div = 1, max_vectors = 0;
    double lr = 1e-3, dropout = 0.5;
    bool bad = false, table = false, linear = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--summary") || !strcmp(argv[i], "--linear-dense")) {
            *(argv[i][2] == 's' ? &table : &linear) = true;
            continue;
        }
        const char **strs[] = {&data, &out, &summary, &vectors, &vgg_weights, &features, &image, &question, &checkpoint, &answers, &optimizer, &padding};
        const char *snames[] = {"--data", "--out", "--summary-json", "--vectors", "--vgg-weights", "--features", "--image",
                                "--question", "--checkpoint", "--answers", "--optimizer", "--padding"};
        bool hit = false;
        for (int k = 0; k < 12 && !hit; k++)
            if (opt_str(argc, argv, &i, snames[k], strs[k])) {
                hit = true;
                bad |= !*strs[k];
            }
        if (hit) continue;
        if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--images", &images, &bad) ||
            opt_int(argc, argv, &i, "--answers-count", &answers_count, &bad) ||
            opt_int(argc, argv, &i, "--width-div", &width_div, &bad) || opt_int(argc, argv, &i, "--vgg-div", &vgg_div, &bad) ||
            opt_int(argc, argv, &i, "--max-vectors", &max_vectors, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad) ||
            opt_double(argc, argv, &i, "--dropout", &dropout, &bad))
            continue;
        fprintf(stderr, "tensorcook vqa: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || epochs < 1 || iters < 0 || batch < 1 || lr <= 0 || images < 10 || answers_count < 2 || width_div < 1 ||
        width_div > 64 || vgg_div < 1 || vgg_div > 64 || max_vectors < 0 || dropout < 0 || dropout >= 1) {
        fprintf(stderr, "tensorcook vqa: invalid option values (see --help)\n");
        return 2;
    }
    if (strcmp(features, "vgg") && strcmp(features, "pixels")) {
        fprintf(stderr, "tensorcook vqa: --features %s is not one of vgg, pixels\n", features);
        return 2;
    }
    if (strcmp(padding, "pre") && strcmp(padding, "post")) {
        fprintf(stderr, "tensorcook vqa: --padding %s is not one of pre, post\n", padding);
        return 2;
    }
    if (strcmp(optimizer, "rmsprop") && strcmp(optimizer, "adam")) {
        fprintf(stderr, "tensorcook vqa: --optimizer %s is not one of rmsprop, adam\n", optimizer);
        return 2;
    }
    set_threads("vqa", threads);
    tc_manual_seed((uint64_t)seed);
    if (image || question || checkpoint) {
        if (!image || !question || !checkpoint || !answers) {
            fprintf(stderr, "tensorcook vqa: answering needs --image, --question, --checkpoint and --answers\n");
            return 2;
        }
        return answer(image, question, checkpoint, answers, vectors, vgg_weights);
    }
    vqa_shape s = {30, 300, (int)(512 / width_div), (int)(1024 / width_div), (int)answers_count, 4096 / (int)vgg_div, linear,
                   !strcmp(padding, "pre"), dropout};
    if (s.lstm < 1 || s.dense < 1) s.lstm = s.dense = 1;
    if (table) {
        tc_nn_seed((uint64_t)seed);
        tc_model *m = build(&s);
        if (!m) {
            fprintf(stderr, "tensorcook vqa: %s\n", tc_last_error());
            return 1;
        }
        tc_model_summary(m, stdout);
        printf("Dense layers: %s\n", linear ? "linear, as the seed runs them (its 'tanh' never reaches Dense)"
                                            : "tanh, as the seed intends (its code never passes 'tanh' on; --linear-dense for that)");
        tc_model_free(m);
        return 0;
    }
    vqa_feature_opts fo = {.kind = strcmp(features, "pixels") ? VQA_FEATURES_VGG : VQA_FEATURES_PIXELS, .vgg_weights = vgg_weights,
                           .vgg_seed = (uint64_t)seed, .vgg_div = (int)vgg_div};
    int rc = 1;
    tc_qa_set *d = NULL;
    tc_word_vectors wv = {0}, file = {0};
    char **vocab = NULL;
    int64_t nv = 0, *split = NULL;
    tc_scalar *F = NULL, *Q = NULL;
    tc_model *m = NULL;
    tc_optimizer *opt = NULL;
    int *pred = NULL;
    char gen[4200], ckpath[4200];
    /* inputs first (a bad file is reported before anything is written) */
    if (vectors && tc_word_vectors_read(vectors, max_vectors, &file) != TC_OK) goto fail;
    if (data) {
        if (!(d = tc_qa_set_load(data))) goto fail;
    }
    if (!prepare_out_dir("vqa", out)) return 1;
    if (!data) {
        snprintf(gen, sizeof gen, "%s/data", out);
        if (!prepare_out_dir("vqa", gen)) goto done;
        /* made again unless OUT/data holds the set of these options */
        char probe[4400], want[128], *have = NULL;
        size_t have_n = 0;
        snprintf(probe, sizeof probe, "%s/generated.txt", gen);
        int wn = snprintf(want, sizeof want, "tc_shapes_qa_generate images %lld seed %lld\n", images, seed);
        bool same = tc_read_file(probe, 4096, (unsigned char **)&have, &have_n) == TC_OK && have_n == (size_t)wn &&
                    !memcmp(have, want, have_n);
        free(have);
        d = same ? tc_qa_set_load(gen) : NULL;
        if (!d) {
            fprintf(stderr, "tensorcook vqa: generating %lld images of coloured shapes with 3 questions each in %s\n", images, gen);
            if (tc_shapes_qa_generate(gen, &(tc_shapes_qa_opts){.images = images, .seed = (uint64_t)seed}) != TC_OK ||
                !(d = tc_qa_set_load(gen)) || tc_write_file_atomic(probe, want, (size_t)wn) != TC_OK)
                goto fail;
        }
        data = gen;
    }
    s.answers = d->n_answers;
    nv = vocabulary(d, s.words, &vocab);
    if (vectors) {
        int64_t unknown;
        if (tc_word_vectors_subset(&file, nv, (const char *const *)vocab, &wv, &unknown) != TC_OK) goto fail;
        s.dim = file.dim;
        fprintf(stderr, "tensorcook vqa: %lld question words, %lld of them without a vector in %s (zeros)\n", (long long)nv,
                (long long)unknown, vectors);
        tc_word_vectors_free(&file);
    } else {
        if (tc_word_vectors_random(nv, (const char *const *)vocab, s.dim, (uint64_t)seed + 1, &wv) != TC_OK) goto fail;
        fprintf(stderr, "tensorcook vqa: no --vectors: RANDOM %d-d vectors for the %lld question words\n", s.dim, (long long)nv);
    }
    int fdim;
    if (!(F = image_features(d, out, &fo, &fdim))) goto fail;
    s.feat = fdim;
    split = malloc(sizeof(int64_t) * (size_t)d->n * 3);
    int64_t ntr = 0, nva = 0, nte = 0, *tr = split, *va = split + d->n, *te = split + 2 * d->n;
    for (int64_t i = 0; i < d->n; i++) { /* by image: 70 % train, 10 % validation, 20 % test */
        int64_t k = d->image[i] % 10;
        if (k < 7) tr[ntr++] = i;
        else if (k == 7) va[nva++] = i;
        else te[nte++] = i;
    }
    if (!ntr || !nva || !nte) {
        tc_error(TC_ERR_FORMAT, "%s: %lld images are too few for training, validation and test sets", data, (long long)d->n_images);
        goto fail;
    }
    double scale = 1; /* a factor after the L2 normalisation (kept in the checkpoint) */
    int64_t qs = (int64_t)s.words * s.dim;
    Q = malloc(sizeof(tc_scalar) * (size_t)(d->n * qs));
    for (int64_t i = 0; i < d->n; i++)
        if (tc_question_vectors(&wv, d->questions[i], s.words, s.pre_pad, Q + i * qs, NULL) != TC_OK) goto fail;
    /* baselines: the majority answer of the training set, and the majority
     * answer of each question text (a blind model's best) */
    int *count = calloc((size_t)s.answers, sizeof(int));
    for (int64_t i = 0; i < ntr; i++) count[d->answer[tr[i]]]++;
    int major = 0;
    for (int k = 1; k < s.answers; k++)
        if (count[k] > count[major]) major = k;
    free(count);
    int64_t hit_major = 0, hit_blind = 0;
    for (int64_t i = 0; i < nte; i++) {
        const char *qt = d->questions[te[i]];
        int *c2 = calloc((size_t)s.answers, sizeof(int));
        for (int64_t j = 0; j < ntr; j++)
            if (!strcmp(d->questions[tr[j]], qt)) c2[d->answer[tr[j]]]++;
        int b = major;
        for (int k = 0; k < s.answers; k++)
            if (c2[k] > c2[b]) b = k;
        free(c2);
        hit_major += d->answer[te[i]] == major;
        hit_blind += d->answer[te[i]] == b;
    }
    double major_acc = (double)hit_major / (double)nte, blind_acc = (double)hit_blind / (double)nte;
    tc_nn_seed((uint64_t)seed);
    m = build(&s);
    opt = !strcmp(optimizer, "adam") ? tc_adam(lr) : tc_rmsprop(lr, 0.9, 0, 1e-7);
    if (!m || !opt) goto fail;
    int64_t params = tc_model_count_params(m, NULL, NULL);
    printf("%lld questions on %lld images, %d answers: %lld train, %lld validation, %lld test questions; model of %lld parameters\n",
           (long long)d->n, (long long)d->n_images, s.answers, (long long)ntr, (long long)nva, (long long)nte, (long long)params);
    tc_rng rng = tc_rng_new((uint64_t)seed + 2);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)ntr);
    memcpy(order, tr, sizeof(int64_t) * (size_t)ntr);
    batch_ctx c = {m, F, Q, d, order, ntr, ntr, batch, &rng, s, 0};
    int64_t per_epoch = ntr / (batch < ntr ? batch : ntr), steps = iters ? iters : epochs * per_epoch;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double loss = NAN, val = NAN;
    for (int64_t st = 1; st <= steps; st++) {
        if (tc_model_train_step(m, opt, batch_loss, &c, &loss) != TC_OK) {
            free(order);
            goto fail;
        }
        if (st % per_epoch == 0 || st == steps) {
            val = accuracy(&c, va, nva, NULL);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("step %lld/%lld (epoch %.1f): loss %.4f, batch accuracy %.3f, validation accuracy %.4f (%.0f s)\n", (long long)st,
                   (long long)steps, (double)st / (double)per_epoch, loss, c.acc, val,
                   (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
            fflush(stdout);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double train_seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    free(order);
    pred = malloc(sizeof(int) * (size_t)nte);
    double test = accuracy(&c, te, nte, pred);
    if (isnan(test)) goto fail;
    /* accuracy per question kind (the first two words tell them apart) */
    const char *kinds[] = {"what color ", "what shape ", "how many ", "is the ", "is there "};
    for (int k = 0; k < 5; k++) {
        int64_t n = 0, ok = 0;
        for (int64_t i = 0; i < nte; i++)
            if (!strncmp(d->questions[te[i]], kinds[k], strlen(kinds[k]))) n++, ok += pred[i] == d->answer[te[i]];
        if (n) printf("  test accuracy on \"%s...\" questions: %.4f (%lld)\n", kinds[k], (double)ok / (double)n, (long long)n);
    }
    printf("test accuracy %.4f on %lld questions; majority answer \"%s\" %.4f; question-only (the majority answer of each "
           "question) %.4f; %lld steps in %.1f s\n",
           test, (long long)nte, d->answers[major], major_acc, blind_acc, (long long)steps, train_seconds);
    snprintf(ckpath, sizeof ckpath, "%s/vqa.tcck", out);
    if (!save_checkpoint(ckpath, m, &s, &fo, scale, &wv)) goto fail;
    char apath[4300];
    snprintf(apath, sizeof apath, "%s/answers.txt", data);
    printf("checkpoint %s; answer a question with: tensorcook vqa --checkpoint %s --answers %s --image IMG --question \"...\"\n",
           ckpath, ckpath, apath);
    if (summary) {
        const char *keys[] = {"test_accuracy", "majority_accuracy", "question_only_accuracy", "val_accuracy", "train_loss",
                              "train_seconds", "steps", "test_questions", "parameters"};
        double vals[] = {test, major_acc, blind_acc, val, loss, train_seconds, (double)steps, (double)nte, (double)params};
        if (!write_summary_json("vqa", summary, 9, keys, vals)) goto done;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tensorcook vqa: %s\n", tc_last_error());
done:
    free(pred);
    free(split);
    free(F);
    free(Q);
    for (int64_t i = 0; i < nv; i++) free(vocab[i]);
    free(vocab);
    tc_word_vectors_free(&wv);
    tc_word_vectors_free(&file);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_qa_set_free(d);
    return rc;
}
