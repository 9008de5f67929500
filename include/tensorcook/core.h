/* tensorcook core: tensors, memory, errors, randomness, threads.
 *
 * A tensor is a view (shape, strides, offset) on a buffer of tc_scalar
 * (float32; double when the library is built with TC_DOUBLE, which the
 * finite-difference tests use). Layout is row-major and channels-last
 * (NWC, NHWC, NDHWC), like TensorFlow.
 *
 * Memory has two lifetimes:
 *   - long-lived tensors (parameters, data sets) made with tc_tensor_new and
 *     released with tc_tensor_free;
 *   - step tensors: every result of an operation lives in the calling
 *     thread's step arena and is released all at once at the end of the step
 *     (tc_step_reset or tc_step_release in autograd.h, which also drop the
 *     step's tape). After the first step the arena keeps one block of the
 *     high-water size, so a training step does no malloc.
 */
#ifndef TENSORCOOK_CORE_H
#define TENSORCOOK_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_VERSION_MAJOR 0
#define TC_VERSION_MINOR 1
#define TC_VERSION_PATCH 0
#define TC_VERSION_STRING "0.1.0"

#ifdef TC_DOUBLE
typedef double tc_scalar;
#else
typedef float tc_scalar;
#endif

#define TC_MAX_DIMS 8

/* ---- errors ------------------------------------------------------------ */
typedef enum {
    TC_OK = 0,
    TC_ERR_ARG,         /* null pointer, bad option value, axis out of range */
    TC_ERR_SHAPE,       /* shapes that do not fit together */
    TC_ERR_MEMORY,      /* allocation failed */
    TC_ERR_IO,          /* file missing, unreadable or unwritable */
    TC_ERR_FORMAT,      /* corrupt or unexpected file contents */
    TC_ERR_UNSUPPORTED, /* valid request that tensorcook does not implement */
    TC_ERR_STATE        /* call out of order (e.g. backward without a tape) */
} tc_status;

/* Message of the last failure on this thread ("" if none). */
const char *tc_last_error(void);
tc_status tc_last_status(void);
void tc_clear_error(void);
/* Set the error (library code and extensions use it; printf-style). Returns
 * the status so that `return tc_error(...)` reads naturally. */
