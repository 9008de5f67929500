/* fit / evaluate / predict. Each training step runs in the step arena and
 * releases it after the optimizer update, so steady-state steps do not
 * malloc. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/io.h"
#include "tensorcook/train.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static tc_tensor *loss_of(tc_loss_kind k, tc_tensor *out, tc_tensor *y)
{
    switch (k) {
    case TC_LOSS_SPARSE_CE: return tc_sparse_softmax_cross_entropy(out, y, NULL, TC_REDUCE_MEAN);
    case TC_LOSS_BINARY_CE:
        return tc_sigmoid_cross_entropy(out, tc_reshape(y, out->ndim, out->shape), NULL, TC_REDUCE_MEAN);
    default: return tc_mse(out, tc_reshape(y, out->ndim, out->shape), TC_REDUCE_MEAN);
    }
}

/* correct predictions in a batch */
static int64_t correct(tc_loss_kind k, const tc_tensor *out, const tc_tensor *y)
{
    int64_t n = y->shape[0], c = 0, classes = out->shape[out->ndim - 1];
    if (k == TC_LOSS_MSE) return 0;
    for (int64_t i = 0; i < n; i++) {
        const tc_scalar *o = out->data + i * classes;
        if (k == TC_LOSS_BINARY_CE) {
            c += (o[0] > 0) == (y->data[i] > 0.5f);
            continue;
        }
        int64_t best = 0;
        for (int64_t j = 1; j < classes; j++)
            if (o[j] > o[best]) best = j;
        c += best == (int64_t)y->data[i];
    }
    return c;
}

tc_status tc_evaluate(tc_model *m, const tc_dataset *d, tc_loss_kind loss, int64_t batch, int64_t max_examples,
                      double *mean_loss, double *accuracy)
{
    if (!m || !d || !d->y || batch < 1) return tc_error(TC_ERR_ARG, "evaluate: NULL model/data, no labels or batch < 1");
    int64_t n = tc_dataset_size(d);
    if (max_examples > 0 && max_examples < n) n = max_examples;
    if (n < 1) return tc_error(TC_ERR_ARG, "evaluate: empty data set");
    bool was = tc_set_grad_enabled(false);
    tc_step_mark mark = tc_step_get_mark();
    double total = 0;
    int64_t hits = 0, per_x = tc_numel(d->x) / tc_dataset_size(d), per_y = tc_numel(d->y) / tc_dataset_size(d);
    tc_status s = TC_OK;
    for (int64_t start = 0; start < n && s == TC_OK; start += batch) {
        int64_t rows = n - start < batch ? n - start : batch;
        int64_t xs[TC_MAX_DIMS], ys[TC_MAX_DIMS];
        memcpy(xs, d->x->shape, sizeof xs);
        memcpy(ys, d->y->shape, sizeof ys);
        xs[0] = ys[0] = rows;
        tc_tensor *x = tc_view_of(d->x->data, start * per_x, d->x->ndim, xs, (int64_t[TC_MAX_DIMS]){0});
        tc_tensor *y = tc_view_of(d->y->data, start * per_y, d->y->ndim, ys, (int64_t[TC_MAX_DIMS]){0});
        if (!x || !y) {
            s = tc_last_status();
            break;
        }
        tc_contiguous_strides(x->ndim, x->shape, x->strides);
        tc_contiguous_strides(y->ndim, y->shape, y->strides);
        tc_tensor *out = tc_model_forward(m, x, false);
        tc_tensor *l = out ? loss_of(loss, out, y) : NULL;
        if (!l) {
            s = tc_last_status();
            break;
        }
        total += l->data[0] * (double)rows;
        hits += correct(loss, out, y);
        tc_step_release(mark);
    }
    tc_step_release(mark);
    tc_set_grad_enabled(was);
    if (s) return s;
    if (mean_loss) *mean_loss = total / (double)n;
    if (accuracy) *accuracy = (double)hits / (double)n;
    return TC_OK;
}

