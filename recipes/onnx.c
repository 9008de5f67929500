/* tensorcook onnx: inspect, run and test ONNX models.
 *   tensorcook onnx info MODEL
 *   tensorcook onnx ops
 *   tensorcook onnx run MODEL [--input FILE.pb ...] [--output-dir DIR] [--no-fold] [--precision fp32|bf16|int8]
 *                         [--conv auto|direct|winograd] [--runs N] [--profile]
 *   tensorcook onnx test [--list FILE] [--root DIR] [--quiet] DIR...
 *   tensorcook onnx export CHECKPOINT --out MODEL.onnx [--opset N] [--check] (recipes/onnx_export.c)
 * The test layout is the ONNX backend tests': DIR/model.onnx and
 * DIR/test_data_set_N/input_K.pb and output_K.pb. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "onnx_profile.h"
#include "tensorcook/tensorcook.h"
#include "tensorcook/onnx.h"

int tc_onnx_export_command(int argc, char **argv); /* recipes/onnx_export.c */

/* snprintf into a path buffer; false when the path does not fit */
static bool pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook onnx info MODEL\n"
               "       tensorcook onnx ops\n"
               "       tensorcook onnx run MODEL [--input FILE.pb]... [--output-dir DIR] [--no-fold]\n"
               "                               [--precision fp32|bf16|int8] [--conv auto|direct|winograd]\n"
               "                               [--runs N] [--profile]\n"
               "       tensorcook onnx test [--list FILE [--root DIR]] [--rtol R] [--atol A] [--quiet] [DIR...]\n"
               "       tensorcook onnx export CHECKPOINT --out MODEL.onnx [--opset N] [--seq-len N] [--check]\n"
               "\n"
               "info   inputs, outputs, operator counts and parameter count; lists the nodes\n"
               "       (also inside If/Loop/Scan bodies) that will not run, before running\n"
               "ops    the operators of the default domain the importer translates, one a line\n"
               "run    run MODEL on TensorProto inputs (zeros of the declared shape if none are\n"
               "       given) and write output_N.pb files (default: current folder); BatchNormalization\n"
               "       is folded into the Conv before it and Relu/Clip/residual Add fused into the\n"
               "       Conv's epilogue unless --no-fold; --precision bf16|int8 stores the constant\n"
               "       kernels of Conv, Gemm and MatMul as bfloat16 or int8 (per-channel scales) [fp32];\n"
               "       --conv auto runs the 3x3 stride-1 Convs (>= 8 channels, >= 128 output positions)\n"
               "       of constant fp32 kernels as Winograd F(4x4,3x3), the transformed kernels kept with\n"
               "       the model (10-20%% less CPU; errors up to a few times the direct path's, e.g. 5.5e-7\n"
               "       instead of 4.1e-7 of the largest output of ResNet-50), winograd does so for any\n"
               "       kernel, direct never (im2col + GEMM) [auto, or TENSORCOOK_CONV]; the last line\n"
               "       says which ran ('conv: auto, winograd for N of M Conv runs');\n"
               "       --runs N runs it N times (the outputs are the last run's) [1]; --profile times\n"
               "       each node over the runs [10] after a warm-up run and prints the time per operator\n"
               "       type and of the slowest nodes, with the GFLOP/s of Conv, Gemm and MatMul\n"
               "test   run ONNX backend-test folders (model.onnx + test_data_set_*), compare with\n"
               "       rtol 1e-3, atol 1e-7; one line per failure; ends with 'N passed, M failed'.\n"
               "       --list FILE reads folder names (relative to --root) from FILE\n"
               "export write a recipe's checkpoint (mnist, cifar10, charrnn, forecast, textcnn, video)\n"
               "       as an ONNX model, opset 13 to 17 [17]\n");
    return rc;
}

