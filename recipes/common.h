/* Small helpers shared by the recipe programs: option parsing, output
 * folders, JSON summaries. Only recipes (the CLI) print. */
#ifndef TC_RECIPES_COMMON_H
#define TC_RECIPES_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "tensorcook/tensorcook.h"

/* If argv[*i] is `name`, stores the next argument in *value and advances. */
bool opt_str(int argc, char **argv, int *i, const char *name, const char **value);
/* If argv[*i] is one of the n names, stores the next argument in *values[k]
 * (its name's slot) and advances; a missing value sets *bad. */
bool opt_str_any(int argc, char **argv, int *i, int n, const char *const *names, const char **const *values, bool *bad);
bool opt_int(int argc, char **argv, int *i, const char *name, long long *value, bool *bad);
bool opt_double(int argc, char **argv, int *i, const char *name, double *value, bool *bad);
/* mkdir -p, then a write test: a one-line error if the folder is unusable. */
bool prepare_out_dir(const char *cmd, const char *dir);
/* {"key": value, ...} written atomically. */
bool write_summary_json(const char *cmd, const char *path, int n, const char *const *keys, const double *values);
/* The same with "winograd_convs": the forward convolutions run as Winograd
 * (tc_conv_winograd_runs), and "conv": "direct" | "winograd" | "auto"
 * (tc_conv_get_algorithm) after the numbers. */
bool write_summary_json_conv(const char *cmd, const char *path, int n, const char *const *keys, const double *values);
/* --conv auto|direct|winograd: the algorithm of the 3x3 stride-1 convolutions
 * (tc_conv_set_algorithm); another value or none sets *bad. */
bool opt_conv(int argc, char **argv, int *i, bool *bad);
#define CONV_OPT_HELP_DEFAULT(def)                                                                  \
    "  --conv ALGO         direct (im2col + GEMM), winograd (F(4x4,3x3) for the 3x3 stride-1\n"    \
    "                      convolutions' output and input gradient: ~2x faster, errors ~1e-5 of\n"  \
    "                      the largest value instead of ~1e-6) or auto (winograd only for frozen\n" \
    "                      inference weights, kept transformed) [" def ", or TENSORCOOK_CONV]\n"
#define CONV_OPT_HELP CONV_OPT_HELP_DEFAULT("auto")
void set_threads(const char *cmd, long long threads);
/* The three names nearest to `name` by edit distance, as "a, b, c" ("-" for
 * missing ones), for "no layer 'x'; nearest: ..." messages. */
void nearest_names(const char *name, int n, const char *const *names, char *out, size_t size);

/* Seconds on the monotonic clock, and CPU seconds of the whole process (all
 * threads): on a shared machine the wall-clock rate is only the share of the
 * cores a run got, so the recipes report both. */
double wall_seconds(void);
double process_cpu_seconds(void);

#endif