tc_tensor *tc_predict(tc_model *m, const tc_tensor *x, int64_t batch)
{
    if (!m || !x || batch < 1 || x->ndim < 1) {
        tc_error(TC_ERR_ARG, "predict: NULL model/input or batch < 1");
        return NULL;
    }
    bool was = tc_set_grad_enabled(false);
    tc_step_mark mark = tc_step_get_mark();
    int64_t n = x->shape[0], per = n ? tc_numel(x) / n : 0;
    tc_tensor *result = NULL;
    for (int64_t start = 0; start < n; start += batch) {
        int64_t rows = n - start < batch ? n - start : batch, xs[TC_MAX_DIMS];
        memcpy(xs, x->shape, sizeof xs);
        xs[0] = rows;
        const tc_scalar *xd = tc_packed(x);
        tc_tensor *out = xd ? tc_model_forward(m, tc_copy_of(xd + start * per, x->ndim, xs), false) : NULL;
        if (!out) {
            tc_tensor_free(result);
            result = NULL;
            break;
        }
        if (!result) {
            int64_t rs[TC_MAX_DIMS];
            memcpy(rs, out->shape, sizeof rs);
            rs[0] = n;
            result = tc_tensor_new(out->ndim, rs);
            if (!result) break;
        }
        tc_read_values(out, result->data + start * (tc_numel(out) / rows));
        tc_step_release(mark);
    }
    tc_step_release(mark);
    tc_set_grad_enabled(was);
    return result;
}

/* ---- fit ------------------------------------------------------------------------------- */
/* one batch of fit, for tc_train_step */
typedef struct {
    tc_model *m;
    tc_loss_kind kind;
    tc_tensor *x, *y;
    double accuracy; /* read while the outputs are alive */
} fit_batch;

static tc_tensor *batch_loss(void *ctx)
{
    fit_batch *fb = ctx;
    tc_tensor *out = tc_model_forward(fb->m, fb->x, true);
    tc_tensor *l = out ? loss_of(fb->kind, out, fb->y) : NULL;
    if (l) fb->accuracy = (double)correct(fb->kind, out, fb->y) / (double)fb->y->shape[0];
    return l;
}

typedef struct {
    tc_metrics *rows;
    int n, cap;
} history;

static void record(history *h, const tc_metrics *r)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 256;
        tc_metrics *g = realloc(h->rows, sizeof *g * (size_t)cap);
        if (!g) return;
        h->rows = g;
        h->cap = cap;
    }
    h->rows[h->n++] = *r;
}

static void progress(FILE *f, bool tty, int epoch, int epochs, int64_t step, int64_t steps, double loss, double acc,
                     double ips, double eta, bool end)
{
    if (!f) return;
    if (tty) {
        fprintf(f, "\rEpoch %d/%d  step %lld/%lld  loss %.4f  acc %.4f  %.0f ex/s  ETA %.0fs   %s", epoch, epochs,
                (long long)step, (long long)steps, loss, acc, ips, eta, end ? "\n" : "");
    } else {
        fprintf(f, "epoch %d/%d step %lld/%lld loss %.4f acc %.4f %.0f examples/s ETA %.0fs\n", epoch, epochs,
                (long long)step, (long long)steps, loss, acc, ips, eta);
    }
    fflush(f);
}

static tc_status write_outputs(const tc_fit_opts *o, const history *h, const char *title)
{
    tc_status s = TC_OK;
    if (o->csv_path && (s = tc_write_metrics_csv(o->csv_path, h->n, h->rows))) return s;
    if (o->plot_prefix && (s = tc_plot_metrics(o->plot_prefix, h->n, h->rows, title))) return s;
    if (o->tensorboard_dir && (s = tc_write_tensorboard(o->tensorboard_dir, h->n, h->rows))) return s;
    return TC_OK;
}

