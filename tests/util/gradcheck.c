/* Comparisons and the finite-difference gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tc_assert_close_(const tc_tensor *a, const tc_tensor *e, double rtol, double atol, const char *what,
                      const char *file, int line)
{
    char sa[TC_SHAPE_STR_MAX], se[TC_SHAPE_STR_MAX];
    if (!a) _fail_msg_at(file, line, "%s is NULL: %s", what, tc_last_error());
    if (!e) _fail_msg_at(file, line, "expected tensor for %s is NULL", what);
    if (tc_numel(a) != tc_numel(e) || (a->ndim != e->ndim && tc_numel(a) != 1) ||
        (a->ndim == e->ndim && !tc_same_shape(a, e)))
        _fail_msg_at(file, line, "%s: shape %s, expected %s", what, tc_shape_str(a, sa, sizeof sa),
                     tc_shape_str(e, se, sizeof se));
    int64_t n = tc_numel(a);
    tc_scalar *va = malloc(sizeof(tc_scalar) * (size_t)(n + 1)), *ve = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
    tc_read_values(a, va);
    tc_read_values(e, ve);
    double worst = 0;
    int64_t wi = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)va[i] - (double)ve[i]);
        double excess = d - (atol + rtol * fabs((double)ve[i]));
        if (isnan((double)va[i]) != isnan((double)ve[i])) excess = INFINITY;
        if (excess > 0 && (wi < 0 || excess > worst)) worst = excess, wi = i;
    }
    if (wi >= 0) {
        double x = va[wi], y = ve[wi];
        free(va);
        free(ve);
        _fail_msg_at(file, line, "%s %s: element %lld is %.9g, expected %.9g (|diff| %.3g, rtol %g atol %g)", what,
                     tc_shape_str(a, sa, sizeof sa), (long long)wi, x, y, fabs(x - y), rtol, atol);
    }
    free(va);
    free(ve);
}

void tc_assert_error_(const void *result, const char *const *fragments, const char *file, int line)
{
    if (result) _fail_msg_at(file, line, "expected an error, but the call succeeded");
    const char *msg = tc_last_error();
    for (int i = 0; fragments[i]; i++)
        if (!strstr(msg, fragments[i]))
            _fail_msg_at(file, line, "error message \"%s\" does not mention \"%s\"", msg, fragments[i]);
}

tc_tensor *tc_test_uniform(tc_rng *rng, int ndim, const int64_t *shape, double lo, double hi)
{
    tc_tensor *t = tc_empty(ndim, shape);
    if (!t) fail_msg("tc_test_uniform: %s", tc_last_error());
    tc_rng_uniform(rng, t->data, tc_numel(t), (tc_scalar)lo, (tc_scalar)hi);
    return t;
}

/* L = sum(out * R) in double, without recording */
static double weighted_sum(tc_build_fn fn, void *ctx, tc_tensor **inputs, const double *r, int64_t rn,
                           const char *what, const char *file, int line)
{
    tc_tensor *out = fn(inputs, ctx);
    if (!out) _fail_msg_at(file, line, "%s: build failed during the numeric pass: %s", what, tc_last_error());
    if (tc_numel(out) != rn) _fail_msg_at(file, line, "%s: output size changed between passes", what);
    tc_scalar *v = malloc(sizeof(tc_scalar) * (size_t)(rn + 1));
    tc_read_values(out, v);
    double s = 0;
    for (int64_t i = 0; i < rn; i++) s += (double)v[i] * r[i];
    free(v);
    return s;
}

void tc_gradcheck_(tc_build_fn fn, void *ctx, int n_inputs, tc_tensor **inputs, const bool *check, double eps,
                   double tol, const char *what, const char *file, int line)
{
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i]) continue;
        tc_set_requires_grad(inputs[i], true);
        if (inputs[i]->flags & TC_LONG_LIVED) tc_zero_grad(inputs[i]);
        else inputs[i]->grad = NULL;
    }
    tc_step_mark mark = tc_step_get_mark();
    tc_tensor *out = fn(inputs, ctx);
    if (!out) _fail_msg_at(file, line, "%s: build failed: %s", what, tc_last_error());
    int64_t rn = tc_numel(out);
    double *r = malloc(sizeof(double) * (size_t)(rn + 1));
    tc_tensor *rt = tc_empty(out->ndim, out->shape);
    tc_rng rng = tc_rng_new(1234);
    for (int64_t i = 0; i < rn; i++) {
        r[i] = tc_rng_double(&rng) * 2 - 1;
        rt->data[i] = (tc_scalar)r[i];
    }
    if (tc_backward_with(out, rt) != TC_OK)
        _fail_msg_at(file, line, "%s: backward failed: %s", what, tc_last_error());
    /* keep the analytic gradients before releasing the step */
    double **analytic = calloc((size_t)n_inputs, sizeof *analytic);
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i] || (check && !check[i])) continue;
        int64_t n = tc_numel(inputs[i]);
        analytic[i] = calloc((size_t)(n + 1), sizeof(double));
        if (inputs[i]->grad)
            for (int64_t j = 0; j < n; j++) analytic[i][j] = (double)inputs[i]->grad->data[j];
    }
    tc_step_release(mark);
    bool was = tc_set_grad_enabled(false);
    for (int i = 0; i < n_inputs; i++) {
        if (!analytic[i]) continue;
        tc_tensor *x = inputs[i];
        if (!tc_is_contiguous(x)) _fail_msg_at(file, line, "%s: gradcheck inputs must be contiguous", what);
        int64_t n = tc_numel(x);
        for (int64_t j = 0; j < n; j++) {
            tc_scalar keep = x->data[j];
            x->data[j] = keep + (tc_scalar)eps;
            double up = weighted_sum(fn, ctx, inputs, r, rn, what, file, line);
            tc_step_release(mark);
            x->data[j] = keep - (tc_scalar)eps;
            double down = weighted_sum(fn, ctx, inputs, r, rn, what, file, line);
            tc_step_release(mark);
            x->data[j] = keep;
            double numeric = (up - down) / (2 * eps);
            double a = analytic[i][j];
            double scale = fmax(1.0, fmax(fabs(a), fabs(numeric)));
            if (!(fabs(a - numeric) <= tol * scale)) {
                tc_set_grad_enabled(was);
                _fail_msg_at(file, line, "%s: input %d element %lld: analytic %.9g, numeric %.9g", what, i,
                             (long long)j, a, numeric);
            }
        }
        free(analytic[i]);
    }
    tc_set_grad_enabled(was);
    free(analytic);
    free(r);
}

/* ---- the op list tied to its gradient checks ---------------------------------------- */
#include "../../src/autograd/autograd_internal.h"

int tc_gradcheck_coverage(const char *program_file)
{
    const char *base = strrchr(program_file, '/');
    base = base ? base + 1 : program_file;
    int missing = 0;
    for (int op = 1; op < tc_op_count(); op++) {
        const char *gc = tc_op_gradcheck(op);
        if (!gc || strcmp(gc, base) != 0) continue;
        if (tc_op_backward_calls(op) == 0) {
            fprintf(stderr, "%s: op %s names this program as its gradient check, but its backward never ran here\n",
                    base, tc_op_name(op));
            missing++;
        }
    }
    return missing;
}
