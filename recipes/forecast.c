/* tensorcook forecast: the cookbook's seq2seq GRU forecaster (bitcoin).
 *   windows of 40 past and 40 future values of every series (USD, EUR, …);
 *   each window normalised by its own past's mean and 2.5 x std; an 80/20
 *   split in time; encoder and decoder of 2 stacked GRU cells of 12 units
 *   (the decoder starts from the encoder's states, with zero inputs) and a
 *   per-step linear output; loss = mean squared error + 0.003 x L2 of the
 *   weights; RMSprop (TF) lr 0.007, decay 0.92, momentum 0.5.
 * Data: a CSV of date,value[,value…] (a header line is allowed), the price
 * API's JSON {"bpi": {"YYYY-MM-DD": value, …}}, or by default a generator of
 * noisy sums of sines. Writes PNG plots of 5 test predictions and the
 * checkpoint (the model's shape under extra/forecast/, so that
 * `tensorcook onnx export` can rebuild it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define PAST 40
#define FUTURE 40
#define UNITS 12 /* GRU units */
#define LAYERS 2 /* stacked GRUs in the encoder and in the decoder */

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook forecast [--csv FILE | --json FILE] [options]\n"
               "  --csv FILE       date,value[,value...] rows (a header line is allowed)\n"
               "  --json FILE      the price API's {\"bpi\": {\"YYYY-MM-DD\": value, ...}}\n"
               "                   (default: a generator of noisy sums of sines, 2 series)\n"
               "  --iters N [1000] --batch N [32] --lr X [0.007] --seed N --threads N\n"
               "  --out DIR        plots prediction_1..5.png and checkpoint.tcck [out/forecast]\n"
               "  --summary-json FILE\n");
    return rc;
}

/* The forecasts for windows [w, w + n) of X (the decoder reads zeros), a step tensor. */
static tc_tensor *forecast(tc_model *m, const tc_tensor *X, int64_t w, int64_t n, bool training)
{
    int64_t F = X->shape[2];
    tc_tensor *in[2] = {tc_copy_of(X->data + w * PAST * F, TC_SHAPE(n, PAST, F)), tc_zeros(TC_SHAPE(n, FUTURE, F))}, *pred;
    return in[0] && in[1] && tc_model_forward_multi(m, 2, in, training, 1, &pred) == TC_OK ? pred : NULL;
}

/* One training batch: windows drawn from the training part; the loss is the
 * MSE plus 0.003 x the L2 of the weights (every 2-D parameter). */
typedef struct {
    tc_model *m;
    const tc_tensor *X, *Y;
    int64_t ntrain, batch;
    tc_rng *r;
    double mse;
} batch_loss;

static tc_tensor *regularised_mse(void *ctx)
{
    batch_loss *c = ctx;
    int64_t F = c->X->shape[2];
    tc_tensor *xb = tc_empty(TC_SHAPE(c->batch, PAST, F)), *yb = tc_empty(TC_SHAPE(c->batch, FUTURE, F));
    if (!xb || !yb) return NULL;
    for (int64_t i = 0; i < c->batch; i++) {
        int64_t w = (int64_t)tc_rng_below(c->r, (uint64_t)c->ntrain);
        memcpy(xb->data + i * PAST * F, c->X->data + w * PAST * F, sizeof(tc_scalar) * PAST * (size_t)F);
        memcpy(yb->data + i * FUTURE * F, c->Y->data + w * FUTURE * F, sizeof(tc_scalar) * FUTURE * (size_t)F);
    }
    tc_tensor *in[2] = {xb, tc_zeros(TC_SHAPE(c->batch, FUTURE, F))}, *pred, *reg = NULL;
    if (tc_model_forward_multi(c->m, 2, in, true, 1, &pred) != TC_OK) return NULL;
    for (int i = 0; i < tc_model_param_count(c->m); i++) {
        tc_tensor *p = tc_model_param(c->m, i);
        if (p->ndim == 2) reg = reg ? tc_add(reg, tc_l2_loss(p)) : tc_l2_loss(p);
    }
    tc_tensor *mse = tc_mse(pred, yb, TC_REDUCE_MEAN);
    if (!mse || !reg) return NULL;
    c->mse = mse->data[0];
    return tc_add(mse, tc_mul_scalar(reg, 0.003f));
}

/* MSE over the test windows (inference; the step's memory released after) */
static double test_mse(tc_model *m, const tc_tensor *X, const tc_tensor *Y, int64_t ntrain)
{
    int64_t n = X->shape[0] - ntrain, F = X->shape[2];
    tc_step_mark mark = tc_step_get_mark();
    bool was = tc_set_grad_enabled(false);
    tc_tensor *ty = tc_copy_of(Y->data + ntrain * FUTURE * F, TC_SHAPE(n, FUTURE, F));
    tc_tensor *l = ty ? tc_mse(forecast(m, X, ntrain, n, false), ty, TC_REDUCE_MEAN) : NULL;
    double v = l ? l->data[0] : NAN;
    tc_set_grad_enabled(was);
    tc_step_release(mark);
    return v;
}