tc_status tc_fit(tc_model *m, const tc_dataset *train, const tc_fit_opts *opts, tc_fit_result *result)
{
    if (!m || !train || !opts || !opts->optimizer || !train->y)
        return tc_error(TC_ERR_ARG, "fit: needs a model, a labelled training set and an optimizer");
    tc_fit_opts o = *opts;
    if (o.epochs < 1) o.epochs = 1;
    if (o.batch < 1) o.batch = 32;
    if (o.log_every < 1) o.log_every = 10;
    tc_dataset *split_train = NULL, *split_val = NULL;
    const tc_dataset *tr = train, *val = o.validation;
    if (!val && o.validation_split > 0) {
        /* a copy, so the caller's data set is left as it was */
        split_train = calloc(1, sizeof *split_train);
        split_train->x = tc_tensor_keep(train->x);
        split_train->y = tc_tensor_keep(train->y);
        split_train->classes = train->classes;
        if (tc_dataset_split(split_train, o.validation_split, &split_val) != TC_OK) {
            tc_dataset_free(split_train);
            return tc_last_status();
        }
        tr = split_train;
        val = split_val;
    }
    tc_batcher *b = tc_batcher_new(tr, o.batch, !o.no_shuffle, false, o.seed, o.augment);
    if (!b) {
        tc_dataset_free(split_train);
        tc_dataset_free(split_val);
        return tc_last_status();
    }
    int64_t per_epoch = tc_batcher_batches_per_epoch(b);
    int64_t total = o.iterations > 0 ? o.iterations : per_epoch * o.epochs;
    int epochs = o.iterations > 0 ? (int)((o.iterations + per_epoch - 1) / per_epoch) : o.epochs;
    bool tty = o.progress && isatty(fileno(o.progress));
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    history h = {0};
    tc_status s = TC_OK;
    double t0 = now(), best_val = INFINITY, best_acc = -1;
    int64_t step = 0, examples = 0;
    int stale = 0;
    double loss = NAN, acc = NAN, vloss = NAN, vacc = NAN;
    double ev_loss = NAN, ev_acc = NAN; /* the epoch's latest evaluation, for its end-of-epoch callbacks */
    tc_fit_result r = {0};
    for (int epoch = o.initial_epoch + 1; step < total && s == TC_OK; epoch++) {
        tc_tensor *x, *y;
        bool evaluated = false;
        while (step < total && tc_batcher_next(b, &x, &y)) {
            fit_batch fb = {m, o.loss, x, y, NAN};
            s = tc_train_step(o.optimizer, np, params, batch_loss, &fb, &loss);
            step++;
            if (s != TC_OK) {
                if (!isfinite(loss))
                    s = tc_error(TC_ERR_STATE, "fit: the loss became %g at step %lld (learning rate too high?)", loss,
                                 (long long)step);
                break;
            }
            acc = fb.accuracy;
            examples += y->shape[0];
            bool eval_now = val && o.eval_every > 0 && step % o.eval_every == 0;
            vloss = vacc = NAN;
            if (eval_now) {
                if ((s = tc_evaluate(m, val, o.loss, o.batch, o.eval_max_examples, &vloss, &vacc))) break;
                evaluated = true;
                ev_loss = vloss, ev_acc = vacc;
            }
            if (step % o.log_every == 0 || eval_now || step == total) {
                tc_metrics row = {step, epoch, loss, acc, vloss, vacc, now() - t0};
                record(&h, &row);
                if (o.on_metrics) o.on_metrics(&row, o.ctx);
            }
            double el = now() - t0, ips = examples / (el > 0 ? el : 1e-9);
            if (tty || step % (o.log_every * 10) == 0 || step == total)
                progress(o.progress, tty, epoch, o.initial_epoch + epochs, step, total, loss, acc, ips,
                         (double)(total - step) * (el / (double)step), false);
        }
        if (s) break;
        if (val && o.eval_every == 0) {
            if ((s = tc_evaluate(m, val, o.loss, o.batch, o.eval_max_examples, &vloss, &vacc))) break;
            ev_loss = vloss, ev_acc = vacc;
            tc_metrics row = {step, epoch, loss, acc, vloss, vacc, now() - t0};
            record(&h, &row);
            if (o.on_metrics) o.on_metrics(&row, o.ctx);
            evaluated = true;
        }
        if (o.progress && tty) fprintf(o.progress, "\n");
        if (o.progress && evaluated)
            fprintf(o.progress, "epoch %d: loss %.4f acc %.4f val_loss %.4f val_acc %.4f\n", epoch, loss, acc, ev_loss, ev_acc);
        if (o.checkpoint_path && (s = tc_save_model(o.checkpoint_path, m, o.optimizer))) break;
        if (evaluated && o.best_checkpoint_path && ev_acc > best_acc) {
            best_acc = ev_acc;
            if ((s = tc_save_model(o.best_checkpoint_path, m, o.optimizer))) break;
        }
        r.epochs = epoch - o.initial_epoch;
        if (evaluated && o.early_stopping_patience > 0) {
            if (ev_loss < best_val - 1e-12) best_val = ev_loss, stale = 0;
            else if (++stale >= o.early_stopping_patience) {
                r.stopped_early = true;
                break;
            }
        }
    }
    tc_batcher_free(b);
    double el = now() - t0;
    if (s == TC_OK) s = write_outputs(&o, &h, tc_model_name(m));
    r.steps = step;
    r.train_seconds = el;
    r.examples_per_second = examples / (el > 0 ? el : 1e-9);
    r.loss = loss, r.accuracy = acc, r.val_loss = ev_loss, r.val_accuracy = ev_acc;
    if (result) *result = r;
    free(h.rows);
    tc_dataset_free(split_train);
    tc_dataset_free(split_val);
    return s;
}