static int cmd_info(const char *path)
{
    tc_onnx_model *m = tc_onnx_load(path);
    if (!m) {
        fprintf(stderr, "tensorcook onnx: %s\n", tc_last_error());
        return 1;
    }
    printf("model: %s (opset %lld)\n", path, (long long)tc_onnx_opset(m));
    for (int io = 0; io < 2; io++) {
        int n = io ? tc_onnx_output_count(m) : tc_onnx_input_count(m);
        printf("%s:\n", io ? "outputs" : "inputs");
        for (int i = 0; i < n; i++) {
            int64_t dims[TC_MAX_DIMS];
            int r = io ? tc_onnx_output_shape(m, i, dims) : tc_onnx_input_shape(m, i, dims);
            tc_onnx_dtype dt = io ? tc_onnx_output_dtype(m, i) : tc_onnx_input_dtype(m, i);
            printf("  %-24s %s [", io ? tc_onnx_output_name(m, i) : tc_onnx_input_name(m, i),
                   dt == TC_ONNX_INT64 ? "int64" : "float");
            for (int d = 0; d < r; d++) {
                if (dims[d] < 0) printf(d ? ", ?" : "?");
                else printf(d ? ", %lld" : "%lld", (long long)dims[d]);
            }
            printf("%s\n", r < 0 ? "unknown]" : "]");
        }
    }
    /* operator counts, in order of first appearance */
    int nn = tc_onnx_node_count(m);
    const char **ops = calloc((size_t)nn + 1, sizeof *ops);
    int *counts = calloc((size_t)nn + 1, sizeof *counts), nops = 0, unsupported = 0;
    bool *ok = calloc((size_t)nn + 1, sizeof *ok);
    if (!ops || !counts || !ok) {
        fprintf(stderr, "tensorcook onnx: out of memory\n");
        free(ops), free(counts), free(ok);
        tc_onnx_free(m);
        return 1;
    }
    for (int i = 0; i < nn; i++) {
        const char *op = tc_onnx_node_op(m, i);
        if (!op) op = "?";
        int k = 0;
        while (k < nops && strcmp(ops[k], op)) k++;
        if (k == nops) {
            ops[nops++] = op;
            ok[k] = true;
        }
        if (!tc_onnx_node_supported(m, i)) ok[k] = false;
        counts[k]++;
    }
    printf("operators (%d nodes):\n", nn);
    for (int k = 0; k < nops; k++) printf("  %-24s %d%s\n", ops[k], counts[k], ok[k] ? "" : "  (not supported)");
    /* every node that will not run, with its name, subgraphs included */
    unsupported = tc_onnx_unsupported(m, 0, NULL, 0);
    if (unsupported) {
        printf("not supported: %d node%s (the model will not run; see docs/onnx.md):\n", unsupported, unsupported > 1 ? "s" : "");
        for (int k = 0; k < unsupported; k++) {
            char line[2048];
            tc_onnx_unsupported(m, k, line, sizeof line);
            printf("  %s\n", line);
        }
    }
    printf("parameters: %lld in %d initializers\n", (long long)tc_onnx_param_count(m), tc_onnx_initializer_count(m));
    free(ops);
    free(counts);
    free(ok);
    tc_onnx_free(m);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *model = NULL, *outdir = ".";
    const char *inputs[64];
    int n_inputs = 0;
    bool fold = true, profile = false;
    int runs = 0; /* 0: once, or 10 with --profile */
    tc_precision prec = TC_PRECISION_FP32;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            if (!tc_precision_parse(argv[++i], &prec)) {
                fprintf(stderr, "tensorcook onnx run: --precision %s: expected fp32, bf16 or int8\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--conv") && i + 1 < argc) {
            bool bad = false;
            opt_conv(argc, argv, &i, &bad); /* tc_conv_set_algorithm */
            if (bad) {
                fprintf(stderr, "tensorcook onnx run: --conv %s: expected auto, direct or winograd\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (n_inputs == 64) {
                fprintf(stderr, "tensorcook onnx run: too many inputs\n");
                return 2;
            }
            inputs[n_inputs++] = argv[++i];
        } else if (!strcmp(argv[i], "--output-dir") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(argv[i], "--no-fold")) fold = false;
        else if (!strcmp(argv[i], "--profile")) profile = true;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr, "tensorcook onnx run: --runs %s: expected a count from 1 to 1000000\n", argv[i]);
                return 2;
            }
            runs = (int)v;
        } else if (argv[i][0] == '-') return usage(stderr, 2);
        else if (!model) model = argv[i];
        else return usage(stderr, 2);
    }
    if (!model) return usage(stderr, 2);
    tc_onnx_model *m = tc_onnx_load(model);
    if (!m) {
        fprintf(stderr, "tensorcook onnx: %s\n", tc_last_error());
        return 1;
    }
    int rc = 1, nin = tc_onnx_input_count(m), nout = tc_onnx_output_count(m);
    tc_tensor **in = calloc((size_t)nin + 1, sizeof *in), **out = calloc((size_t)nout + 1, sizeof *out);
    tc_onnx_set_precision(m, prec);
    if (fold && tc_onnx_prepare_inference(m, NULL, NULL) != TC_OK) { /* inference only: run has no gradients */
        fprintf(stderr, "tensorcook onnx run: %s\n", tc_last_error());
        goto done;
    }
    if (n_inputs && n_inputs != nin) {
        fprintf(stderr, "tensorcook onnx run: %s takes %d inputs, %d given\n", model, nin, n_inputs);
        goto done;
    }
    for (int i = 0; i < nin; i++) {
        if (n_inputs) {
            tc_tensor *t = tc_onnx_read_tensor_file(inputs[i], NULL, NULL);
            if (!t) {
                fprintf(stderr, "tensorcook onnx run: %s\n", tc_last_error());
                goto done;
            }
            in[i] = tc_copy_of(t->data, t->ndim, t->shape);
            tc_tensor_free(t);
        } else {
            int64_t dims[TC_MAX_DIMS];
            int r = tc_onnx_input_shape(m, i, dims);
            for (int d = 0; d < r; d++)
                if (dims[d] < 0) dims[d] = 1;
            if (r < 0) {
                fprintf(stderr, "tensorcook onnx run: input '%s' has no declared shape; give --input\n",
                        tc_onnx_input_name(m, i));
                goto done;
            }
            in[i] = tc_zeros(r, dims);
        }
    }
    struct stat st;
    if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tensorcook onnx run: output folder %s does not exist\n", outdir);
        goto done;
    }
    tc_set_grad_enabled(false);
    if (profile && !runs) runs = 10;
    if (!runs) runs = 1;
    /* --profile: a warm-up run first (weights packed, buffer plan made), then
     * the timed runs; every run but the last gives its memory back */
    const tc_step_mark mark = tc_step_get_mark();
    const int64_t wino0 = tc_conv_winograd_runs();
    for (int r = 0; r < runs + (profile ? 1 : 0); r++) {
        if (profile && r == 1 && tc_onnx_set_profiling(m, true) != TC_OK) {
            fprintf(stderr, "tensorcook onnx run: %s\n", tc_last_error());
            goto done;
        }
        if (r > 0) tc_step_release(mark);
        if (tc_onnx_run(m, nin, in, nout, out) != TC_OK) {
            fprintf(stderr, "tensorcook onnx run: %s\n", tc_last_error());
            goto done;
        }
    }
    for (int i = 0; i < nout; i++) {
        char path[4096];
        pathf(path, sizeof path, "%s/output_%d.pb", outdir, i);
        if (tc_onnx_write_tensor_file(path, out[i], tc_onnx_output_dtype(m, i), tc_onnx_output_name(m, i)) != TC_OK) {
            fprintf(stderr, "tensorcook onnx run: %s\n", tc_last_error());
            goto done;
        }
        char shp[TC_SHAPE_STR_MAX];
        printf("%s %s -> %s\n", tc_onnx_output_name(m, i), tc_shape_str(out[i], shp, sizeof shp), path);
    }
    if (profile) onnx_print_profile(m, runs, stdout);
    /* which ran: the Convs run as Winograd over all the Conv nodes' runs
     * (Convs inside If/Loop bodies are not counted in the second figure) */
    int64_t convs = 0;
    for (int i = 0; i < tc_onnx_node_count(m); i++) {
        const char *op = tc_onnx_node_op(m, i);
        convs += op && !strcmp(op, "Conv");
    }
    printf("conv: %s, winograd for %lld of %lld Conv runs\n", tc_conv_algorithm_name(tc_conv_get_algorithm()),
           (long long)(tc_conv_winograd_runs() - wino0), (long long)(convs * (runs + (profile ? 1 : 0))));
    if (tc_onnx_block_runs(m) > 0) /* Conv chains (src/io/onnx_block.c) */
        printf("chains: %lld runs image by image, %lld of them in row bands\n", (long long)tc_onnx_block_runs(m),
               (long long)tc_onnx_block_banded_runs(m));
    /* branch-parallel regions (src/io/onnx_branches.c) */
    printf("interop: %d regions branch-parallel, %lld region runs\n", tc_onnx_interop_count(m),
           (long long)tc_onnx_interop_runs(m));
    rc = 0;
