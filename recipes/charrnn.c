/* tensorcook charrnn: a character-level language model (the cookbook's
 * Shakespeare char-RNN) on any UTF-8 text.
 *   sequences of 25 characters taken every 3 characters, each predicting
 *   the next one; 3 x LSTM 512 with dropout 0.5 between layers; dense
 *   softmax over the vocabulary; Adam 1e-3, batch 128, gradients clipped
 *   to a global norm of 5; a validation split; after each epoch, 600
 *   characters sampled at temperatures 1.0 and 0.5 from a random seed
 *   sequence; checkpoints and resume.
 *   tensorcook charrnn --sample --checkpoint FILE generates with a stateful
 *   loop: one LSTM step per character. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

#define FORTUNES "/usr/share/games/fortunes"
#define MAX_LAYERS 8

typedef struct {
    int layers, units, vocab;
    uint32_t *chars;               /* vocabulary: code points, sorted */
    tc_tensor *k[MAX_LAYERS], *u[MAX_LAYERS], *b[MAX_LAYERS];
    tc_tensor *w_out, *b_out;
    tc_tensor *params[3 * MAX_LAYERS + 2];
    int n_params;
    char names[3 * MAX_LAYERS + 2][40];
} charnet;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- text --------------------------------------------------------------------------- */
/* Decodes UTF-8 into code points; false (with the byte offset) on invalid input. */
static bool utf8_decode(const unsigned char *s, size_t n, uint32_t **out, size_t *count, size_t *bad_at)
{
    uint32_t *cp = malloc(sizeof(uint32_t) * (n + 1));
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t v = len == 1 ? c : len == 2 ? c & 31 : len == 3 ? c & 15 : c & 7;
        if (!len || i + (size_t)len > n) goto bad;
        for (int j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80) goto bad;
            v = v << 6 | (s[i + j] & 63);
        }
        if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
            (v >= 0xD800 && v <= 0xDFFF))
            goto bad;
        cp[k++] = v;
        i += (size_t)len;
        continue;
    bad:
        free(cp);
        *bad_at = i;
        return false;
    }
    *out = cp;
    *count = k;
    return true;
}

static void put_utf8(FILE *f, uint32_t v)
{
    if (v < 0x80) fputc((int)v, f);
    else if (v < 0x800) fputc(0xC0 | (int)(v >> 6), f), fputc(0x80 | (int)(v & 63), f);
    else if (v < 0x10000) fputc(0xE0 | (int)(v >> 12), f), fputc(0x80 | (int)((v >> 6) & 63), f), fputc(0x80 | (int)(v & 63), f);
    else fputc(0xF0 | (int)(v >> 18), f), fputc(0x80 | (int)((v >> 12) & 63), f), fputc(0x80 | (int)((v >> 6) & 63), f), fputc(0x80 | (int)(v & 63), f);
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = buf ? (size_t)size : 0;
    return buf;
}

/* The default corpus: every plain UTF-8 text file of Debian's fortunes. */
static unsigned char *read_fortunes(size_t *n)
{
    DIR *d = opendir(FORTUNES);
    if (!d) return NULL;
    struct dirent *e;
    char *names[256];
    int count = 0;
    while ((e = readdir(d)) && count < 256) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || (dot && (!strcmp(dot, ".dat") || !strcmp(dot, ".u8")))) continue;
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    /* a fixed order, whatever the directory's */
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && strcmp(names[j], names[j - 1]) < 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    unsigned char *all = NULL;
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", FORTUNES, names[i]);
        size_t len, bad;
        unsigned char *t = read_file(path, &len);
        uint32_t *cp;
        size_t cnt;
        if (t && utf8_decode(t, len, &cp, &cnt, &bad)) {
            free(cp);
            unsigned char *g = realloc(all, total + len + 1);
            if (g) {
                all = g;
                memcpy(all + total, t, len);
                total += len;
            }
        }
        free(t);
        free(names[i]);
    }
    *n = total;
    return all;
}

/* ---- the network ---------------------------------------------------------------------- */
static void net_free(charnet *n)
{
    for (int i = 0; i < n->n_params; i++) tc_tensor_free(n->params[i]);
    free(n->chars);
    memset(n, 0, sizeof *n);
}

