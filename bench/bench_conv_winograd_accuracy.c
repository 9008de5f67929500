/* Accuracy of the 3x3 stride-1 convolution paths (issue 10: Winograd
 * "with its accuracy measured"): the output and the input gradient of the
 * direct (im2col + GEMM) and the Winograd F(4x4,3x3) paths against a
 * double-precision naive convolution, on VGG-like layers (C = F = 64..512,
 * SAME padding, He-initialised kernels N(0, 2/(9C))), with inputs ~N(0,1)
 * and ReLU'd (ReLU-like activations: half zeros), output gradients ~N(0,1).
 * Usage: bench_conv_winograd_accuracy [HW] [BATCH]   (28, 1)
 * Prints, per layer, input kind, pass and path: max |err| / max |ref| and
 * rms(err) / rms(ref). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorcook/tensorcook.h"

/* y = conv(x, w) (SAME, 3x3) and dx = conv^T(gy) in double */
static void naive(int64_t n, int64_t h, int64_t wd, int64_t C, int64_t F, const float *x, const float *w,
                  const float *gy, double *y, double *dx)
{
    memset(y, 0, sizeof(double) * (size_t)(n * h * wd * F));
    memset(dx, 0, sizeof(double) * (size_t)(n * h * wd * C));
    for (int64_t b = 0; b < n; b++)
        for (int64_t oh = 0; oh < h; oh++)
            for (int64_t ow = 0; ow < wd; ow++) {
                double *yr = y + ((b * h + oh) * wd + ow) * F;
                const float *g = gy + ((b * h + oh) * wd + ow) * F;
                for (int a = 0; a < 3; a++)
                    for (int c3 = 0; c3 < 3; c3++) {
                        int64_t ih = oh + a - 1, iw = ow + c3 - 1;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                        const float *xr = x + ((b * h + ih) * wd + iw) * C;
                        double *dxr = dx + ((b * h + ih) * wd + iw) * C;
                        const float *wt = w + (a * 3 + c3) * C * F;
                        for (int64_t c = 0; c < C; c++) {
                            const double xv = xr[c];
                            const float *wr = wt + c * F;
                            double s = 0;
                            for (int64_t f = 0; f < F; f++) {
                                yr[f] += xv * wr[f];
                                s += (double)g[f] * wr[f];
                            }
                            dxr[c] += s;
                        }
                    }
            }
}

static void errors(const tc_tensor *a, const double *ref, double *maxrel, double *rmsrel)
{
    double emax = 0, rmax = 0, e2 = 0, r2 = 0;
    for (int64_t i = 0; i < tc_numel(a); i++) {
        double d = fabs(a->data[i] - ref[i]);
        if (d > emax) emax = d;
        if (fabs(ref[i]) > rmax) rmax = fabs(ref[i]);
        e2 += d * d, r2 += ref[i] * ref[i];
    }
    *maxrel = emax / rmax, *rmsrel = sqrt(e2 / r2);
}

int main(int argc, char **argv)
{
    const int64_t hw = argc > 1 ? atoll(argv[1]) : 28, n = argc > 2 ? atoll(argv[2]) : 1;
    const int64_t widths[] = {64, 128, 256, 512};
    printf("layer            input  pass  path      max|err|/max|ref|  rms(err)/rms(ref)\n");
    for (size_t li = 0; li < sizeof widths / sizeof widths[0]; li++) {
        const int64_t C = widths[li], F = widths[li];
        for (int relu = 0; relu <= 1; relu++) {
            tc_rng rng = tc_rng_new(1000 + li * 2 + relu);
            tc_tensor *x = tc_tensor_new(TC_SHAPE(n, hw, hw, C)), *w = tc_tensor_new(TC_SHAPE(3, 3, C, F));
            tc_tensor *gy = tc_tensor_new(TC_SHAPE(n, hw, hw, F));
            tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
            if (relu)
                for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] = x->data[i] > 0 ? x->data[i] : 0;
            tc_rng_normal(&rng, w->data, tc_numel(w), 0, (float)sqrt(2.0 / (9.0 * C)));
            tc_rng_normal(&rng, gy->data, tc_numel(gy), 0, 1);
            double *ry = malloc(sizeof(double) * (size_t)tc_numel(gy)), *rdx = malloc(sizeof(double) * (size_t)tc_numel(x));
            naive(n, hw, hw, C, F, x->data, w->data, gy->data, ry, rdx);
            for (int algo = 0; algo <= 1; algo++) {
                tc_conv_set_algorithm(algo ? TC_CONV_WINOGRAD : TC_CONV_DIRECT);
                tc_set_requires_grad(x, true);
                x->grad = NULL;
                tc_tensor *y = tc_conv(x, w, NULL, &(tc_conv_params){.padding = TC_SAME});
                if (!y || tc_backward_with(y, gy) != TC_OK) {
                    fprintf(stderr, "bench_conv_winograd_accuracy: %s\n", tc_last_error());
                    return 1;
                }
                double m, r;
                errors(y, ry, &m, &r);
                printf("%4lldx%-4lld C=F=%-3lld %-6s fwd   %-8s  %17.3g  %17.3g\n", (long long)hw, (long long)hw,
                       (long long)C, relu ? "relu" : "normal", algo ? "winograd" : "direct", m, r);
                errors(x->grad, rdx, &m, &r);
                printf("%4lldx%-4lld C=F=%-3lld %-6s dx    %-8s  %17.3g  %17.3g\n", (long long)hw, (long long)hw,
                       (long long)C, relu ? "relu" : "normal", algo ? "winograd" : "direct", m, r);
                fflush(stdout);
                tc_step_reset();
            }
            tc_conv_set_algorithm(TC_CONV_DIRECT);
            free(ry);
            free(rdx);
            tc_tensor_free(x);
            tc_tensor_free(w);
            tc_tensor_free(gy);
        }
    }
    tc_shutdown();
    return 0;
}
