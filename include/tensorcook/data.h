/* Data sets and loaders: MNIST IDX files (raw or gzip), CIFAR-10 binary
 * batches, UTF-8 text as characters, time series (CSV, JSON), feature-wise
 * normalisation, augmentation, and a shuffling
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


/* ---- characters (src/data/chars.c): the char-RNN's text ---------------------------
 * UTF-8 text as code points, a vocabulary of its distinct characters (ids in
 * code point order) and the training sequences: seq_len ids taken every
 * `step` characters, each labelled with the id of the character after it. */
typedef struct {
    int size;            /* distinct characters */
    uint32_t *chars;     /* ascending code points: id i is chars[i] */
} tc_char_vocab;
/* Decodes UTF-8 (no overlong forms, surrogates or values past U+10FFFF);
 * what names the input in the error: "WHAT: not UTF-8 (invalid byte
 * sequence at byte N)". *cp is malloc'd (caller frees). */
tc_status tc_utf8_decode(const char *what, const unsigned char *s, size_t n, uint32_t **cp, size_t *count);
/* c as UTF-8 into out (1 to 4 bytes); returns the length. */
int tc_utf8_encode(uint32_t c, char out[4]);
/* A UTF-8 text file as code points (errors: cannot read, not UTF-8). */
tc_status tc_load_utf8_text(const char *path, uint32_t **cp, size_t *count);
/* Every UTF-8 text file of a folder (not hidden, not *.dat or *.u8), in name
 * order, joined; files that are not UTF-8 are skipped. Error when the folder
 * cannot be read or holds no such file. */
tc_status tc_load_utf8_folder(const char *dir, uint32_t **cp, size_t *count);
/* The sorted distinct code points of cp[0..n). */
tc_char_vocab *tc_char_vocab_of_text(const uint32_t *cp, size_t n);
/* A vocabulary from its code points (ascending, distinct; e.g. read back
 * from a checkpoint); an error otherwise. */
tc_char_vocab *tc_char_vocab_new(int size, const uint32_t *chars);
int64_t tc_char_vocab_id(const tc_char_vocab *v, uint32_t c);  /* -1: not in it */
bool tc_char_vocab_equal(const tc_char_vocab *a, const tc_char_vocab *b);
void tc_char_vocab_free(tc_char_vocab *v);
/* Sequences x [N, seq_len] of ids and labels y [N] (the next character),
 * starting every `step` characters; the last floor(N * val_fraction) of
 * them, in text order, go to *val (NULL when none). classes = v->size.
 * Errors: fewer than seq_len + 1 characters ("N characters; need at least
 * M for one sequence"), a character outside v, no training sequence left. */
tc_status tc_char_sequences(const uint32_t *cp, size_t n, const tc_char_vocab *v, int seq_len, int step,
                            double val_fraction, tc_dataset **train, tc_dataset **val);


/* ---- time series (src/data/series.c): the forecaster's data ----------------------- */
typedef struct {
    int64_t steps;       /* time steps */
    int series;          /* values per step (USD, EUR, ...) */
    double *v;           /* [steps, series], row-major */
} tc_series;
#define TC_SERIES_MAX 8  /* values per line of a CSV file */
/* date,value[,value...] lines (a header line is allowed, blank lines are
 * skipped); every line must have as many values as the first. Errors name
 * the file and the line: "PATH: line N: expected date,value with 1 number(s)". */
tc_series *tc_load_series_csv(const char *path);
/* The bitcoin price API's JSON {"bpi": {"YYYY-MM-DD": value, ...}}: one series. */
tc_series *tc_load_series_bpi_json(const char *path);
/* steps x series noisy sums of three sines of random frequencies and phases. */
tc_series *tc_series_synthetic(int64_t steps, int series, uint64_t seed);
void tc_series_free(tc_series *s);
/* Windows of `past` then `future` steps starting at every step: x [N, past,
 * series], y [N, future, series] (long-lived), each series of a window
 * normalised by its past's mean and scale x std (the cookbook: 2.5). */
tc_status tc_series_windows(const tc_series *s, int past, int future, double scale, tc_tensor **x, tc_tensor **y);

#ifdef __cplusplus
}
#endif
#endif