done:
    free(in);
    free(out);
    tc_onnx_free(m);
    tc_step_reset();
    return rc;
}

/* ---- test ---------------------------------------------------------------------- */
static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    for (;; n++) {
        char p[4200];
        pathf(p, sizeof p, "%s/%s_%d.pb", dir, prefix, n);
        struct stat st;
        if (stat(p, &st) != 0) break;
    }
    return n;
}

/* Runs one backend-test folder; returns 1 if every data set matches. */
static int test_one(const char *dir, double rtol, double atol, bool quiet)
{
    char path[4200];
    pathf(path, sizeof path, "%s/model.onnx", dir);
    tc_onnx_model *m = tc_onnx_load(path);
    if (!m) {
        printf("FAIL %s: %s\n", dir, tc_last_error());
        return 0;
    }
    int ok = 1, sets = 0;
    for (int s = 0; ok; s++) {
        char set[4200];
        pathf(set, sizeof set, "%s/test_data_set_%d", dir, s);
        struct stat st;
        if (stat(set, &st) != 0) break;
        sets++;
        int nin = count_files(set, "input"), nout = count_files(set, "output");
        tc_step_mark mark = tc_step_get_mark();
        tc_tensor *in[32] = {0}, *out[32] = {0};
        tc_onnx_dtype out_dt[32];
        if (nin != tc_onnx_input_count(m) || nout > tc_onnx_output_count(m) || nin > 32 || nout > 32) {
            printf("FAIL %s: data set %d has %d inputs / %d outputs, the model %d / %d\n", dir, s, nin, nout,
                   tc_onnx_input_count(m), tc_onnx_output_count(m));
            ok = 0;
            break;
        }
        for (int i = 0; i < nin && ok; i++) {
            pathf(path, sizeof path, "%s/input_%d.pb", set, i);
            tc_tensor *t = tc_onnx_read_tensor_file(path, NULL, NULL);
            if (!t) {
                printf("FAIL %s: %s\n", dir, tc_last_error());
                ok = 0;
                break;
            }
            in[i] = tc_copy_of(t->data, t->ndim, t->shape);
            tc_tensor_free(t);
        }
        if (ok && tc_onnx_run(m, nin, in, nout, out) != TC_OK) {
            printf("FAIL %s: %s\n", dir, tc_last_error());
            ok = 0;
        }
        for (int i = 0; i < nout && ok; i++) {
            pathf(path, sizeof path, "%s/output_%d.pb", set, i);
            tc_tensor *e = tc_onnx_read_tensor_file(path, &out_dt[i], NULL);
            if (!e) {
                printf("FAIL %s: %s\n", dir, tc_last_error());
                ok = 0;
                break;
            }
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            int64_t n = tc_numel(e);
            bool shape_ok = out[i]->ndim == e->ndim || (tc_numel(out[i]) == n && n == 1);
            for (int d = 0; shape_ok && d < e->ndim && out[i]->ndim == e->ndim; d++) shape_ok = out[i]->shape[d] == e->shape[d];
            if (!shape_ok || tc_numel(out[i]) != n) {
                printf("FAIL %s: output %d has shape %s, expected %s\n", dir, i, tc_shape_str(out[i], a, sizeof a),
                       tc_shape_str(e, b, sizeof b));
                tc_tensor_free(e);
                ok = 0;
                break;
            }
            tc_scalar *got = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
            tc_read_values(out[i], got);
            double worst = 0, worst_excess = 0;
            int64_t at = -1;
            for (int64_t k = 0; k < n; k++) {
                double x = got[k], y = e->data[k];
                if (out_dt[i] == TC_ONNX_INT64) x = nearbyint(x);
                double diff = fabs(x - y);
                bool bad = (isnan(x) != isnan(y)) || (!isnan(y) && diff > atol + rtol * fabs(y));
                if (isinf(y) && x == y) bad = false;
                if (diff > worst || (bad && at < 0)) worst = diff;
                if (bad && (at < 0 || diff - (atol + rtol * fabs(y)) > worst_excess)) {
                    worst_excess = diff - (atol + rtol * fabs(y));
                    at = k;
                }
            }
            if (at >= 0) {
                printf("FAIL %s: output %d differs: largest difference %.3g (element %lld: got %.7g, expected %.7g)\n",
                       dir, i, worst, (long long)at, (double)got[at], (double)e->data[at]);
                ok = 0;
            } else if (!quiet) {
                printf("ok   %s: output %d, largest difference %.3g\n", dir, i, worst);
            }
            free(got);
            tc_tensor_free(e);
        }
        tc_step_release(mark);
    }
    if (ok && sets == 0) {
        printf("FAIL %s: no test_data_set_* folders\n", dir);
        ok = 0;
    }
    tc_onnx_free(m);
    return ok;
}