static bool net_init(charnet *n, int layers, int units, int vocab, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    n->layers = layers, n->units = units, n->vocab = vocab;
    for (int l = 0; l < layers; l++) {
        int64_t in = l ? units : vocab;
        n->k[l] = tc_tensor_new(TC_SHAPE(in, 4 * units));
        n->u[l] = tc_tensor_new(TC_SHAPE(units, 4 * units));
        n->b[l] = tc_tensor_new(TC_SHAPE(4 * units));
        if (!n->k[l] || !n->u[l] || !n->b[l]) return false;
        double lim = sqrt(6.0 / (double)(in + 4 * units)), lim2 = sqrt(6.0 / (double)(5 * units));
        tc_rng_uniform(&r, n->k[l]->data, tc_numel(n->k[l]), (tc_scalar)-lim, (tc_scalar)lim);
        tc_rng_uniform(&r, n->u[l]->data, tc_numel(n->u[l]), (tc_scalar)-lim2, (tc_scalar)lim2);
        for (int j = units; j < 2 * units; j++) n->b[l]->data[j] = 1; /* forget gate bias 1 (Keras) */
        const char *kinds[3] = {"kernel", "recurrent_kernel", "bias"};
        tc_tensor *t3[3] = {n->k[l], n->u[l], n->b[l]};
        for (int i = 0; i < 3; i++) {
            snprintf(n->names[n->n_params], sizeof n->names[0], "lstm_%d/%s", l, kinds[i]);
            n->params[n->n_params++] = t3[i];
        }
    }
    n->w_out = tc_tensor_new(TC_SHAPE(units, vocab));
    n->b_out = tc_tensor_new(TC_SHAPE(vocab));
    if (!n->w_out || !n->b_out) return false;
    double lim = sqrt(6.0 / (double)(units + vocab));
    tc_rng_uniform(&r, n->w_out->data, tc_numel(n->w_out), (tc_scalar)-lim, (tc_scalar)lim);
    snprintf(n->names[n->n_params], sizeof n->names[0], "dense/kernel");
    n->params[n->n_params++] = n->w_out;
    snprintf(n->names[n->n_params], sizeof n->names[0], "dense/bias");
    n->params[n->n_params++] = n->b_out;
    for (int i = 0; i < n->n_params; i++) tc_set_requires_grad(n->params[i], true);
    return true;
}

/* logits of the character after each window: ids [B, T] -> [B, vocab] */
static tc_tensor *net_forward(charnet *n, const tc_tensor *ids, bool training, tc_rng *drop)
{
    /* The inputs are one-hot, as in the cookbook: their product with the first
     * kernel is one row of it per character, so the rows are gathered instead
     * (the same numbers without the [B*T, vocab] x [vocab, 4H] product). */
    tc_tensor *x = tc_gather(n->k[0], (tc_tensor *)ids, 0);
    tc_tensor *h = NULL;
    for (int l = 0; l < n->layers; l++) {
        bool last = l == n->layers - 1;
        tc_tensor *seq = NULL, *hl = NULL;
        if (tc_lstm(x, l ? n->k[l] : NULL, n->u[l], n->b[l], NULL, NULL, NULL, NULL, NULL, last ? NULL : &seq, &hl, NULL) != TC_OK)
            return NULL;
        x = last ? NULL : tc_dropout(seq, 0.5f, training, drop);
        h = last ? tc_dropout(hl, 0.5f, training, drop) : NULL;
        if (!last && !x) return NULL;
    }
    return tc_linear(h, n->w_out, n->b_out);
}

