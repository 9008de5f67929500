/* tensorcook forecast: the cookbook's seq2seq GRU forecaster (bitcoin).
 *   windows of 40 past and 40 future values of every series (USD, EUR, …);
 *   each window normalised by its own past's mean and 2.5 x std; an 80/20
 *   split in time; encoder and decoder of 2 stacked GRU cells of 12 units
 *   (the decoder starts from the encoder's states, with zero inputs) and a
 *   per-step linear output; loss = mean squared error + 0.003 x L2 of the
 *   weights; RMSprop (TF) lr 0.007, decay 0.92, momentum 0.5.
 * Data: a CSV of date,value[,value…] (a header line is allowed), the price
 * API's JSON {"bpi": {"YYYY-MM-DD": value, …}}, or by default a generator of
 * noisy sums of sines. Writes PNG plots of 5 test predictions. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define PAST 40
#define FUTURE 40
#define UNITS 12
#define MAX_SERIES 8

typedef struct {
    int n, f;       /* time steps, series */
    double *v;      /* [n, f] */
} series;

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) buf[n] = '\0', *len = (size_t)n;
    return buf;
}

static bool push(series *s, const double *row, int f, int *cap)
{
    if (s->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        double *g = realloc(s->v, sizeof(double) * (size_t)*cap * (size_t)f);
        if (!g) return false;
        s->v = g;
    }
    memcpy(s->v + (size_t)s->n * (size_t)f, row, sizeof(double) * (size_t)f);
    s->n++;
    return true;
}

/* CSV: date,value[,value...]; the first line may be a header */
static bool read_csv(const char *path, char *text, series *s, char *err, size_t errsz)
{
    int cap = 0, line = 0;
    s->f = 0;
    for (char *ln = strtok(text, "\n"); ln; ln = strtok(NULL, "\n")) {
        line++;
        size_t L = strlen(ln);
        if (L && ln[L - 1] == '\r') ln[--L] = '\0';
        if (!L) continue;
        char *comma = strchr(ln, ',');
        double row[MAX_SERIES];
        int k = 0;
        bool ok = comma != NULL;
        for (char *p = comma; ok && p; p = strchr(p + 1, ',')) {
            char *end;
            double v = strtod(p + 1, &end);
            if (end == p + 1 || (*end && *end != ',') || !isfinite(v) || k == MAX_SERIES) ok = false;
            else row[k++] = v;
        }
        if (!ok && line == 1 && s->n == 0) continue; /* a header */
        if (!ok || (s->f && k != s->f)) {
            snprintf(err, errsz, "%s: line %d: expected date,value%s with %d number(s)", path, line, s->f > 1 ? ",…" : "",
                     s->f ? s->f : 1);
            return false;
        }
        s->f = k;
        if (!push(s, row, k, &cap)) return false;
    }
    return true;
}

/* {"bpi": {"2017-01-01": 997.6888, ...}} */
static bool read_bpi(const char *path, const char *text, series *s, char *err, size_t errsz)
{
    const char *p = strstr(text, "\"bpi\"");
    p = p ? strchr(p, '{') : NULL;
    if (!p) {
        snprintf(err, errsz, "%s: no \"bpi\" object", path);
        return false;
    }
    int cap = 0;
    s->f = 1;
    for (p++;;) {
        while (isspace((unsigned char)*p) || *p == ',') p++;
        if (*p == '}') return true;
        const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
        const char *colon = q ? strchr(q, ':') : NULL;
        char *end;
        double v = colon ? strtod(colon + 1, &end) : NAN;
        if (!colon || end == colon + 1 || !isfinite(v)) {
            snprintf(err, errsz, "%s: malformed \"bpi\" entry at byte %ld", path, (long)(p - text));
            return false;
        }
        if (!push(s, &v, 1, &cap)) return false;
        p = end;
    }
}

static void synthetic(series *s, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    s->n = 3000, s->f = 2;
    s->v = malloc(sizeof(double) * 6000);
    double ph[2][3], fr[2][3];
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++) ph[k][j] = tc_rng_double(&r) * 6.283, fr[k][j] = 0.01 + 0.1 * tc_rng_double(&r);
    for (int t = 0; t < s->n; t++)
        for (int k = 0; k < 2; k++) {
            double v = 0;
            for (int j = 0; j < 3; j++) v += sin(fr[k][j] * t + ph[k][j]) / (j + 1);
            s->v[t * 2 + k] = v + 0.1 * (tc_rng_double(&r) - 0.5);
        }
}

typedef struct {
    tc_tensor *ek[2], *eu[2], *eb[2], *dk[2], *du[2], *db[2], *w, *b;
    tc_tensor *all[14];
    int n;
} seq2seq;

static tc_tensor *param(seq2seq *m, int64_t a, int64_t b, tc_rng *r, bool weight)
{
    tc_tensor *t = b ? tc_tensor_new(TC_SHAPE(a, b)) : tc_tensor_new(TC_SHAPE(a));
    if (t && weight) {
        double lim = sqrt(6.0 / (double)(a + b));
        tc_rng_uniform(r, t->data, tc_numel(t), (tc_scalar)-lim, (tc_scalar)lim);
    }
    if (t) tc_set_requires_grad(t, true);
    m->all[m->n++] = t;
    return t;
}

