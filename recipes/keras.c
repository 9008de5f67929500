/* tensorcook keras: inspect and run Keras .h5 files.
 *   tensorcook keras info MODEL.h5
 *   tensorcook keras run MODEL.h5 --input FILE.npy [--input ...] [--output OUT.npy]
 * info lists the layers, their classes (from model_config, when the file
 * has one), every weight's stored name and shape and the parameter count;
 * it works for weight-only files (save_weights, the application files).
 * run builds a full-model file's Sequential or functional model from the
 * layers tensorcook has, loads its weights and runs it on .npy inputs
 * (batch axis first), writing the outputs as .npy. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook keras info MODEL.h5\n"
               "       tensorcook keras run MODEL.h5 --input FILE.npy [--input FILE.npy]... [options]\n"
               "\n"
               "info   layers, classes, weight names and shapes, parameter count (weight-only files too)\n"
               "run    build a full-model file (model_config: Sequential or functional) and run it\n"
               "  --input FILE.npy     one per model input, batch axis first (float, int or bool arrays)\n"
               "  --output FILE.npy    where output 0 goes [OUT/output_0.npy]; further outputs: output_K.npy in OUT\n"
               "  --out DIR            folder of the outputs when --output is not given [.]\n"
               "  --threads N          threads [TENSORCOOK_THREADS or all cores]\n"
               "  --seed N             seed of the generators (the model is run in inference mode) [42]\n"
               "  --summary-json FILE  outputs, parameters, seconds\n");
    return rc;
}

static void print_shape(int nd, const int64_t *s)
{
    printf("[");
    for (int d = 0; d < nd; d++) printf(d ? ", %lld" : "%lld", (long long)s[d]);
    printf("]");
}

static int cmd_info(const char *path)
{
    tc_keras_file *f = tc_keras_open(path);
    if (!f) {
        fprintf(stderr, "tensorcook keras: %s\n", tc_last_error());
        return 1;
    }
    const char *backend = tc_keras_file_backend(f), *cls = tc_keras_file_model_class(f);
    printf("file: %s\n", path);
    printf("keras_version: %s%s, backend: %s\n", tc_keras_file_version(f),
           !strcmp(tc_keras_file_version(f), "1") ? " (no keras_version attribute: Keras 1)" : "",
           backend ? backend : "(none)");
    printf("model: %s\n", cls ? cls : "none (a weight-only file)");
    printf("%-32s %-22s %s\n", "layer", "class", "weights");
    int with = 0, nw = 0;
    for (int i = 0; i < tc_keras_file_layer_count(f); i++) {
        const char *lc = tc_keras_file_layer_class(f, i);
        int n = tc_keras_file_weight_count(f, i);
        with += n > 0;
        nw += n;
        printf("%-32s %-22s", tc_keras_file_layer_name(f, i), lc ? lc : "-");
        for (int j = 0; j < n; j++) {
            int64_t shape[TC_MAX_DIMS];
            int nd = tc_keras_file_weight_shape(f, i, j, shape);
            if (j) printf("\n%-55s", "");
            printf(" %s ", tc_keras_file_weight_name(f, i, j));
            print_shape(nd, shape);
        }
        printf("\n");
    }
    printf("parameters: %lld in %d weights (%d layers, %d with weights)\n", (long long)tc_keras_file_param_count(f), nw,
           tc_keras_file_layer_count(f), with);
    tc_keras_close(f);
    if (cls) {
        /* what tensorcook makes of the model_config */
        tc_model *m = tc_load_keras_model(path);
        if (m) {
            printf("\ntensorcook builds this model:\n");
            tc_model_summary(m, stdout);
            tc_model_free(m);
        } else printf("\ntensorcook cannot run this model: %s\n", tc_last_error());
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *model = NULL, *output = NULL, *outdir = ".", *summary = NULL, *inputs[16];
    long long threads = 0, seed = 42;
    int n_inputs = 0;
    bool bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_str(argc, argv, &i, "--input", &v)) {
            if (!v) return 2;
            if (n_inputs == 16) {
                fprintf(stderr, "tensorcook keras run: at most 16 inputs\n");
                return 2;
            }
            inputs[n_inputs++] = v;
            continue;
        }
        if (opt_str(argc, argv, &i, "--output", &output) || opt_str(argc, argv, &i, "--out", &outdir) ||
            opt_str(argc, argv, &i, "--summary-json", &summary)) {
            if (!output && !strcmp(argv[i - 1], "--output")) return 2;
            if (!outdir || (!summary && !strcmp(argv[i - 1], "--summary-json"))) return 2;
            continue;
        }
        if (opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad)) continue;
        if (argv[i][0] == '-') {
            fprintf(stderr, "tensorcook keras run: unknown option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
        if (model) return usage(stderr, 2);
        model = argv[i];
    }
    if (bad) return 2;
    if (!model || !n_inputs) {
        fprintf(stderr, "tensorcook keras run: needs MODEL.h5 and at least one --input FILE.npy\n");
        return 2;
    }
    set_threads("keras", threads);
    tc_manual_seed((uint64_t)seed);
    tc_nn_seed((uint64_t)seed);
    tc_model *m = tc_load_keras_model(model);
    if (!m) {
        fprintf(stderr, "tensorcook keras: %s\n", tc_last_error());
        return 1;
    }
    int nin = 0, nout = 0;
    int64_t shape[TC_MAX_DIMS];
    while (tc_model_input_shape(m, nin, shape) >= 0) nin++;
    while (tc_model_output_shape(m, nout, shape) >= 0) nout++;
    int rc = 1;
    tc_tensor *in[16] = {0}, *out[16] = {0};
    if (n_inputs != nin) {
        fprintf(stderr, "tensorcook keras run: %s takes %d input%s, %d given\n", model, nin, nin == 1 ? "" : "s", n_inputs);
        goto done;
    }
    if (nout > 16) nout = 16;
    for (int i = 0; i < nin; i++) {
        if (!(in[i] = tc_npy_load(inputs[i]))) {
            fprintf(stderr, "tensorcook keras run: %s\n", tc_last_error());
            goto done;
        }
        int nd = tc_model_input_shape(m, i, shape);
        bool fits = in[i]->ndim == nd + 1;
        for (int d = 0; fits && d < nd; d++) fits = in[i]->shape[d + 1] == shape[d];
        if (!fits) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX] = "[batch";
            tc_shape_str(in[i], a, sizeof a);
            for (int d = 0; d < nd; d++) snprintf(b + strlen(b), sizeof b - strlen(b), ", %lld", (long long)shape[d]);
            strcat(b, "]");
            fprintf(stderr, "tensorcook keras run: %s: array %s does not fit the model's input %d %s\n", inputs[i], a, i, b);
            goto done;
        }
    }
    if (!output && !prepare_out_dir("keras", outdir)) goto done;
    tc_set_grad_enabled(false);
    if (tc_model_prepare_inference(m, NULL, NULL) != TC_OK) { /* inference only: folds and fuses (nn.h) */
        fprintf(stderr, "tensorcook keras run: %s\n", tc_last_error());
        goto done;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (tc_model_forward_multi(m, nin, in, false, nout, out) != TC_OK) {
        fprintf(stderr, "tensorcook keras run: %s\n", tc_last_error());
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int k = 0; k < nout; k++) {
        char path[4200];
        if (k == 0 && output) snprintf(path, sizeof path, "%s", output);
        else snprintf(path, sizeof path, "%s/output_%d.npy", outdir, k);
        if (tc_npy_save(path, out[k]) != TC_OK) {
            fprintf(stderr, "tensorcook keras run: %s\n", tc_last_error());
            goto done;
        }
        char s[TC_SHAPE_STR_MAX];
        printf("output %d %s -> %s\n", k, tc_shape_str(out[k], s, sizeof s), path);
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (summary) {
        const char *keys[] = {"outputs", "parameters", "seconds"};
        double vals[] = {nout, (double)tc_model_count_params(m, NULL, NULL), secs};
        if (!write_summary_json("keras", summary, 3, keys, vals)) goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < 16; i++) tc_tensor_free(in[i]);
    tc_step_reset();
    tc_model_free(m);
    return rc;
}

int tc_cmd_keras(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(argc < 2 ? stderr : stdout, argc < 2 ? 2 : 0);
    if (!strcmp(argv[1], "info")) {
        if (argc == 3 && strcmp(argv[2], "--help")) return cmd_info(argv[2]);
        return usage(argc == 3 ? stdout : stderr, argc == 3 ? 0 : 2);
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
    fprintf(stderr, "tensorcook keras: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr, 2);
}