static int cmd_test(int argc, char **argv)
{
    double rtol = 1e-3, atol = 1e-7;
    const char *list = NULL, *root = ".";
    bool quiet = false;
    char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    int nd = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--rtol") && i + 1 < argc) rtol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--atol") && i + 1 < argc) atol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--list") && i + 1 < argc) list = argv[++i];
        else if (!strcmp(argv[i], "--root") && i + 1 < argc) root = argv[++i];
        else if (!strcmp(argv[i], "--quiet")) quiet = true;
        else if (argv[i][0] == '-') {
            free(dirs);
            return usage(stderr, 2);
        } else dirs[nd++] = argv[i];
    }
    tc_set_grad_enabled(false);
    int passed = 0, failed = 0;
    for (int i = 0; i < nd; i++) (test_one(dirs[i], rtol, atol, quiet) ? passed++ : failed++);
    if (list) {
        FILE *f = fopen(list, "r");
        if (!f) {
            fprintf(stderr, "tensorcook onnx test: cannot open %s: %s\n", list, strerror(errno));
            free(dirs);
            return 2;
        }
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n#")] = '\0';
            char *s = line;
            while (*s == ' ' || *s == '\t') s++;
            size_t len = strlen(s);
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) s[--len] = '\0';
            if (!*s) continue;
            char dir[2200];
            pathf(dir, sizeof dir, "%s/%s", root, s);
            (test_one(dir, rtol, atol, quiet) ? passed++ : failed++);
        }
        fclose(f);
    }
    free(dirs);
    if (passed + failed == 0) return usage(stderr, 2);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int tc_cmd_onnx(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(argc < 2 ? stderr : stdout, argc < 2 ? 2 : 0);
    if (!strcmp(argv[1], "info")) return argc == 3 ? cmd_info(argv[2]) : usage(stderr, 2);
    if (!strcmp(argv[1], "ops")) {
        if (argc != 2) return usage(stderr, 2);
        for (int i = 0; tc_onnx_supported_op(i); i++) printf("%s\n", tc_onnx_supported_op(i));
        return 0;
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "test")) return cmd_test(argc - 2, argv + 2);
    if (!strcmp(argv[1], "export")) return tc_onnx_export_command(argc - 2, argv + 2);
    fprintf(stderr, "tensorcook onnx: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr, 2);
}
