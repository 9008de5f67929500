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
/* "trainable 1,234, non-trainable 5,678" */
void vision_param_counts(const tc_model *m, char *buf, size_t size);

#endif