static bool net_save(const charnet *n, tc_optimizer *opt, const char *path, double epoch)
{
    tc_checkpoint *ck = tc_checkpoint_new();
    bool ok = ck != NULL;
    for (int i = 0; ok && i < n->n_params; i++) {
        ok = tc_checkpoint_put(ck, n->names[i], n->params[i]) == TC_OK;
        for (int s = 0; ok && opt && s < tc_optimizer_slot_count(opt); s++) {
            char key[96];
            snprintf(key, sizeof key, "optimizer/%s/%s", n->names[i], tc_optimizer_slot_name(opt, s));
            ok = tc_checkpoint_put(ck, key, tc_optimizer_slot(opt, n->params[i], s)) == TC_OK;
        }
    }
    tc_tensor *voc = ok ? tc_zeros(TC_SHAPE(n->vocab)) : NULL;
    for (int i = 0; voc && i < n->vocab; i++) voc->data[i] = (tc_scalar)n->chars[i];
    ok = ok && voc && tc_checkpoint_put(ck, "charrnn/vocabulary", voc) == TC_OK &&
         tc_checkpoint_put_scalar(ck, "charrnn/layers", n->layers) == TC_OK &&
         tc_checkpoint_put_scalar(ck, "charrnn/units", n->units) == TC_OK &&
         tc_checkpoint_put_scalar(ck, "charrnn/epoch", epoch) == TC_OK &&
         (!opt || tc_checkpoint_put_scalar(ck, "optimizer/steps", (double)tc_optimizer_steps(opt)) == TC_OK) &&
         tc_checkpoint_save(ck, path) == TC_OK;
    tc_checkpoint_free(ck);
    tc_step_reset();
    return ok;
}

/* Loads a checkpoint into a fresh network (its own shape); NULL opt: weights only. */
static bool net_load(charnet *n, tc_optimizer *opt, const char *path, double *epoch)
{
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return false;
    double layers, units;
    const tc_tensor *voc = tc_checkpoint_get(ck, "charrnn/vocabulary");
    if (!voc || !tc_checkpoint_get_scalar(ck, "charrnn/layers", &layers) || !tc_checkpoint_get_scalar(ck, "charrnn/units", &units) ||
        layers < 1 || layers > MAX_LAYERS || units < 1) {
        tc_error(TC_ERR_FORMAT, "%s: not a charrnn checkpoint (no vocabulary, layers or units)", path);
        tc_checkpoint_free(ck);
        return false;
    }
    bool ok = net_init(n, (int)layers, (int)units, (int)tc_numel(voc), 1);
    n->chars = malloc(sizeof(uint32_t) * (size_t)n->vocab);
    for (int i = 0; ok && i < n->vocab; i++) n->chars[i] = (uint32_t)voc->data[i];
    for (int i = 0; ok && i < n->n_params; i++) {
        const tc_tensor *t = tc_checkpoint_get(ck, n->names[i]);
        if (!t || !tc_same_shape(t, n->params[i])) {
            tc_error(TC_ERR_SHAPE, "%s: %s is missing or has another shape", path, n->names[i]);
            ok = false;
            break;
        }
        memcpy(n->params[i]->data, t->data, sizeof(tc_scalar) * (size_t)tc_numel(t));
        for (int s = 0; opt && s < tc_optimizer_slot_count(opt); s++) {
            char key[96];
            snprintf(key, sizeof key, "optimizer/%s/%s", n->names[i], tc_optimizer_slot_name(opt, s));
            const tc_tensor *st = tc_checkpoint_get(ck, key);
            tc_tensor *slot = tc_optimizer_slot(opt, n->params[i], s);
            if (st && slot && tc_same_shape(st, slot)) memcpy(slot->data, st->data, sizeof(tc_scalar) * (size_t)tc_numel(st));
        }
    }
    double steps;
    if (ok && opt && tc_checkpoint_get_scalar(ck, "optimizer/steps", &steps)) tc_optimizer_set_steps(opt, (int64_t)steps);
    if (epoch && !tc_checkpoint_get_scalar(ck, "charrnn/epoch", epoch)) *epoch = 0;
    tc_checkpoint_free(ck);
    return ok;
}

/* ---- generation: one LSTM step per character, state kept ------------------------------- */
static int char_id(const charnet *n, uint32_t c)
{
    int lo = 0, hi = n->vocab - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (n->chars[mid] == c) return mid;
        if (n->chars[mid] < c) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int sample(const tc_scalar *logits, int V, double temperature, tc_rng *r)
{
    double m = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++) m = fmax(m, logits[i] / temperature);
    double *p = malloc(sizeof(double) * (size_t)V);
    for (int i = 0; i < V; i++) sum += p[i] = exp(logits[i] / temperature - m);
    double u = tc_rng_double(r) * sum;
    int pick = V - 1;
    for (int i = 0; i < V; i++) {
        u -= p[i];
        if (u <= 0) {
            pick = i;
            break;
        }
    }
    free(p);
    return pick;
}