tc_status tc_error(tc_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *tc_version(void);

/* ---- tensors ----------------------------------------------------------- */
enum {
    TC_REQUIRES_GRAD = 1 << 0, /* gradients flow to this tensor */
    TC_OWNS_DATA = 1 << 1,     /* long-lived tensor that frees its buffer */
    TC_LONG_LIVED = 1 << 2,    /* struct made by tc_tensor_new (not arena) */
};

typedef struct tc_node tc_node;
typedef struct tc_block tc_block;

typedef struct tc_tensor {
    tc_scalar *data;            /* first element: storage + offset */
    tc_scalar *storage;         /* start of the underlying buffer */
    int64_t offset;             /* in elements, from storage to data */
    int64_t shape[TC_MAX_DIMS];
    int64_t strides[TC_MAX_DIMS]; /* in elements */
    int ndim;
    int flags;
    struct tc_tensor *grad;     /* accumulated gradient, same shape, contiguous */
    tc_node *node;              /* operation that produced it (NULL: a leaf) */
    const char *name;           /* optional, for summaries and debugging */
    tc_block *block;            /* the flat block this long-lived tensor views (storage = its values), or NULL */
} tc_tensor;

/* Shapes are given as (ndim, int64 array). A scalar has ndim 0. */
tc_tensor *tc_tensor_new(int ndim, const int64_t *shape);      /* zeros, long-lived */
tc_tensor *tc_tensor_from(int ndim, const int64_t *shape, const tc_scalar *values);
void tc_tensor_free(tc_tensor *t); /* long-lived tensors; NULL and arena tensors are ignored */

/* Step tensors (arena): released by tc_step_reset / tc_step_release. */
tc_tensor *tc_empty(int ndim, const int64_t *shape);   /* uninitialised */
tc_tensor *tc_zeros(int ndim, const int64_t *shape);
tc_tensor *tc_full(int ndim, const int64_t *shape, tc_scalar value);
tc_tensor *tc_scalar_tensor(tc_scalar value);
tc_tensor *tc_copy_of(const tc_scalar *values, int ndim, const int64_t *shape);

/* Convenience: shapes as literal lists, e.g. TC_SHAPE(2, 3) */
#define TC_SHAPE(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

int64_t tc_numel(const tc_tensor *t);
bool tc_is_contiguous(const tc_tensor *t);
bool tc_same_shape(const tc_tensor *a, const tc_tensor *b);
/* Writes "[2, 3, 4]" into buf; returns buf. */
char *tc_shape_str(const tc_tensor *t, char *buf, size_t size);
#define TC_SHAPE_STR_MAX 96

void tc_set_requires_grad(tc_tensor *t, bool on);
bool tc_requires_grad(const tc_tensor *t);
/* Zero (and keep) the gradient of a tensor; no-op when it has none. */
void tc_zero_grad(tc_tensor *t);

/* Element access for tests and small programs (any strides). */
tc_scalar tc_get(const tc_tensor *t, const int64_t *index);
void tc_set(tc_tensor *t, const int64_t *index, tc_scalar v);
/* Copies of data (for views, by strides): dst must hold numel values. */
tc_status tc_read_values(const tc_tensor *t, tc_scalar *dst);
tc_status tc_write_values(tc_tensor *t, const tc_scalar *src);
tc_status tc_fill(tc_tensor *t, tc_scalar v);
/* A long-lived contiguous copy (e.g. to keep a result past the step). */
tc_tensor *tc_tensor_keep(const tc_tensor *t);

/* ---- the step arena ------------------------------------------------------ */
/* Released by the step functions of autograd.h (the tape's nodes live here
 * too, so the two are released together). */
/* Raw aligned step memory for kernels (64-byte aligned, not zeroed). */
void *tc_arena_alloc(size_t bytes);
size_t tc_arena_high_water(void);
/* Number of malloc calls the arena has made since the process started:
 * tests use it to prove a training step does no malloc in steady state. */
size_t tc_arena_malloc_count(void);
/* Free the arena's memory on this thread (end of program, leak checks). */
void tc_arena_shutdown(void);

/* ---- randomness ---------------------------------------------------------
 * Counter-based (Philox-4x32-10): value i of a draw depends only on
 * (seed, stream position + i), so results are identical for any number of
 * threads. A generator is a (seed, counter) pair that advances per draw. */
typedef struct { uint64_t seed; uint64_t counter; } tc_rng;
tc_rng tc_rng_new(uint64_t seed);
/* The process-wide default generator (seed with tc_manual_seed). */
tc_rng *tc_default_rng(void);
void tc_manual_seed(uint64_t seed);
/* Fill n values; advances the generator by n. */
void tc_rng_uniform(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar lo, tc_scalar hi);
void tc_rng_normal(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar mean, tc_scalar std);
/* Truncated normal like TensorFlow: redraws beyond 2 std. */
void tc_rng_truncated_normal(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar mean, tc_scalar std);
uint32_t tc_rng_u32(tc_rng *r);
double tc_rng_double(tc_rng *r);                 /* [0, 1) */
uint64_t tc_rng_below(tc_rng *r, uint64_t n);    /* [0, n) */
void tc_rng_shuffle(tc_rng *r, int64_t *items, int64_t n);
/* The raw counter-based function: 4 uniform u32 for (key, counter). */
void tc_philox(uint64_t key, uint64_t counter, uint32_t out[4]);

/* ---- threads --------------------------------------------------------------
 * One pool for the process, sized by TENSORCOOK_THREADS (default: cores).
 * BLAS always runs single-threaded inside it: large GEMMs are split across
 * the pool by tensorcook, so BLAS threads and ours never compete. */
int tc_num_threads(void);
tc_status tc_set_num_threads(int n);
/* fn(ctx, begin, end) over [0, n) in contiguous chunks of at least grain.
 * Calls from inside a parallel region run serially. */
typedef void (*tc_range_fn)(void *ctx, int64_t begin, int64_t end);
void tc_parallel_for(int64_t n, int64_t grain, tc_range_fn fn, void *ctx);
/* Thread id inside tc_parallel_for (0 .. tc_num_threads()-1); 0 outside. */
int tc_thread_id(void);
void tc_threads_shutdown(void);

/* ---- instruction sets ------------------------------------------------------
 * Kernels are chosen at run time from the CPU's features: the best the CPU
 * has, unless TENSORCOOK_ISA=generic|avx2|avx512 or tc_set_isa asks for a
 * lower one (tests run every path the machine supports). Results may differ
 * between ISAs in the last bits; for one ISA they are bit-identical for any
 * thread count. Call tc_set_isa outside parallel regions. */
typedef enum { TC_ISA_GENERIC = 0, TC_ISA_AVX2 = 1, TC_ISA_AVX512 = 2 } tc_isa_level;
tc_isa_level tc_isa(void);       /* the one in use */
tc_isa_level tc_isa_best(void);  /* the best this CPU runs */
bool tc_isa_supported(tc_isa_level isa);
tc_status tc_set_isa(tc_isa_level isa); /* error if the CPU cannot run it */
const char *tc_isa_name(tc_isa_level isa);
bool tc_cpu_has_avx512bf16(void);
/* How inference stores weights (opt-in; training is always fp32):
 * float32, bfloat16 (half the bytes; ~3 significant digits), or int8 with
 * one scale per output (a quarter of the bytes; activations are quantised to
 * 8 bits as they are multiplied: per row in the GEMMs, per vector in the
 * batch-1 products unless TENSORCOOK_INT8_DOT=0). */
typedef enum { TC_PRECISION_FP32 = 0, TC_PRECISION_BF16 = 1, TC_PRECISION_INT8 = 2 } tc_precision;
/* "fp32" | "bf16" | "int8" -> *p; false for any other name */
bool tc_precision_parse(const char *name, tc_precision *p);
const char *tc_precision_name(tc_precision p);

/* ---- BLAS -------------------------------------------------------------- */
/* C = alpha * op(A) @ op(B) + beta * C, row-major, split over the pool. */
void tc_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             tc_scalar alpha, const tc_scalar *a, int64_t lda,
             const tc_scalar *b, int64_t ldb, tc_scalar beta,
             tc_scalar *c, int64_t ldc);