/* The first series of test window w: past, truth and prediction */
static bool plot_window(tc_model *m, const tc_tensor *X, const tc_tensor *Y, int64_t w, int64_t ntrain, const char *path)
{
    int64_t F = X->shape[2];
    tc_step_mark mark = tc_step_get_mark();
    bool was = tc_set_grad_enabled(false);
    tc_tensor *pred = forecast(m, X, w, 1, false);
    double xs[PAST + FUTURE], past[PAST + FUTURE], truth[PAST + FUTURE], guess[PAST + FUTURE];
    for (int t = 0; pred && t < PAST + FUTURE; t++) {
        xs[t] = t - PAST;
        past[t] = t < PAST ? X->data[(w * PAST + t) * F] : NAN;
        truth[t] = t >= PAST ? Y->data[(w * FUTURE + t - PAST) * F] : NAN;
        guess[t] = t >= PAST ? pred->data[(t - PAST) * F] : NAN;
    }
    tc_plot_line lines[3] = {{"past (input)", PAST + FUTURE, xs, past, 0.12, 0.47, 0.71, false},
                             {"true future", PAST + FUTURE, xs, truth, 0.17, 0.63, 0.17, false},
                             {"prediction", PAST + FUTURE, xs, guess, 0.84, 0.15, 0.16, true}};
    char title[96];
    snprintf(title, sizeof title, "test window %lld: 40 steps ahead", (long long)(w - ntrain));
    bool ok = pred && tc_plot_lines(path, title, "time step", "normalised value", 3, lines) == TC_OK;
    tc_set_grad_enabled(was);
    tc_step_release(mark);
    return ok;
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
    tc_series *s = csv ? tc_load_series_csv(csv) : json ? tc_load_series_bpi_json(json) : tc_series_synthetic(3000, 2, (uint64_t)seed);
    if (!s) {
        fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
        return 1;
    }
    if (s->steps - PAST - FUTURE + 1 < 10) {
        fprintf(stderr, "tensorcook forecast: %s has %lld time steps; need at least %d\n", csv ? csv : json ? json : "data",
                (long long)s->steps, PAST + FUTURE + 9);
        tc_series_free(s);
        return 1;
    }
    int rc = 1;
    tc_tensor *X = NULL, *Y = NULL; /* windows, each normalised by its own past */
    tc_nn_seed((uint64_t)seed);
    tc_model *m = tc_seq2seq_gru(&(tc_seq2seq_gru_opts){.series = s->series, .past = PAST, .future = FUTURE, .units = UNITS, .layers = LAYERS});
    tc_optimizer *opt = tc_rmsprop(lr, 0.92, 0.5, 1e-10);
    if (!m || !opt || tc_series_windows(s, PAST, FUTURE, 2.5, &X, &Y) != TC_OK) {
        fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
        goto done;
    }
    int64_t nwin = X->shape[0], ntrain = nwin * 8 / 10, ntest = nwin - ntrain;
    printf("%lld time steps of %d series: %lld training and %lld test windows (80/20 in time)\n", (long long)s->steps, s->series,
           (long long)ntrain, (long long)ntest);
    if (!prepare_out_dir("forecast", out)) goto done;
    tc_rng r = tc_rng_new((uint64_t)seed);
    batch_loss bl = {m, X, Y, ntrain, batch, &r, NAN};
    double test_loss = NAN;
    for (int64_t it = 1; it <= iters; it++) {
        if (tc_model_train_step(m, opt, regularised_mse, &bl, NULL) != TC_OK) {
            fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
            goto done;
        }
        if (it % 100 == 0 || it == iters) {
            test_loss = test_mse(m, X, Y, ntrain);
            printf("Step %lld/%lld, train MSE %.5f, test MSE %.5f\n", (long long)it, (long long)iters, bl.mse, test_loss);
            fflush(stdout);
        }
    }
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.tcck", out);
    tc_checkpoint *extra = tc_checkpoint_new();
    const char *shape_keys[] = {"forecast/series", "forecast/past", "forecast/future", "forecast/units", "forecast/layers"};
    const double shape[] = {s->series, PAST, FUTURE, UNITS, LAYERS};
    bool saved = extra != NULL;
    for (int k = 0; saved && k < 5; k++) saved = tc_checkpoint_put_scalar(extra, shape_keys[k], shape[k]) == TC_OK;
    saved = saved && tc_checkpoint_save_model(m, opt, ckpt, extra) == TC_OK;
    tc_checkpoint_free(extra);
    if (!saved) {
        fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
        goto done;
    }
    for (int k = 0; k < 5; k++) { /* five test predictions against the truth (first series) */
        char path[4200];
        snprintf(path, sizeof path, "%s/prediction_%d.png", out, k + 1);
        if (!plot_window(m, X, Y, ntrain + (ntest - 1) * k / 4, ntrain, path)) {
            fprintf(stderr, "tensorcook forecast: %s\n", tc_last_error());
            goto done;
        }
    }
    printf("final train MSE %.5f, test MSE %.5f; plots: %s/prediction_1..5.png; checkpoint: %s\n", bl.mse, test_loss, out, ckpt);
    if (summary) {
        const char *keys[] = {"train_loss", "test_loss"};
        double vals[] = {bl.mse, test_loss};
        if (!write_summary_json("forecast", summary, 2, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_model_free(m);
    tc_optimizer_free(opt);
    tc_tensor_free(X);
    tc_tensor_free(Y);
    tc_series_free(s);
    return rc;
}
