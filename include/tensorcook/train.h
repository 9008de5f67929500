/* Training: fit / evaluate / predict, progress, metric logs (CSV,
 * TensorBoard event files, PNG plots) and callbacks (checkpoints, early
 * stopping). The library writes progress only to the FILE the caller gives. */
#ifndef TENSORCOOK_TRAIN_H
#define TENSORCOOK_TRAIN_H

#include "core.h"
#include "data.h"
#include "nn.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TC_LOSS_SPARSE_CE = 0, /* softmax cross-entropy on logits, integer labels */
    TC_LOSS_BINARY_CE,     /* sigmoid cross-entropy on logits, 0/1 labels */
    TC_LOSS_MSE
} tc_loss_kind;

/* One row of the training history. val_* are NaN when not evaluated. */
typedef struct {
    int64_t step;
    int epoch;
    double loss, accuracy;         /* of the last training batch */
    double val_loss, val_accuracy;
    double seconds;                /* since fit started */
} tc_metrics;

typedef struct {
    int epochs;                    /* default 1 */
    int64_t iterations;            /* > 0: train this many steps instead of whole epochs */
    int64_t batch;                 /* default 32 */
    bool no_shuffle;
    uint64_t seed;                 /* shuffling and augmentation */
    tc_optimizer *optimizer;       /* required */
    tc_loss_kind loss;
    const tc_dataset *validation;  /* or validation_split of the training set */
    double validation_split;
    int64_t eval_every;            /* evaluate every N steps (0: at the end of each epoch) */
    int64_t eval_max_examples;     /* cap on validation examples per evaluation (0: all) */
    int64_t log_every;             /* a metrics row every N steps (default 10) */
    const tc_augment_opts *augment;
    FILE *progress;                /* progress lines (NULL: none) */
    /* outputs (NULL: none). Files are written atomically. */
    const char *csv_path;
    const char *tensorboard_dir;
    const char *plot_prefix;       /* PREFIX_loss.png and PREFIX_accuracy.png */
    const char *checkpoint_path;   /* after every epoch */
    const char *best_checkpoint_path; /* whenever validation accuracy improves */
    int early_stopping_patience;   /* epochs without improvement of validation loss (0: off) */
    int initial_epoch;             /* when resuming */
    /* called on every metrics row (the recipes print the cookbook's log lines) */
    void (*on_metrics)(const tc_metrics *row, void *ctx);
    void *ctx;
} tc_fit_opts;

typedef struct {
    int64_t steps;
    int epochs;
    double train_seconds;
    double examples_per_second;
    double loss, accuracy, val_loss, val_accuracy; /* last values */
    bool stopped_early;
} tc_fit_result;

/* ---- the training step, for custom loops ----------------------------------------------
 * fn builds one batch's scalar loss from step tensors (values of step
 * tensors must be read inside fn: after the step they are released). */
typedef tc_tensor *(*tc_loss_fn)(void *ctx);
/* One step: grad mode on, the parameters' gradients zeroed, loss = fn(ctx),
 * backward, the optimizer's update of params, then the step's tape and arena
 * memory are released back to where they were when the step began (step
 * tensors made before it stay valid). *loss (may be NULL) gets the loss; a
 * non-finite loss is an error and leaves the parameters unchanged. */
tc_status tc_train_step(tc_optimizer *opt, int n_params, tc_tensor *const *params, tc_loss_fn fn, void *ctx,
                        double *loss);
/* The same on a model's trainable parameters. */
tc_status tc_model_train_step(tc_model *m, tc_optimizer *opt, tc_loss_fn fn, void *ctx, double *loss);

tc_status tc_fit(tc_model *m, const tc_dataset *train, const tc_fit_opts *o, tc_fit_result *result);
/* Mean loss and accuracy over d (inference mode). */
tc_status tc_evaluate(tc_model *m, const tc_dataset *d, tc_loss_kind loss, int64_t batch, int64_t max_examples,
                      double *mean_loss, double *accuracy);
/* Outputs for x in batches, as a long-lived tensor (caller frees). */
tc_tensor *tc_predict(tc_model *m, const tc_tensor *x, int64_t batch);

/* ---- logs, also usable on their own ---------------------------------------------------- */
tc_status tc_write_metrics_csv(const char *path, int n, const tc_metrics *rows);
/* Two PNG figures like the cookbook's: loss, and train/validation accuracy. */
tc_status tc_plot_metrics(const char *prefix, int n, const tc_metrics *rows, const char *title);
/* A TensorBoard event file with scalars loss, accuracy, val_loss, val_accuracy. */
tc_status tc_write_tensorboard(const char *dir, int n, const tc_metrics *rows);

#ifdef __cplusplus
}
#endif
#endif