/* Same, on the calling thread only (for kernels already inside the pool). */
void tc_gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    tc_scalar alpha, const tc_scalar *a, int64_t lda,
                    const tc_scalar *b, int64_t ldb, tc_scalar beta,
                    tc_scalar *c, int64_t ldc);

/* ---- flat blocks ----------------------------------------------------------
 * One flat, zeroed, 64-byte-aligned buffer that long-lived tensors view at
 * their own offsets: a model keeps all its weights in one block and all
 * their gradients in a companion block (as llm.c's
 * malloc_and_point_parameters), so optimizers keep their state in blocks of
 * the same layout and update a whole model in one loop. A view's storage is
 * the block's values and its offset its place there; freeing a view frees
 * only its struct; the block's owner frees the block after its views. */
tc_block *tc_block_new(int64_t len);
void tc_block_free(tc_block *b);
tc_scalar *tc_block_values(const tc_block *b);
int64_t tc_block_length(const tc_block *b);
/* The companion block of b (the gradients of a block of weights), or NULL. */
tc_block *tc_block_companion(const tc_block *b);
void tc_block_set_companion(tc_block *b, tc_block *companion);
/* A long-lived contiguous tensor over b's values [offset, offset + numel). */
tc_tensor *tc_block_view(tc_block *b, int64_t offset, int ndim, const int64_t *shape);
/* Offsets of views are kept on this many values (64 bytes). */
#define TC_BLOCK_ALIGN 16

/* ---- whole files ---------------------------------------------------------
 * Reading: the file's bytes in a malloc'd buffer with a NUL after them
 * (caller frees); max_bytes > 0 refuses larger files. Errors name the file.
 * Writing: atomically, as every writer of the library does: the data goes
 * to a temporary file beside PATH, is flushed and fsynced, then renamed over
 * PATH (and the folder fsynced), so PATH is the complete new file or what
 * was there before, never a partial one; on failure the temporary file is
 * removed. tc_atomic_* is the streaming form (checkpoints, PNG encoders). */
tc_status tc_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size);
tc_status tc_write_file_atomic(const char *path, const void *data, size_t size);
typedef struct tc_atomic_file tc_atomic_file;
tc_atomic_file *tc_atomic_begin(const char *path);
FILE *tc_atomic_stream(tc_atomic_file *f);
tc_status tc_atomic_commit(tc_atomic_file *f); /* frees f, also on failure */
void tc_atomic_abort(tc_atomic_file *f);       /* removes the temporary file, frees f */

#ifdef __cplusplus
}
#endif
#endif
