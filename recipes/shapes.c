/* tensorcook shapes: the cookbook's four RNN shapes, each built, trained a
 * few steps on synthetic data, and reported with its summary and output
 * shape:
 *   one-to-one    Dense
 *   one-to-many   RepeatVector + LSTM(return_sequences) + Dense per step
 *   many-to-one   LSTM -> vector -> Dense
 *   many-to-many  LSTM(return_sequences) + Dense per step */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook shapes [--steps N] [--seed N] [--threads N]\n"
               "builds the one-to-one, one-to-many, many-to-one and many-to-many models, trains each\n"
               "for --steps steps [20] on synthetic data (MSE, Adam) and prints its summary and output shape\n");
    return rc;
}

/* targets: a smooth function of the inputs, so a few steps lower the loss */
static tc_tensor *make(tc_rng *r, int ndim, const int64_t *shape)
{
    tc_tensor *t = tc_tensor_new(ndim, shape);
    if (t) tc_rng_uniform(r, t->data, tc_numel(t), -1, 1);
    return t;
}

typedef struct {
    tc_model *m;
    tc_tensor *x, *y;
    char shape[TC_SHAPE_STR_MAX]; /* of the prediction */
} step_data;

static tc_tensor *mse_loss(void *ctx)
{
    step_data *d = ctx;
    tc_tensor *pred = tc_model_forward(d->m, d->x, true);
    if (pred) tc_shape_str(pred, d->shape, sizeof d->shape);
    return pred ? tc_mse(pred, d->y, TC_REDUCE_MEAN) : NULL;
}

static bool train_and_report(tc_model *m, int64_t batch, int steps, uint64_t seed)
{
    if (!m) {
        fprintf(stderr, "tensorcook shapes: %s\n", tc_last_error());
        return false;
    }
    tc_model_summary(m, stdout);
    int64_t in[TC_MAX_DIMS], out[TC_MAX_DIMS];
    int ri = tc_model_input_shape(m, 0, in + 1), ro = tc_model_output_shape(m, 0, out + 1);
    in[0] = out[0] = batch;
    tc_rng r = tc_rng_new(seed);
    step_data d = {m, make(&r, ri + 1, in), make(&r, ro + 1, out)};
    tc_optimizer *opt = tc_adam(0.01);
    double first = 0, last = 0;
    bool ok = d.x && d.y && opt;
    for (int s = 0; ok && s < steps; s++) {
        ok = tc_model_train_step(m, opt, mse_loss, &d, &last) == TC_OK;
        if (s == 0) first = last;
    }
    if (ok) printf("output shape %s; MSE %.4f -> %.4f after %d steps\n\n", d.shape, first, last, steps);
    else fprintf(stderr, "tensorcook shapes: %s: %s\n", tc_model_name(m), tc_last_error());
    tc_optimizer_free(opt);
    tc_tensor_free(d.x);
    tc_tensor_free(d.y);
    tc_model_free(m);
    return ok;
}

int tc_cmd_shapes(int argc, char **argv)
{
    long long steps = 20, seed = 42, threads = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_int(argc, argv, &i, "--steps", &steps, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
            opt_int(argc, argv, &i, "--threads", &threads, &bad))
            continue;
        fprintf(stderr, "tensorcook shapes: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || steps < 1) return usage(stderr, 2);
    set_threads("shapes", threads);
    tc_nn_seed((uint64_t)seed);
    const int64_t T = 10, F = 4, H = 16, B = 32;
    bool ok = true;
    printf("== one-to-one\n");
    ok &= train_and_report(tc_sequential_with_input("one_to_one", 1, (int64_t[]){F}, (tc_layer *[]){
                               tc_dense(&(tc_dense_opts){.units = H, .act = TC_RELU}),
                               tc_dense(&(tc_dense_opts){.units = 2}), NULL}), B, (int)steps, (uint64_t)seed);
    printf("== one-to-many\n");
    ok &= train_and_report(tc_sequential_with_input("one_to_many", 1, (int64_t[]){F}, (tc_layer *[]){
                               tc_repeat_vector((int)T, NULL),
                               tc_lstm_layer(&(tc_rnn_opts){.units = (int)H, .return_sequences = true}),
                               tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2}), NULL), NULL}), B, (int)steps,
                           (uint64_t)seed + 1);
    printf("== many-to-one\n");
    ok &= train_and_report(tc_sequential_with_input("many_to_one", 2, (int64_t[]){T, F}, (tc_layer *[]){
                               tc_lstm_layer(&(tc_rnn_opts){.units = (int)H}),
                               tc_dense(&(tc_dense_opts){.units = 2}), NULL}), B, (int)steps, (uint64_t)seed + 2);
    printf("== many-to-many\n");
    ok &= train_and_report(tc_sequential_with_input("many_to_many", 2, (int64_t[]){T, F}, (tc_layer *[]){
                               tc_lstm_layer(&(tc_rnn_opts){.units = (int)H, .return_sequences = true}),
                               tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2}), NULL), NULL}), B, (int)steps,
                           (uint64_t)seed + 3);
    return ok ? 0 : 1;
}
