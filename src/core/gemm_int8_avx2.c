/* int8 GEMM tile on AVX2 without VNNI (gemm_lowp.h): 4 x 16, half a B strip
 * per call, the same exact int32 sums as the vpdpbusd kernels.
 *
 * AVX2's only byte dot product, vpmaddubsw, adds two u8 x s8 products into
 * a SATURATING int16: with A's bytes u in 0..255 and B's q in -127..127 a
 * pair reaches 2 x 255 x 127 = 64,770 > 32,767. So the driver packs A here
 * as s = u - 128 (a signed byte, -128..127; the zero point it passes to the
 * epilogue is zp - 128, so acc - zp' colsum is the same integer), and the
 * kernel multiplies |s| (unsigned, <= 128) by sign(s) q (vpsignb: in
 * -127..127, never overflows): each product is s q, and a pair is at most
 * 2 x 128 x 127 = 32,512 < 32,767, so vpmaddubsw is exact. vpmaddwd by ones
 * adds the pairs into int32 lanes: lane j of a row's register holds column
 * j's sum of four rows of K, as one vpdpbusd lane does. 4 ALU operations per
 * 32 multiply-adds (vpdpbusd: 1). */
#include "gemm_lowp.h"

#include <immintrin.h>

/* xa = |s| (u8), xs = s (s8) of row i's four bytes */
#define STEP(c, xa, xs, bv) c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(bv, xs)), ones))
#define ROW(i, c0, c1)                                        \
    do {                                                      \
        const __m256i xs = _mm256_set1_epi32((int)a[i]);      \
        const __m256i xa = _mm256_abs_epi8(xs);               \
        STEP(c0, xa, xs, b0);                                 \
        STEP(c1, xa, xs, b1);                                 \
    } while (0)

void tc_lowp_int8_avx2(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00;
    for (int64_t q = 0; q < quads; q++, a += 4, b += 128) {
        const __m256i b0 = _mm256_loadu_si256((const void *)b), b1 = _mm256_loadu_si256((const void *)(b + 32));
        ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21); ROW(3, c30, c31);
    }
    const __m256i acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
    for (int r = 0; r < 8; r++) _mm256_storeu_si256((void *)(t + r * 8), acc[r]);
}
