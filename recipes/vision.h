/* Helpers shared by the vision recipes (classify, features, transfer,
 * inception-transfer): zoo models with Keras weights, images as batches,
 * and the training loop over image folders. Only the public API. */
#ifndef TC_RECIPES_VISION_H
#define TC_RECIPES_VISION_H

#include "common.h"
#include "tensorcook/keras.h"

/* The darknet photos used when no image is given. */
#define VISION_DEFAULT_IMAGES "/usr/share/darknet/data"

/* opt_str that also marks a missing value as bad */
bool vision_opt_str(int argc, char **argv, int *i, const char *name, const char **value, bool *bad);
/* --model NAME: the architecture, or -1 with a one-line error. */
int vision_arch(const char *cmd, const char *name);
/* Loads a Keras .h5 into m (by name, or by order); NULL weights: nothing
 * (they stay random: vision_random_note). */
bool vision_load_weights(const char *cmd, tc_model *m, tc_zoo_arch arch, bool include_top, const char *weights,
                         bool by_order, bool skip_missing);
/* One line: the weights are random, and where Keras keeps the real file. */
void vision_random_note(const char *cmd, tc_zoo_arch arch, bool include_top);
/* The default images (darknet's photos), malloc'd list; n set. */
char **vision_default_images(int *n);
void vision_free_list(char **list, int n);
/* One image as the model sees it: [1, H, W, 3], decoded, resized with
 * Pillow's NEAREST (Keras' load_img), preprocessed for arch (mode < 0:
 * times rescale instead). A step tensor. */
tc_tensor *vision_image(const char *path, int64_t h, int64_t w, int mode, double rescale);

/* ---- training on image folders ---------------------------------------------------------- */
typedef struct {
    const char *cmd, *out_dir, *phase; /* phase: "" or "phase1", used in file names */
    int epochs, first_epoch;
    int64_t batch;
    uint64_t seed;
    bool binary;                       /* one sigmoid output (2 classes) or softmax over the classes */
    tc_metrics *rows;                  /* history (grown), n_rows */
    int n_rows;
    double first_val_loss, last_val_loss, last_val_acc;
} vision_fit_opts;
/* Epochs of the model's trainable parameters on train, validation on val
 * after each; a progress line per epoch, a checkpoint (OUT/checkpoint.tcck),
 * metrics.csv and the loss/accuracy curves. */
bool vision_fit(tc_model *m, tc_optimizer *opt, const tc_image_folder *train, const tc_image_folder *val,
                vision_fit_opts *o);
/* Mean loss and accuracy over a folder (inference mode). */
bool vision_evaluate(tc_model *m, const tc_image_folder *f, int64_t batch, bool binary, double *loss, double *acc);
/* Prints each image's class probabilities (folder class names); mode and
 * rescale as vision_image. */
bool vision_predict(const char *cmd, tc_model *m, const tc_image_folder *classes_of, int n, char **images, int64_t h,
                    int64_t w, int mode, double rescale, bool binary);
/* ---- what the inference recipes (classify, features) share ---------------------------------- */
typedef struct {
    const char *model, *weights, *out, *summary_json;
    bool no_top, by_order;
    long long threads, seed;
    const char *precision; /* --precision NAME, or NULL (vision_zoo_precision reads it) */
    int n_images;
    char **images;    /* positional IMAGE arguments (room for argc), or the defaults */
    char **defaults;  /* vision_default_images, when no IMAGE was given */
    int n_defaults;
} vision_zoo_args;
bool vision_zoo_args_init(vision_zoo_args *a, int argc);
void vision_zoo_args_free(vision_zoo_args *a);
/* Takes argv[*i] when it is --model, --weights, --out, --summary-json,
 * --no-top, --by-order, --threads, --seed, or an IMAGE. */
bool vision_zoo_opt(int argc, char **argv, int *i, vision_zoo_args *a, bool *bad);
/* --precision fp32|bf16|int8 (default fp32) into *p; false with a one-line error naming cmd. */
bool vision_zoo_precision(const char *cmd, const vision_zoo_args *a, tc_precision *p);
#define VISION_PRECISION_HELP                                                                              \
    "  --precision P       fp32, bf16 or int8: the fused convolutions' weights (reduced precision is\n"    \
    "                      opt-in; ~3 significant digits in bf16, per-channel int8) [fp32]\n"
/* No IMAGE given: the darknet photos; false with a one-line error when there are none. */
bool vision_zoo_default_images(const char *cmd, vision_zoo_args *a);

/* ---- what the transfer-learning recipes share ---------------------------------------------- */
typedef struct {
    const char *train_dir, *val_dir, *weights, *out, *summary_json;
    bool by_order;
    int n_predict;
    char **predict; /* the --predict images (room for argc) */
} vision_transfer_args;
/* Room for the --predict list; false when out of memory. */
bool vision_transfer_args_init(vision_transfer_args *a, int argc, const char *default_out);
void vision_transfer_args_free(vision_transfer_args *a);
/* Takes argv[*i] when it is an option every transfer recipe has (--by-order,
 * --predict IMAGE..., --train, --val, --weights, --out, --summary-json). */
bool vision_transfer_opt(int argc, char **argv, int *i, vision_transfer_args *a, bool *bad);
/* Opens the training folder (random left-right flips) and, when val_dir is
 * given, the validation folder (no flips), and checks that their classes
 * agree; a one-line error otherwise. */
bool vision_open_train_val(const char *cmd, const char *train_dir, const char *val_dir, tc_image_folder_opts io,
                           tc_image_folder **train, tc_image_folder **val);
/* Writes OUT/model.h5 (Keras weights). */
bool vision_save_model_h5(const char *cmd, const tc_model *m, const char *out);
/* "trainable 1,234, non-trainable 5,678" */
void vision_param_counts(const tc_model *m, char *buf, size_t size);

#endif