static tc_tensor *predict(seq2seq *m, tc_tensor *x)
{
    int64_t B = x->shape[0];
    tc_tensor *in = x, *states[2];
    for (int l = 0; l < 2; l++) {
        tc_tensor *seq;
        if (tc_gru(in, m->ek[l], m->eu[l], m->eb[l], NULL, NULL, NULL, &seq, &states[l]) != TC_OK) return NULL;
        in = seq;
    }
    in = tc_zeros(TC_SHAPE(B, FUTURE, x->shape[2])); /* the decoder reads only its states */
    for (int l = 0; l < 2; l++) {
        tc_tensor *seq;
        if (tc_gru(in, m->dk[l], m->du[l], m->db[l], states[l], NULL, NULL, &seq, NULL) != TC_OK) return NULL;
        in = seq;
    }
    return tc_linear(in, m->w, m->b);
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook forecast [--csv FILE | --json FILE] [options]\n"
               "  --csv FILE       date,value[,value...] rows (a header line is allowed)\n"
               "  --json FILE      the price API's {\"bpi\": {\"YYYY-MM-DD\": value, ...}}\n"
               "                   (default: a generator of noisy sums of sines, 2 series)\n"
               "  --iters N [1000] --batch N [32] --lr X [0.007] --seed N --threads N\n"
               "  --out DIR        plots prediction_1..5.png and metrics [out/forecast]\n"
               "  --summary-json FILE\n");
    return rc;
}

