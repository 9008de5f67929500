/* Helpers shared by the tests: fixture files written by the PyTorch
 * generators in tests/fixtures/, closeness checks, and the finite-difference
 * gradient check. Include after <cmocka.h>'s prerequisites. */
#ifndef TC_TESTUTIL_H
#define TC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tensorcook/tensorcook.h"

/* Print a message and fail the current test at file:line. */
#define _fail_msg_at(file, line, ...) \
    do {                              \
        print_error(__VA_ARGS__);     \
        print_error("\n");            \
        _fail((file), (line));        \
    } while (0)

/* ---- fixtures: "TCFX" files of named float32 tensors ---------------------- */
typedef struct tc_fixture tc_fixture;
tc_fixture *tc_fixture_load(const char *path);          /* NULL + tc_last_error */
/* A step-arena copy of the named tensor; fails the test if missing. */
tc_tensor *tc_fixture_get(tc_fixture *f, const char *name);
bool tc_fixture_has(tc_fixture *f, const char *name);
void tc_fixture_free(tc_fixture *f);
#define TC_FIXTURE_PATH(file) TC_FIXTURES "/" file

/* ---- comparisons ----------------------------------------------------------- */
/* Fails the test (with the worst element) unless |a-b| <= atol + rtol*|b|
 * everywhere and the shapes match. */
void tc_assert_close_(const tc_tensor *actual, const tc_tensor *expected, double rtol, double atol,
                      const char *what, const char *file, int line);
#define tc_assert_close(a, e, rtol, atol) tc_assert_close_((a), (e), (rtol), (atol), #a, __FILE__, __LINE__)
/* Fails the test unless ptr is NULL and the last error mentions every
 * given fragment (e.g. the op name and a shape). */
void tc_assert_error_(const void *result, const char *const *fragments, const char *file, int line);
#define tc_assert_error(result, ...) \
    tc_assert_error_((result), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)
/* Fails the test if ptr is NULL, printing tc_last_error(). */
#define tc_assert_ok(ptr)                                                                   \
    do {                                                                                    \
        if (!(ptr)) fail_msg("%s failed: %s", #ptr, tc_last_error());                        \
    } while (0)

/* ---- finite-difference gradient check ---------------------------------------
 * fn builds an output from the inputs. The check takes the scalar
 * L = sum(out * R) for a fixed random R, computes dL/d input by backward,
 * and compares it with central differences (step eps) for every element of
 * every input marked in `check` (NULL: all). Inputs must exist before the
 * call (arena or long-lived); they are made to require gradients.
 * Fails the test with the worst element when |a-n| > tol*max(1,|a|,|n|).
 * Meant for the double-precision build (tests named test_grad_*). */
typedef tc_tensor *(*tc_build_fn)(tc_tensor **inputs, void *ctx);
void tc_gradcheck_(tc_build_fn fn, void *ctx, int n_inputs, tc_tensor **inputs, const bool *check,
                   double eps, double tol, const char *what, const char *file, int line);
#define tc_gradcheck(fn, ctx, n, inputs, check, eps, tol) \
    tc_gradcheck_((fn), (ctx), (n), (inputs), (check), (eps), (tol), #fn, __FILE__, __LINE__)

/* For a gradient-check program (call at the end of its main with __FILE__):
 * the number of ops whose .def entry names this program but whose backward
 * never ran in it (each is reported on stderr). Non-zero fails the program. */
int tc_gradcheck_coverage(const char *program_file);

/* A PyTorch fixture case: loads `path`, runs build on its "in:NAME" tensors
 * (made to require gradients), compares the output with "out" and, after
 * backward with "gout", every "grad:NAME". Resets the arena. */
void tc_check_fixture_case(const char *path, const char *name, int n, const char *const *inputs,
                           tc_tensor *(*build)(tc_tensor **ins, void *ctx), void *ctx, double rtol, double atol);

/* A step tensor of uniform random values in [lo, hi) from a test-local generator. */
tc_tensor *tc_test_uniform(tc_rng *rng, int ndim, const int64_t *shape, double lo, double hi);

/* Test data a generator writes at test time: tc_test_generate makes a fresh
 * /tmp/tc_PREFIX_XXXXXX folder and runs `/usr/bin/python3 fixtures/SCRIPT
 * FOLDER` (0 on success); tc_test_at names a file in it (8 rotating
 * buffers); tc_test_generated_cleanup removes the folder. */
int tc_test_generate(const char *prefix, const char *script);
const char *tc_test_at(const char *file);
const char *tc_test_dir(void);
int tc_test_generated_cleanup(void);

/* A test program's own scratch folder: tc_test_mkdtemp fills dir with a
 * fresh /tmp/tc_PREFIX_XXXXXX (0 on success); tc_test_finish removes it,
 * shuts the library down and returns the program's exit status (rc, or 1
 * when the folder could not be removed). */
int tc_test_mkdtemp(char *dir, size_t size, const char *prefix);
int tc_test_finish(const char *dir, int rc);

#endif
