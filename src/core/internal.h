/* Core's internal interface, for the library's other folders (not
 * installed): step results and views, shape helpers, argument checks,
 * strided copies and the arena's raw marks. Core includes nothing above
 * itself: the tape lives in src/autograd (autograd_internal.h), the op table
 * and op helpers in src/ops (ops_internal.h). */
#ifndef TC_INTERNAL_H
#define TC_INTERNAL_H

#include "tensorcook/core.h"

#include <string.h>

/* ---- results ---------------------------------------------------------------- */
/* A new contiguous step tensor (uninitialised). NULL + error on overflow. */
tc_tensor *tc_result(int ndim, const int64_t *shape);
/* A step tensor struct that views existing memory (no copy). */
tc_tensor *tc_view_of(tc_scalar *storage, int64_t offset, int ndim, const int64_t *shape,
                      const int64_t *strides);
void tc_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
int64_t tc_shape_numel(int ndim, const int64_t *shape);
/* Contiguous data of t: t->data itself, or a packed copy in the arena. */
const tc_scalar *tc_packed(const tc_tensor *t);
/* Normalise a possibly negative axis; -1 if out of range. */
int tc_axis(int axis, int ndim);
/* "[2, 3]" of a raw shape */
char *tc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- argument checks: each returns NULL from the enclosing function --------- */
#define TC_CHECK_TENSOR(opname, t)                                                   \
    do {                                                                             \
        if (!(t)) {                                                                  \
            tc_error(TC_ERR_ARG, "%s: input '%s' is NULL", opname, #t);              \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

#define TC_CHECK(cond, status, ...)                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            tc_error(status, __VA_ARGS__);                                           \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

/* Shape strings for messages: TC_SHP(t) is a temporary "[a, b]" string. */
#define TC_SHP(t) tc_shape_str((t), (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX)

/* dst (strides dst_strides) = or += src (strides src_strides), same shape. */
void tc_strided_apply(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                      const tc_scalar *src, const int64_t *src_strides, bool accumulate);

/* Accumulate n values: dst[i] += src[i]. */
void tc_accumulate(tc_scalar *dst, const tc_scalar *src, int64_t n);
/* The arena's raw position (src/core/arena.c): the step functions of
 * src/autograd truncate the tape, then rewind the arena with these. */
size_t tc_arena_position(void);
void tc_arena_rewind(size_t position);
/* Whether p points into memory the arena has handed out in this step (and
 * its offset, comparable with tc_arena_position). */
bool tc_arena_offset_of(const void *p, size_t *offset);
/* Declares [p, p + bytes) dead before the step ends, for later allocations
 * of this step (of at least 16 KB) to reuse; it must be arena memory no live
 * tensor reads or writes. Rounded inward to the allocation alignment; too
 * small regions, memory outside the arena and overlaps with regions already
 * recycled are ignored. A rewind forgets the regions past its position. */
void tc_arena_recycle(void *p, size_t bytes);
/* A scratch scope: everything allocated between begin and end (bumped, or
 * taken from recycled memory) is recycled at the end, except the kept
 * spans (what the caller's results occupy). The caller vouches that nothing
 * else allocated in the scope is still referenced. n_keep < 0 abandons the
 * scope without recycling. Scopes nest. */
typedef struct {
    size_t position;
    int n_taken;
} tc_arena_scope;
typedef struct {
    const void *lo, *hi;
} tc_arena_span;
tc_arena_scope tc_arena_scope_begin(void);
void tc_arena_scope_end(tc_arena_scope s, int n_keep, const tc_arena_span *keep);
/* op(B) of many products prepared once (src/core/blas.c): a convolution's
 * kernel W, multiplied by every im2col tile. When the float products would
 * run our packed kernel (AVX-512), tc_gemm_prepare_b packs op(B) into the
 * arena once, in the driver's own blocks, and tc_gemm_b / tc_gemm_serial_b
 * skip the repacking each product did; the kernel calls, and so the bits,
 * are exactly those of tc_gemm / tc_gemm_serial on (trans_b, b, ldb). On
 * the other paths (OpenBLAS, double builds) nothing is packed and the
 * calls are tc_gemm / tc_gemm_serial. b must stay valid (m == 1 products
 * and a panel packed for another ISA than the one now in use read it).
 * False (error set): no memory.
 * tc_gemm_prepare_b_kept packs into memory of its own instead of the arena,
 * for a B that outlives the step (an inference model's constant kernels,
 * packed once at load); tc_gemm_b_panel_release frees it. The panel records
 * the kernel it was packed for, so after a change of ISA it is not used.
 * bias (n values, or NULL): C = bias + alpha op(A) op(B) in every row, beta
 * ignored; the bits of copying the bias into every row of C and calling
 * with beta = 1, which is what the fallback paths do, while the packed
 * kernel fills each tile with it just before its first K block. */
typedef struct {
    bool tb;
    int64_t k, n, ldb;
    const tc_scalar *b;
    const void *kern;   /* the packed kernel it was packed for, or NULL */
    const float *packed;
    void *mem;          /* tc_gemm_prepare_b_kept's block, or NULL */
    struct tc_lowp_panel *lowp; /* bf16 / int8 weights (gemm_lowp.h), or NULL: float */
} tc_gemm_b_panel;
bool tc_gemm_prepare_b(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b, int64_t ldb);
bool tc_gemm_prepare_b_kept(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b, int64_t ldb);
/* tc_gemm_prepare_b for products of at most m rows: where our packed kernel
 * reads op(B) in place (or packs it strip by strip just before use) for
 * such few rows, nothing is packed now and b must stay valid; the bits of
 * every product are those of the packed panel. */
bool tc_gemm_prepare_b_rows(tc_gemm_b_panel *pb, int64_t m, bool trans_b, int64_t k, int64_t n, const tc_scalar *b,
                            int64_t ldb);
void tc_gemm_b_panel_release(tc_gemm_b_panel *pb);
/* The same, kept, with op(B) stored in a reduced precision (bf16, int8;
 * fp32: tc_gemm_prepare_b_kept): tc_gemm_b / tc_gemm_serial_b then run the
 * reduced-precision kernels of src/core/gemm_lowp.c on every ISA (in
 * double builds the panel stays in double). */
bool tc_gemm_prepare_b_kept_prec(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b,
                                 int64_t ldb, tc_precision prec);

/* op(A) of a product given as runs instead of a matrix: row i of op(A)
 * is the k / run_len runs of run_len values that runs6 points at (k a
 * multiple of run_len). runs6(ctx, i0, t0, nt, r) sets r[u][0..5] to run
 * t0 + u of rows i0..i0+5, u < nt <= TC_GEMM_RUNS_MAX (rows at or past the
 * product's m included: any run_len zeros). A convolution's patches are such runs (one per kernel tap, read
 * in place from the input or a run of zeros for the padding), so
 * tc_gemm_b_runs packs them straight from the input into the kernel's A
 * panels, with no im2col copy in between. */
#define TC_GEMM_RUNS_MAX 32
typedef struct tc_gemm_a_runs {
    void (*runs6)(const void *ctx, int64_t i0, int64_t t0, int64_t nt, const tc_scalar *(*r)[6]);
    const void *ctx;
    int64_t run_len;
} tc_gemm_a_runs;
/* C = op(A) B (+ bias) from the runs, as tc_gemm_b (pooled) or
 * tc_gemm_serial_b (not) on the matrix they describe, with the same bits;
 * false, with nothing done, where that product would not run our packed
 * kernel (other ISAs, m == 1, no pack memory): the caller then builds the
 * matrix and calls those. */
typedef void (*tc_gemm_tile_fn)(void *ctx, tc_scalar *c, int64_t ldc, int64_t row, int64_t h, int64_t col, int64_t w);
/* fn (NULL: none) and per_part as tc_gemm_b_tiles' below */
bool tc_gemm_b_runs(bool pooled, int64_t m, const tc_gemm_a_runs *a, const tc_gemm_b_panel *pb,
                    const tc_scalar *bias, tc_scalar *c, int64_t ldc, tc_gemm_tile_fn fn, void *ctx, bool per_part);
/* C = A B + bias (A m x k row-major, B the panel, alpha 1, beta 0) as
 * tc_gemm_b, then fn(ctx, c at (row, col), ldc, row, h, col, w) on each
 * finished tile of C while it is in cache (fn must act on each element
 * alone), or with per_part on each finished block of rows of a part (up to
 * 144 x 2048, streamed in the product's own parallel region): false, with
 * nothing done, where that product would not run our packed float kernel
 * (the caller then calls tc_gemm_b and its own pass). per_part also takes
 * a B left in place (few rows), whose parts call fn once each anyway. */
bool tc_gemm_b_tiles(int64_t m, const tc_scalar *a, int64_t lda, const tc_gemm_b_panel *pb, const tc_scalar *bias,
                     tc_scalar *c, int64_t ldc, tc_gemm_tile_fn fn, void *ctx, bool per_part);
/* Whether tc_gemm_prepare_b packs (our own kernel is in use): then a B
 * shared by many products costs one packing, whatever their number. */
bool tc_gemm_packs_b(void);
void tc_gemm_serial_b(bool trans_a, int64_t m, tc_scalar alpha, const tc_scalar *a, int64_t lda,
                      const tc_gemm_b_panel *pb, const tc_scalar *bias, tc_scalar beta, tc_scalar *c, int64_t ldc);
void tc_gemm_b(bool trans_a, int64_t m, tc_scalar alpha, const tc_scalar *a, int64_t lda, const tc_gemm_b_panel *pb,
               const tc_scalar *bias, tc_scalar beta, tc_scalar *c, int64_t ldc);
/* Pins OpenBLAS to the calling thread (src/core/blas.c; the pool calls it). */
void tc_blas_single_thread(void);
/* Frees the arena and stops the pool (the last part of tc_shutdown). */
void tc_core_shutdown(void);

/* ---- row-vector products (batch-1 inference; kernel-level, so not public:
 * the LSTM stepper and the sampler of src/nn use them) -----------------------
 * y = x @ W for one row x, W [K, N] repacked once into panels of
 * TC_GEMV_PANEL columns, each a contiguous [K, TC_GEMV_PANEL] block that the
 * product streams front to back: the batch-1 case (one RNN step, a dense
 * layer on one row) is bound by how fast the weights come from the cache,
 * and a plain row-major W would be read in strided pieces. Each y[j] is one
 * sum over k = 0..K-1 in order, computed by one thread: the same bits for
 * any number of threads. AVX-512 when the CPU has it (float build). */
#define TC_GEMV_PANEL 64
typedef struct tc_gemv_plan tc_gemv_plan;
/* Packs W (row stride ldw). cols: packed column p holds W's column cols[p]
 * (-1: a column of zeros), for p < n_packed; NULL: the identity (n_packed = n).
 * The packed width is n_packed rounded up to whole panels, zero-padded.
 * NULL + error on bad arguments or no memory. */
tc_gemv_plan *tc_gemv_plan_new(int64_t k, int64_t n, const tc_scalar *w, int64_t ldw, const int64_t *cols,
                               int64_t n_packed);
/* Weights stored as: float (the default) or bfloat16 (rounded to nearest
 * even; half the bytes streamed per product). A bf16 product uses
 * vdpbf16ps where tc_isa() is avx512 and the CPU has AVX512-BF16 (x is then
 * rounded to bf16 too; TENSORCOOK_BF16_DOT=0 keeps x float), widens the
 * weights in AVX-512 registers on other AVX-512 CPUs, else plain C with
 * float x. */
typedef tc_precision tc_gemv_precision;
#define TC_GEMV_FP32 TC_PRECISION_FP32
#define TC_GEMV_BF16 TC_PRECISION_BF16
/* int8: weights quantised per packed column (symmetric, scale max|w| / 127,
 * a quarter of float's bytes; layout and arithmetic in gemv_int8.h). By
 * default x is quantised too, once per product (per vector, symmetric), and
 * the sums are exact int32 (AVX512-VNNI / AVX-VNNI vpdpbusd, AVX2 vpsignb + vpmaddubsw
 * or C: the same bits on every path); TENSORCOOK_INT8_DOT=0 or
 * tc_gemv_set_int8_dot(false) keeps x float (weights widened in registers,
 * float FMAs). An int8 plan runs one product at a time: it holds the
 * quantised input, so call tc_gemv_load_input before tc_gemv_run_panels
 * (tc_gemv_run does it). */
#define TC_GEMV_INT8 TC_PRECISION_INT8
tc_gemv_plan *tc_gemv_plan_new_prec(int64_t k, int64_t n, const tc_scalar *w, int64_t ldw, const int64_t *cols,
                                    int64_t n_packed, tc_gemv_precision prec);
tc_gemv_precision tc_gemv_plan_precision(const tc_gemv_plan *p);
/* Whether bf16 plans may use vdpbf16ps (where the CPU has it; tests and
 * the quality comparison run both ways). */
void tc_gemv_set_bf16_dot(bool use);
/* The int8 way: dot (x quantised, the default) or weight-only (x float);
 * and whether the dot way may use the VNNI instructions (tests run both). */
void tc_gemv_set_int8_dot(bool use);
void tc_gemv_set_int8_vnni(bool use);
/* whether int8 kernels may use vpdpbusd (TENSORCOOK_INT8_VNNI=0 or
 * tc_gemv_set_int8_vnni(false): no); the reduced-precision GEMM follows it too */
bool tc_gemv_int8_vnni(void);
bool tc_gemv_int8_dot(void);
/* the int8 kernel tc_isa() and the settings pick, e.g. "dot avx512-vnni" */
const char *tc_gemv_int8_kernel(void);
/* f rounded to the nearest bfloat16 (as the bf16 plans store weights) */
float tc_bf16_round(float f);
void tc_gemv_plan_free(tc_gemv_plan *p);
int64_t tc_gemv_panels(const tc_gemv_plan *p);
int64_t tc_gemv_rows(const tc_gemv_plan *p);
/* The columns of panels p0..p1-1 of x @ W, x [K]: y[(q - p0) * TC_GEMV_PANEL + j]
 * is packed column q * TC_GEMV_PANEL + j. On the calling thread (for use
 * inside the pool). */
void tc_gemv_run_panels(const tc_gemv_plan *p, const tc_scalar *x, tc_scalar *y, int64_t p0, int64_t p1);
/* The input of the next tc_gemv_run_panels calls: an int8 plan quantises x
 * into the plan here, once for all its panels (every other plan: nothing).
 * Call it on one thread, before the parallel loop. */
void tc_gemv_load_input(const tc_gemv_plan *p, const tc_scalar *x);
/* The whole product, panels split over the pool; y [panels * TC_GEMV_PANEL],
 * indexed by packed column. */
void tc_gemv_run(const tc_gemv_plan *p, const tc_scalar *x, tc_scalar *y);
/* Panels of a row-vector product (src/core/gemv.c) worth one chunk of a
 * parallel loop: callers that split a plan's panels themselves use it. */
int64_t tc_gemv_grain(const tc_gemv_plan *p);

#endif
