/* Data sets and loaders: MNIST IDX files (raw or gzip), CIFAR-10 binary
 * batches, feature-wise normalisation, augmentation, and a shuffling
 * batcher that prepares the next batch on a background thread. Every
 * error names the file and the problem. */
#ifndef TENSORCOOK_DATA_H
#define TENSORCOOK_DATA_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Examples x [N, ...] (long-lived) and integer labels y [N] (may be NULL). */
typedef struct {
    tc_tensor *x;
    tc_tensor *y;
    int classes;
    char **class_names;   /* NULL or classes entries */
} tc_dataset;

void tc_dataset_free(tc_dataset *d);
int64_t tc_dataset_size(const tc_dataset *d);
/* Split off the last `fraction` of d into a new data set (validation split). */
tc_status tc_dataset_split(tc_dataset *d, double fraction, tc_dataset **tail);
/* Keep only the first n examples. */
tc_status tc_dataset_truncate(tc_dataset *d, int64_t n);

/* MNIST IDX: images (idx3, scaled to [0, 1], shape [N, rows, cols, 1]) and
 * labels (idx1). Files may be gzip-compressed. */
tc_dataset *tc_load_idx(const char *images_path, const char *labels_path);
/* A folder with train-images-idx3-ubyte[.gz] etc.; split "train" or "t10k". */
tc_dataset *tc_load_mnist(const char *dir, const char *split);

/* CIFAR-10 binary: records of 1 label byte + 3072 bytes (CHW), scaled to
 * [0, 1] as [N, 32, 32, 3]. train: data_batch_1..5.bin, test: test_batch.bin;
 * class names from batches.meta.txt when present. */
tc_dataset *tc_load_cifar10_files(int n_files, const char *const *paths);
tc_dataset *tc_load_cifar10(const char *dir, bool train);

/* Zero-centre and std normalisation: statistics over the training set,
 * applied to any set. The scope says what shares one mean and std:
 * GLOBAL, every value (TFLearn's add_featurewise_zero_center/stdnorm);
 * PER_CHANNEL, the last axis (Keras' featurewise_center/std_normalization);
 * PER_FEATURE, each position of an example (the mean image). */
typedef enum { TC_NORM_PER_FEATURE = 0, TC_NORM_GLOBAL, TC_NORM_PER_CHANNEL } tc_norm_scope;
typedef struct {
    tc_tensor *mean, *std; /* [1], [C] or an example's shape */
    tc_norm_scope scope;
} tc_normalizer;
tc_status tc_normalizer_fit_scope(tc_normalizer *n, const tc_dataset *train, tc_norm_scope scope);
tc_status tc_normalizer_fit(tc_normalizer *n, const tc_dataset *train); /* PER_FEATURE */
tc_status tc_normalizer_apply(const tc_normalizer *n, tc_dataset *d);
void tc_normalizer_free(tc_normalizer *n);

/* Augmentation of a batch [B, H, W, C] in place: random left-right flips
 * (probability 0.5) and rotations up to max_degrees (bilinear, zero fill). */
typedef struct {
    bool flip_lr;
    double max_rotation_degrees;
} tc_augment_opts;
tc_status tc_augment_batch(tc_tensor *batch, const tc_augment_opts *o, tc_rng *rng);

/* The shuffling batcher: each epoch visits every example once in a seeded
 * random order; batch b+1 is assembled on a background thread while the
 * caller trains on batch b. Batches are long-lived tensors owned by the
 * batcher, valid until the next call. */
typedef struct tc_batcher tc_batcher;
tc_batcher *tc_batcher_new(const tc_dataset *d, int64_t batch, bool shuffle, bool drop_last, uint64_t seed,
                           const tc_augment_opts *augment);
/* Next batch (x, y); returns false at the end of an epoch (the next call
 * starts a new one). */
bool tc_batcher_next(tc_batcher *b, tc_tensor **x, tc_tensor **y);
int64_t tc_batcher_batches_per_epoch(const tc_batcher *b);
void tc_batcher_free(tc_batcher *b);

#ifdef __cplusplus
}
#endif
#endif