/* Feeds seed ids, then samples `length` characters to f. Returns chars/s, or
 * a negative value (with tc_last_error) when the weights cannot be prepared.
 * Batch-1 inference on weights prepared once: an LSTM stepper per layer (the
 * first reads its input as a one-hot id) and a packed dense layer, so a
 * character is three steps and a row-vector product, with no tensors and no
 * tape (the same model as tc_lstm_step and tc_linear; see rnn.h). */
static double generate(charnet *n, const int *seed, int seed_len, int length, double temperature, uint64_t rseed, FILE *f)
{
    int L = n->layers, H = n->units, V = n->vocab;
    tc_lstm_stepper *step[MAX_LAYERS] = {0};
    bool ok = true;
    for (int l = 0; l < L; l++) ok = ok && (step[l] = tc_lstm_stepper_new(n->k[l], n->u[l], n->b[l], NULL, l == 0));
    tc_gemv_plan *out = ok ? tc_gemv_plan_new(H, V, n->w_out->data, V, NULL, 0) : NULL;
    /* state of every layer, zeros at the start */
    tc_scalar *h = calloc((size_t)(L * H), sizeof(tc_scalar)), *c = calloc((size_t)(L * H), sizeof(tc_scalar));
    tc_scalar *logits = out ? calloc((size_t)(tc_gemv_panels(out) * TC_GEMV_PANEL), sizeof(tc_scalar)) : NULL;
    double rate = -1;
    if (!out || !h || !c || !logits) goto done;
    tc_rng r = tc_rng_new(rseed);
    double t0 = now();
    int next = seed_len ? seed[0] : 0;
    for (int i = 0; i < seed_len + length; i++) {
        int cur = i < seed_len ? seed[i] : next;
        tc_lstm_stepper_step_id(step[0], cur, h, c);
        for (int l = 1; l < L; l++) tc_lstm_stepper_step(step[l], h + (l - 1) * H, h + l * H, c + l * H);
        if (i < seed_len - 1) continue; /* still reading the seed: no prediction needed */
        tc_gemv_run(out, h + (L - 1) * H, logits);
        for (int j = 0; j < V; j++) logits[j] += n->b_out->data[j];
        next = sample(logits, V, temperature, &r);
        if (i < seed_len + length - 1) put_utf8(f, n->chars[next]);
    }
    rate = length / fmax(now() - t0, 1e-9);
done:
    for (int l = 0; l < L; l++) tc_lstm_stepper_free(step[l]);
    tc_gemv_plan_free(out);
    free(h), free(c), free(logits);
    return rate;
}

/* ---- the command ------------------------------------------------------------------------- */
static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook charrnn [--text FILE] [options]          train\n"
            "       tensorcook charrnn --sample --checkpoint FILE [--temperature T] [--length N] [--seed-text S]\n"
            "  --text FILE         UTF-8 text [the English texts of Debian's fortunes]\n"
            "  --max-chars N       use the first N characters [all of --text; 150000 of the default corpus]\n"
            "  --layers N --units N  LSTM stack [3 x 512]\n"
            "  --epochs N          [1]       --iters N     stop after N steps\n"
            "  --batch N           [128]     --lr X        Adam learning rate [0.001]\n"
            "  --val-split X       fraction of the sequences for validation [0.05]\n"
            "  --threads N --seed N --out DIR [out/charrnn]  --resume FILE  --summary-json FILE\n");
    return rc;
}

