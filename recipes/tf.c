/* tensorcook tf: inspect and run TensorFlow frozen graphs (GraphDef .pb).
 *   tensorcook tf info GRAPH.pb
 *   tensorcook tf run GRAPH.pb --input NAME=FILE.npy ... --output NAME --out FILE.npy ...
 * Library API used: include/tensorcook/tf_graph.h. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tensorcook/tf_graph.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook tf info GRAPH.pb\n"
               "       tensorcook tf run GRAPH.pb --input NAME=FILE.npy ... --output NAME --out FILE.npy ... [--threads N]\n"
               "\n"
               "info   the placeholders with their declared shapes, operator counts, the number of weights\n"
               "       and the name and operator of every tensor (the layer names DeepDream takes)\n"
               "run    feeds each NAME (a placeholder, or any node to replace) from a .npy file, computes\n"
               "       each --output (\"node\" or \"node:0\") and writes it to the --out of the same rank\n"
               "       (float32 .npy, written atomically); int32/int64 constants compute as floats\n");
    return rc;
}

static int cmd_info(const char *path)
{
    tc_tf_model *m = tc_tf_load(path);
    if (!m) {
        fprintf(stderr, "tensorcook tf: %s\n", tc_last_error());
        return 1;
    }
    int n = tc_tf_node_count(m);
    printf("graph: %s (%d nodes)\ninputs:\n", path, n);
    for (int i = 0; i < tc_tf_input_count(m); i++) {
        int64_t dims[TC_MAX_DIMS];
        int r = tc_tf_input_shape(m, i, dims);
        printf("  %-24s float [", tc_tf_node_name(m, tc_tf_input_node(m, i)));
        for (int d = 0; d < r; d++) {
            if (dims[d] < 0) printf(d ? ", ?" : "?");
            else printf(d ? ", %lld" : "%lld", (long long)dims[d]);
        }
        printf("%s\n", r < 0 ? "unknown]" : "]");
    }
    /* operator counts, in order of first appearance */
    const char **ops = calloc((size_t)n + 1, sizeof *ops);
    int *counts = calloc((size_t)n + 1, sizeof *counts), nops = 0;
    if (!ops || !counts) {
        fprintf(stderr, "tensorcook tf: out of memory\n");
        free(ops), free(counts), tc_tf_free(m);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const char *op = tc_tf_node_op(m, i);
        int k = 0;
        while (k < nops && strcmp(ops[k], op)) k++;
        if (k == nops) ops[nops++] = op;
        counts[k]++;
    }
    printf("operators:\n");
    for (int k = 0; k < nops; k++) printf("  %-24s %d\n", ops[k], counts[k]);
    printf("parameters: %lld (float constants)\ntensors (name, operator):\n", (long long)tc_tf_param_count(m));
    for (int i = 0; i < n; i++) printf("  %-56s %s\n", tc_tf_node_name(m, i), tc_tf_node_op(m, i));
    free(ops);
    free(counts);
    tc_tf_free(m);
    return 0;
}

#define TF_MAX_IO 64

static int cmd_run(int argc, char **argv)
{
    const char *graph = NULL, *feed_names[TF_MAX_IO], *feed_files[TF_MAX_IO], *fetch[TF_MAX_IO], *outs[TF_MAX_IO];
    char *names_buf[TF_MAX_IO];
    int n_feed = 0, n_fetch = 0, n_out = 0, rc = 1;
    long long threads = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_int(argc, argv, &i, "--threads", &threads, &bad)) continue;
        if (opt_str(argc, argv, &i, "--input", &v)) {
            if (!v) { /* opt_str said so */
                bad = true;
                break;
            }
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1] || n_feed == TF_MAX_IO) {
                fprintf(stderr, "tensorcook tf run: --input takes NAME=FILE.npy, at most %d times (got '%s')\n", TF_MAX_IO, v);
                bad = true;
                break;
            }
            names_buf[n_feed] = strndup(v, (size_t)(eq - v));
            feed_names[n_feed] = names_buf[n_feed];
            feed_files[n_feed++] = eq + 1;
        } else if (opt_str(argc, argv, &i, "--output", &v)) {
            if (!v || n_fetch == TF_MAX_IO) bad = true;
            else fetch[n_fetch++] = v;
            if (v && bad) fprintf(stderr, "tensorcook tf run: at most %d outputs\n", TF_MAX_IO);
        } else if (opt_str(argc, argv, &i, "--out", &v)) {
            if (!v || n_out == TF_MAX_IO) bad = true;
            else outs[n_out++] = v;
            if (v && bad) fprintf(stderr, "tensorcook tf run: at most %d outputs\n", TF_MAX_IO);
        } else if (argv[i][0] != '-' && !graph) graph = argv[i];
        else {
            fprintf(stderr, "tensorcook tf run: unexpected argument '%s'\n", argv[i]);
            bad = true;
        }
    }
    if (!bad && (!graph || n_fetch == 0 || n_fetch != n_out)) {
        fprintf(stderr, "tensorcook tf run: needs GRAPH.pb and as many --out FILE.npy as --output NAME\n");
        bad = true;
    }
    tc_tf_model *m = NULL;
    tc_tensor *x[TF_MAX_IO] = {0}, *y[TF_MAX_IO] = {0};
    if (bad) {
        rc = 2;
        goto done;
    }
    set_threads("tf run", threads);
    if (!(m = tc_tf_load(graph))) goto fail;
    for (int k = 0; k < n_feed; k++)
        if (!(x[k] = tc_npy_load(feed_files[k]))) goto fail;
    bool was = tc_set_grad_enabled(false);
    tc_status s = tc_tf_run(m, n_feed, feed_names, x, n_fetch, fetch, y);
    tc_set_grad_enabled(was);
    if (s != TC_OK) goto fail;
    /* every output computed before the first file is written */
    for (int k = 0; k < n_fetch; k++) {
        if (tc_npy_save(outs[k], y[k]) != TC_OK) goto fail;
        char shp[TC_SHAPE_STR_MAX];
        printf("%s %s -> %s\n", fetch[k], tc_shape_str(y[k], shp, sizeof shp), outs[k]);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tensorcook tf: %s\n", tc_last_error());
done:
    for (int k = 0; k < n_feed; k++) {
        tc_tensor_free(x[k]);
        free(names_buf[k]);
    }
    tc_step_reset();
    tc_tf_free(m);
    return rc;
}

int tc_cmd_tf(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(argc < 2 ? stderr : stdout, argc < 2 ? 2 : 0);
    if (!strcmp(argv[1], "info")) {
        if (argc != 3) return usage(stderr, 2);
        return cmd_info(argv[2]);
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "tensorcook tf: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr, 2);
}