int tc_cmd_forecast(int argc, char **argv)
{
    const char *csv = NULL, *json = NULL, *out = "out/forecast", *summary = NULL;
    long long iters = 1000, batch = 32, seed = 42, threads = 0;
    double lr = 0.007;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_str(argc, argv, &i, "--csv", &csv) || opt_str(argc, argv, &i, "--json", &json) ||
            opt_str(argc, argv, &i, "--out", &out) || opt_str(argc, argv, &i, "--summary-json", &summary))
            continue;
        if (opt_int(argc, argv, &i, "--iters", &iters, &bad) || opt_int(argc, argv, &i, "--batch", &batch, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook forecast: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || iters < 1 || batch < 1 || lr <= 0 || (csv && json)) return usage(stderr, 2);
    set_threads("forecast", threads);
    series s = {0};
    char err[512] = "";
    if (csv || json) {
        size_t len;
        char *text = slurp(csv ? csv : json, &len);
        if (!text) {
            fprintf(stderr, "tensorcook forecast: %s: cannot read: %s\n", csv ? csv : json, strerror(errno));
            return 1;
        }
        bool ok = csv ? read_csv(csv, text, &s, err, sizeof err) : read_bpi(json, text, &s, err, sizeof err);
        free(text);
        if (!ok) {
            fprintf(stderr, "tensorcook forecast: %s\n", err[0] ? err : "out of memory");
            free(s.v);
            return 1;
        }
    } else {
        synthetic(&s, (uint64_t)seed);
    }
    int64_t nwin = s.n - PAST - FUTURE + 1;
    if (nwin < 10) {
        fprintf(stderr, "tensorcook forecast: %s has %d time steps; need at least %d\n", csv ? csv : json ? json : "data",
                s.n, PAST + FUTURE + 9);
        free(s.v);
        return 1;
    }
    /* windows, each normalised by its own past */
    int F = s.f;
    tc_tensor *X = tc_tensor_new(TC_SHAPE(nwin, PAST, F)), *Y = tc_tensor_new(TC_SHAPE(nwin, FUTURE, F));
    for (int64_t w = 0; w < nwin; w++)
        for (int k = 0; k < F; k++) {
            double m = 0, sd = 0;
            for (int t = 0; t < PAST; t++) m += s.v[(w + t) * F + k];
            m /= PAST;
            for (int t = 0; t < PAST; t++) sd += pow(s.v[(w + t) * F + k] - m, 2);
            sd = 2.5 * sqrt(sd / PAST) + 1e-8;
            for (int t = 0; t < PAST; t++) X->data[(w * PAST + t) * F + k] = (tc_scalar)((s.v[(w + t) * F + k] - m) / sd);
            for (int t = 0; t < FUTURE; t++)
                Y->data[(w * FUTURE + t) * F + k] = (tc_scalar)((s.v[(w + PAST + t) * F + k] - m) / sd);
        }
    int64_t ntrain = nwin * 8 / 10, ntest = nwin - ntrain;
    printf("%d time steps of %d series: %lld training and %lld test windows (80/20 in time)\n", s.n, F, (long long)ntrain,
           (long long)ntest);
    int rc = 1;
    tc_rng r = tc_rng_new((uint64_t)seed);
    seq2seq m = {0};
    for (int l = 0; l < 2; l++) {
        int64_t in = l ? UNITS : F;
        m.ek[l] = param(&m, in, 3 * UNITS, &r, true), m.eu[l] = param(&m, UNITS, 3 * UNITS, &r, true);
        m.eb[l] = param(&m, 3 * UNITS, 0, &r, false);
        m.dk[l] = param(&m, in, 3 * UNITS, &r, true), m.du[l] = param(&m, UNITS, 3 * UNITS, &r, true);
        m.db[l] = param(&m, 3 * UNITS, 0, &r, false);
    }
    m.w = param(&m, UNITS, F, &r, true);
    m.b = param(&m, F, 0, &r, false);
    tc_optimizer *opt = tc_rmsprop(lr, 0.92, 0.5, 1e-10);
    if (!prepare_out_dir("forecast", out)) goto done;
    double train_loss = NAN, test_loss = NAN;
    for (int64_t it = 1; it <= iters; it++) {
        tc_tensor *xb = tc_empty(TC_SHAPE(batch, PAST, F)), *yb = tc_empty(TC_SHAPE(batch, FUTURE, F));
        for (int64_t i = 0; i < batch; i++) {
            int64_t w = (int64_t)tc_rng_below(&r, (uint64_t)ntrain);
            memcpy(xb->data + i * PAST * F, X->data + w * PAST * F, sizeof(tc_scalar) * PAST * (size_t)F);
            memcpy(yb->data + i * FUTURE * F, Y->data + w * FUTURE * F, sizeof(tc_scalar) * FUTURE * (size_t)F);
        }
        tc_zero_grads(m.n, m.all);
        tc_tensor *pred = predict(&m, xb), *reg = NULL;
        for (int i = 0; i < m.n; i++)
            if (m.all[i]->ndim == 2) reg = reg ? tc_add(reg, tc_l2_loss(m.all[i])) : tc_l2_loss(m.all[i]);
        tc_tensor *mse = pred ? tc_mse(pred, yb, TC_REDUCE_MEAN) : NULL;
        tc_tensor *loss = mse && reg ? tc_add(mse, tc_mul_scalar(reg, 0.003f)) : NULL;
        if (!loss || tc_backward(loss) != TC_OK || tc_optimizer_step(opt, m.n, m.all) != TC_OK) {
            fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
            goto done;
        }
        train_loss = mse->data[0];
        tc_step_reset();
        if (it % 100 == 0 || it == iters) {
            bool was = tc_set_grad_enabled(false);
            tc_tensor *tx = tc_copy_of(X->data + ntrain * PAST * F, TC_SHAPE(ntest, PAST, F));
            tc_tensor *ty = tc_copy_of(Y->data + ntrain * FUTURE * F, TC_SHAPE(ntest, FUTURE, F));
            tc_tensor *tl = tc_mse(predict(&m, tx), ty, TC_REDUCE_MEAN);
            test_loss = tl ? tl->data[0] : NAN;
            tc_set_grad_enabled(was);
            tc_step_reset();
            printf("Step %lld/%lld, train MSE %.5f, test MSE %.5f\n", (long long)it, (long long)iters, train_loss, test_loss);
            fflush(stdout);
        }
    }
    /* five test predictions against the truth (first series) */
    bool was = tc_set_grad_enabled(false);
    for (int k = 0; k < 5; k++) {
        int64_t w = ntrain + (ntest - 1) * k / 4;
        tc_tensor *pred = predict(&m, tc_copy_of(X->data + w * PAST * F, TC_SHAPE(1, PAST, F)));
        if (!pred) break;
        double xs[PAST + FUTURE], past[PAST + FUTURE], truth[PAST + FUTURE], guess[PAST + FUTURE];
        for (int t = 0; t < PAST + FUTURE; t++) {
            xs[t] = t - PAST;
            past[t] = t < PAST ? X->data[(w * PAST + t) * F] : NAN;
            truth[t] = t >= PAST ? Y->data[(w * FUTURE + t - PAST) * F] : NAN;
            guess[t] = t >= PAST ? pred->data[(t - PAST) * F] : NAN;
        }
        tc_plot_line lines[3] = {{"past (input)", PAST + FUTURE, xs, past, 0.12, 0.47, 0.71, false},
                                 {"true future", PAST + FUTURE, xs, truth, 0.17, 0.63, 0.17, false},
                                 {"prediction", PAST + FUTURE, xs, guess, 0.84, 0.15, 0.16, true}};
        char path[4200], title[96];
        snprintf(path, sizeof path, "%s/prediction_%d.png", out, k + 1);
        snprintf(title, sizeof title, "test window %lld: 40 steps ahead", (long long)(w - ntrain));
        if (tc_plot_lines(path, title, "time step", "normalised value", 3, lines) != TC_OK) {
            fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
            tc_set_grad_enabled(was);
            goto done;
        }
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    printf("final train MSE %.5f, test MSE %.5f; plots: %s/prediction_1..5.png\n", train_loss, test_loss, out);
    if (summary) {
        const char *keys[] = {"train_loss", "test_loss"};
        double vals[] = {train_loss, test_loss};
        if (!write_summary_json("forecast", summary, 2, keys, vals)) goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < m.n; i++) tc_tensor_free(m.all[i]);
    tc_optimizer_free(opt);
    tc_tensor_free(X);
    tc_tensor_free(Y);
    free(s.v);
    return rc;
}