int tc_cmd_charrnn(int argc, char **argv)
{
    const char *text = NULL, *out = "out/charrnn", *resume = NULL, *summary = NULL, *checkpoint = NULL, *seed_text = NULL;
    long long layers = 3, units = 512, epochs = 1, iters = 0, batch = 128, threads = 0, seed = 42, max_chars = -1,
              length = 600;
    double lr = 1e-3, val_split = 0.05, temperature = 1.0;
    bool bad = false, do_sample = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--sample")) {
            do_sample = true;
            continue;
        }
        if (opt_str(argc, argv, &i, "--text", &text) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--resume", &resume) || opt_str(argc, argv, &i, "--summary-json", &summary) ||
            opt_str(argc, argv, &i, "--checkpoint", &checkpoint) || opt_str(argc, argv, &i, "--seed-text", &seed_text))
            continue;
        if (opt_int(argc, argv, &i, "--layers", &layers, &bad) || opt_int(argc, argv, &i, "--units", &units, &bad) ||
            opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--max-chars", &max_chars, &bad) ||
            opt_int(argc, argv, &i, "--length", &length, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad) ||
            opt_double(argc, argv, &i, "--val-split", &val_split, &bad) ||
            opt_double(argc, argv, &i, "--temperature", &temperature, &bad))
            continue;
        fprintf(stderr, "tensorcook charrnn: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || layers < 1 || layers > MAX_LAYERS || units < 1 || epochs < 1 || batch < 1 || lr <= 0 || length < 0 ||
        !(temperature > 0) || !(val_split >= 0 && val_split < 1)) {
        fprintf(stderr, "tensorcook charrnn: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("charrnn", threads);
    charnet net = {0};
    if (do_sample) {
        if (!checkpoint) {
            fprintf(stderr, "tensorcook charrnn: --sample needs --checkpoint FILE\n");
            return 2;
        }
        if (!net_load(&net, NULL, checkpoint, NULL)) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            net_free(&net);
            return 1;
        }
        uint32_t *cp = NULL;
        size_t ncp = 0, badat;
        const char *st = seed_text ? seed_text : "";
        if (!utf8_decode((const unsigned char *)st, strlen(st), &cp, &ncp, &badat)) {
            fprintf(stderr, "tensorcook charrnn: --seed-text is not UTF-8 (byte %zu)\n", badat);
            net_free(&net);
            return 1;
        }
        int *ids = malloc(sizeof(int) * (ncp + 1)), k = 0;
        for (size_t i = 0; i < ncp; i++) {
            int id = char_id(&net, cp[i]);
            if (id >= 0) ids[k++] = id; /* characters the model never saw are skipped */
        }
        if (k == 0) ids[k++] = (int)(tc_rng_u32(&(tc_rng){(uint64_t)seed, 0}) % (uint32_t)net.vocab);
        fputs(st, stdout);
        double rate = generate(&net, ids, k, (int)length, temperature, (uint64_t)seed, stdout);
        printf("\n");
        if (rate < 0) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            free(ids);
            free(cp);
            net_free(&net);
            return 1;
        }
        fprintf(stderr, "%lld characters at %.0f characters/s\n", length, rate);
        free(ids);
        free(cp);
        net_free(&net);
        return 0;
    }
    /* ---- training ---- */
    size_t nbytes = 0, badat;
    unsigned char *raw = text ? read_file(text, &nbytes) : read_fortunes(&nbytes);
    if (!raw) {
        fprintf(stderr, "tensorcook charrnn: %s: cannot read: %s\n", text ? text : FORTUNES " (install fortunes)", strerror(errno));
        return 1;
    }
    uint32_t *cp = NULL;
    size_t ncp = 0;
    if (!utf8_decode(raw, nbytes, &cp, &ncp, &badat)) {
        fprintf(stderr, "tensorcook charrnn: %s: not UTF-8 (invalid byte sequence at byte %zu)\n", text ? text : FORTUNES, badat);
        free(raw);
        return 1;
    }
    free(raw);
    if (max_chars < 0) max_chars = text ? 0 : 150000;
    if (max_chars > 0 && (size_t)max_chars < ncp) ncp = (size_t)max_chars;
    const int T = 25, STEP = 3;
    if (ncp < (size_t)T + 1) {
        fprintf(stderr, "tensorcook charrnn: %s: %zu characters; need at least %d for one sequence\n",
                text ? text : FORTUNES, ncp, T + 1);
        free(cp);
        return 1;
    }
    /* vocabulary: sorted distinct code points */
    uint32_t *sorted = malloc(sizeof(uint32_t) * ncp);
    memcpy(sorted, cp, sizeof(uint32_t) * ncp);
    int charrnn_cmp(const void *a, const void *b);
    qsort(sorted, ncp, sizeof(uint32_t), charrnn_cmp);
    size_t V = 0;
    for (size_t i = 0; i < ncp; i++)
        if (!V || sorted[V - 1] != sorted[i]) sorted[V++] = sorted[i];
    int rc = 1;
    tc_optimizer *opt = tc_optimizer_new(TC_OPT_ADAM, &(tc_optim_opts){.lr = lr, .clip_norm = 5});
    double start_epoch = 0;
    if (resume) {
        if (!net_load(&net, opt, resume, &start_epoch)) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
        if ((size_t)net.vocab != V || memcmp(net.chars, sorted, V * sizeof(uint32_t))) {
            fprintf(stderr, "tensorcook charrnn: %s was trained on another vocabulary (%d characters, this text has %zu)\n",
                    resume, net.vocab, V);
            goto done;
        }
    } else {
        if (!net_init(&net, (int)layers, (int)units, (int)V, (uint64_t)seed)) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
        net.chars = malloc(sizeof(uint32_t) * V);
        memcpy(net.chars, sorted, V * sizeof(uint32_t));
    }
    if (!prepare_out_dir("charrnn", out)) goto done;
    /* sequences: windows of T every STEP characters, target the next one */
    int64_t nseq = (int64_t)((ncp - (size_t)T - 1) / STEP) + 1, nval = (int64_t)(nseq * val_split), ntrain = nseq - nval;
    if (ntrain < 1) {
        fprintf(stderr, "tensorcook charrnn: the text gives %lld sequences; too few to train\n", (long long)nseq);
        goto done;
    }
    tc_dataset *train = calloc(1, sizeof *train), *val = nval > 0 ? calloc(1, sizeof *val) : NULL;
    train->x = tc_tensor_new(TC_SHAPE(ntrain, T));
    train->y = tc_tensor_new(TC_SHAPE(ntrain));
    if (val) val->x = tc_tensor_new(TC_SHAPE(nval, T)), val->y = tc_tensor_new(TC_SHAPE(nval));
    for (int64_t s = 0; s < nseq; s++) {
        tc_dataset *d = s < ntrain ? train : val;
        int64_t row = s < ntrain ? s : s - ntrain;
        for (int t = 0; t < T; t++) d->x->data[row * T + t] = (tc_scalar)char_id(&net, cp[s * STEP + t]);
        d->y->data[row] = (tc_scalar)char_id(&net, cp[s * STEP + T]);
    }
    printf("%zu characters, vocabulary %zu, %lld training and %lld validation sequences; %d x LSTM %d; %d threads\n", ncp, V,
           (long long)ntrain, (long long)nval, net.layers, net.units, tc_num_threads());
    tc_rng drop = tc_rng_new((uint64_t)seed ^ 0x5151);
    tc_batcher *b = tc_batcher_new(train, batch, true, false, (uint64_t)seed + (uint64_t)start_epoch, NULL);
    int64_t step = 0, samples = 0;
    double t0 = now(), train_time = 0, train_loss = NAN, val_loss = NAN, loss_sum = 0;
    int64_t loss_n = 0;
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.tcck", out);
    bool failed = false;
    for (int epoch = (int)start_epoch + 1; epoch <= (int)start_epoch + epochs && !failed; epoch++) {
        tc_tensor *x, *y;
        loss_sum = 0, loss_n = 0;
        double ts = now();
        while ((!iters || step < iters) && tc_batcher_next(b, &x, &y)) {
            tc_zero_grads(net.n_params, net.params);
            tc_tensor *logits = net_forward(&net, x, true, &drop);
            tc_tensor *loss = logits ? tc_sparse_softmax_cross_entropy(logits, y, NULL, TC_REDUCE_MEAN) : NULL;
            if (!loss || tc_backward(loss) != TC_OK || tc_optimizer_step(opt, net.n_params, net.params) != TC_OK) {
                fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
                failed = true;
                break;
            }
            loss_sum += loss->data[0] * (double)y->shape[0];
            loss_n += y->shape[0];
            samples += y->shape[0];
            step++;
            tc_step_reset();
            if (step % 20 == 0) { /* progress, with what is left of this epoch (or of --iters) */
                double el = train_time + now() - ts, rate = samples / el;
                int64_t per_epoch = (ntrain + batch - 1) / batch, in_epoch = step - (int64_t)(epoch - start_epoch - 1) * per_epoch;
                int64_t total = iters && iters - step + in_epoch < per_epoch ? iters - step + in_epoch : per_epoch;
                double left = (double)(total - in_epoch) * (double)batch / fmax(rate, 1e-9);
                fprintf(stderr, "epoch %d/%lld step %lld/%lld loss %.4f nats/char %.0f samples/s, %dm%02ds left\n", epoch,
                        (long long)(start_epoch + epochs), (long long)in_epoch, (long long)total, loss_sum / (double)loss_n,
                        rate, (int)(left / 60), (int)fmod(left, 60));
            }
        }
        train_time += now() - ts; /* training steps only: not validation or sampling */
        if (failed) break;
        train_loss = loss_n ? loss_sum / (double)loss_n : NAN;
        if (val) { /* validation in nats per character */
            bool was = tc_set_grad_enabled(false);
            double vs = 0;
            for (int64_t s0 = 0; s0 < nval; s0 += batch) {
                int64_t rows = nval - s0 < batch ? nval - s0 : batch;
                tc_tensor *vx = tc_copy_of(val->x->data + s0 * T, TC_SHAPE(rows, T));
                tc_tensor *vy = tc_copy_of(val->y->data + s0, TC_SHAPE(rows));
                tc_tensor *l = tc_sparse_softmax_cross_entropy(net_forward(&net, vx, false, &drop), vy, NULL, TC_REDUCE_SUM);
                if (l) vs += l->data[0];
                tc_step_reset();
            }
            val_loss = vs / (double)nval;
            tc_set_grad_enabled(was);
        }
        printf("epoch %d: train loss %.4f, validation loss %.4f nats/char; %.1f samples/s\n", epoch, train_loss, val_loss,
               samples / fmax(train_time, 1e-9));
        /* samples from a random seed sequence of the text */
        int64_t at = (int64_t)tc_rng_below(&drop, (uint64_t)nseq);
        int seed_ids[25];
        for (int t = 0; t < T; t++) seed_ids[t] = char_id(&net, cp[at * STEP + t]);
        for (int k = 0; k < 2; k++) {
            double temp = k ? 0.5 : 1.0;
            printf("----- temperature %.1f, seed: \"", temp);
            for (int t = 0; t < T; t++) put_utf8(stdout, net.chars[seed_ids[t]]);
            printf("\"\n");
            if (generate(&net, seed_ids, T, 600, temp, (uint64_t)seed + (uint64_t)epoch * 2 + (uint64_t)k, stdout) < 0)
                fprintf(stderr, "tensorcook charrnn: sampling: %s\n", tc_last_error());
            printf("\n");
        }
        fflush(stdout);
        if (!net_save(&net, opt, ckpt, epoch)) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            failed = true;
        }
        if (iters && step >= iters) break;
    }
    double secs = now() - t0;
    tc_batcher_free(b);
    tc_dataset_free(train);
    tc_dataset_free(val);
    if (failed) goto done;
    printf("checkpoint: %s (sample with: tensorcook charrnn --sample --checkpoint %s)\n", ckpt, ckpt);
    if (summary) {
        const char *keys[] = {"train_loss", "val_loss", "train_seconds", "samples_per_second", "steps"};
        double vals[] = {train_loss, val_loss, secs, samples / fmax(train_time, 1e-9), (double)step};
        if (!write_summary_json("charrnn", summary, 5, keys, vals)) goto done;
    }
    rc = 0;
done:
    free(sorted);
    free(cp);
    tc_optimizer_free(opt);
    net_free(&net);
    return rc;
}

int charrnn_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
