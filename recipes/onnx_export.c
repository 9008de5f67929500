/* tensorcook onnx export CHECKPOINT --out model.onnx [--opset N] [--seq-len N]
 *
 * Rebuilds the model a recipe's checkpoint holds and writes it as ONNX
 * (tc_onnx_export). Which recipe wrote the file is read from its entries:
 *   charrnn   extra/charrnn/vocabulary, layers, units (tc_charrnn_save);
 *             the input length is --seq-len [25, the recipe's]
 *   forecast  extra/forecast/series, past, future, units, layers
 *   video     extra/video/method (frames, cnn-rnn, c3d), size, classes, divisor
 *   textcnn   embedding/embeddings and conv_3/4/5 kernels; merged along the
 *             channels when dense/kernel has 3 x 128 rows; --seq-len [100]
 *   mnist     conv2d, conv2d_1 (5x5 kernels), dense, dense_1
 *   cifar10   conv2d, conv2d_1, conv2d_2 (3x3 kernels), dense, dense_1
 * (the vision recipes' sizes come from the kernels: channels, filters,
 * hidden units and classes; the image is square, side 4 x sqrt(dense rows /
 * filters)). The weights are then loaded with the checkpoint's own check
 * that every name and shape fits, so a file of another model is an error,
 * not a wrong export. --check re-imports the written file and compares its
 * outputs with the model's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "recipe_models.h"
#include "tensorcook/models.h"
#include "tensorcook/onnx.h"
#include "tensorcook/autograd.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook onnx export CHECKPOINT --out MODEL.onnx [--opset N] [--seq-len N] [--check]\n"
               "  CHECKPOINT   a checkpoint of mnist, cifar10, charrnn, forecast, textcnn or video\n"
               "  --out FILE   the ONNX model to write (atomically)\n"
               "  --opset N    13 to 17 [17]\n"
               "  --seq-len N  input length of charrnn [25] and textcnn [100] models\n"
               "  --check      re-import the file and compare its outputs with the model's on random\n"
               "               inputs (1e-5 relative)\n");
    return rc;
}

static int64_t dim(const tc_checkpoint *ck, const char *name, int axis)
{
    const tc_tensor *t = tc_checkpoint_get(ck, name);
    return t && axis < t->ndim ? t->shape[axis] : -1;
}

/* side of the square image whose two 2x2 poolings give rows = side/4 squared x filters */
static int64_t image_side(const tc_checkpoint *ck, const char *last_conv)
{
    int64_t rows = dim(ck, "dense/kernel", 0), f = dim(ck, last_conv, 3);
    if (rows < 1 || f < 1 || rows % f) return -1;
    int64_t s = (int64_t)llround(sqrt((double)(rows / f)));
    return s * s * f == rows ? 4 * s : -1;
}

/* --check: the written file, re-imported, on random inputs of batch 2 (ids
 * below id_range for int64 inputs) gives the model's outputs to 1e-5
 * relative (+ 1e-6 absolute). */
static tc_status check_export(tc_model *m, const char *path, int64_t id_range)
{
    tc_onnx_model *om = tc_onnx_load(path);
    if (!om) return tc_last_status();
    int ni = tc_onnx_input_count(om), no = tc_onnx_output_count(om);
    tc_tensor *xs[8], *cf[8], *want[8], *got[8];
    tc_rng r = tc_rng_new(7);
    tc_status s = ni <= 8 && no <= 8 ? TC_OK : tc_error(TC_ERR_ARG, "%s: %d inputs and %d outputs", path, ni, no);
    for (int i = 0; s == TC_OK && i < ni; i++) {
        int64_t shape[TC_MAX_DIMS] = {2};
        int nd = tc_model_input_shape(m, i, shape + 1) + 1;
        xs[i] = tc_empty(nd, shape);
        if (!xs[i]) return tc_onnx_free(om), tc_last_status();
        int64_t n = tc_numel(xs[i]);
        if (tc_onnx_input_dtype(om, i) == TC_ONNX_INT64)
            for (int64_t k = 0; k < n; k++) xs[i]->data[k] = (tc_scalar)tc_rng_below(&r, (uint64_t)(id_range > 0 ? id_range : 1));
        else
            tc_rng_uniform(&r, xs[i]->data, n, -1, 1);
        cf[i] = tc_onnx_export_layout(xs[i], true);
    }
    if (s == TC_OK) s = tc_model_forward_multi(m, ni, xs, false, no, want);
    if (s == TC_OK) s = tc_onnx_run(om, ni, cf, no, got);
    double worst = 0;
    for (int j = 0; s == TC_OK && j < no; j++) {
        tc_tensor *g = tc_onnx_export_layout(got[j], false), *w = tc_contiguous(want[j]);
        g = g ? tc_contiguous(g) : NULL;
        if (!g || !w || tc_numel(g) != tc_numel(w)) {
            s = tc_error(TC_ERR_SHAPE, "%s: output %d has %lld values, the model's %lld", path, j,
                         (long long)(g ? tc_numel(g) : -1), (long long)tc_numel(want[j]));
            break;
        }
        const tc_scalar *a = g->data, *b = w->data;
        for (int64_t k = 0; k < tc_numel(g); k++) {
            double d = fabs((double)a[k] - (double)b[k]), tol = 1e-5 * fabs((double)b[k]) + 1e-6;
            if (d / tol > worst) worst = d / tol;
        }
    }
    if (s == TC_OK && worst > 1)
        s = tc_error(TC_ERR_STATE, "%s: re-imported outputs differ from the model's (%.1f x the tolerance 1e-5 relative)", path, worst);
    if (s == TC_OK) printf("check: %s re-imported gives the model's %d output%s (within %.2f of the tolerance)\n", path, no,
                           no == 1 ? "" : "s", worst);
    tc_onnx_free(om);
    return s;
}

static tc_model *rebuild(const char *path, const tc_checkpoint *ck, long long seq_len, const char **recipe, int64_t *id_range)
{
    double v[5];
    if (tc_checkpoint_get(ck, "extra/charrnn/vocabulary") || tc_checkpoint_get(ck, "charrnn/vocabulary")) {
        *recipe = "charrnn";
        int V;
        uint32_t *chars = NULL;
        tc_model *m = tc_charrnn_load(path, seq_len > 0 ? (int)seq_len : 25, NULL, &V, &chars, NULL);
        free(chars);
        *id_range = V;
        return m;
    }
    static const char *fk[5] = {"extra/forecast/series", "extra/forecast/past", "extra/forecast/future", "extra/forecast/units",
                                "extra/forecast/layers"};
    bool forecast = true;
    for (int i = 0; i < 5; i++) forecast &= tc_checkpoint_get_scalar(ck, fk[i], &v[i]) && v[i] >= 1 && v[i] <= 1 << 20;
    if (forecast) {
        *recipe = "forecast";
        return tc_seq2seq_gru(&(tc_seq2seq_gru_opts){.series = (int)v[0], .past = (int)v[1], .future = (int)v[2],
                                                     .units = (int)v[3], .layers = (int)v[4]});
    }
    static const char *vk[4] = {"extra/video/method", "extra/video/size", "extra/video/classes", "extra/video/divisor"};
    bool video = true;
    for (int i = 0; i < 4; i++) video &= tc_checkpoint_get_scalar(ck, vk[i], &v[i]) && v[i] >= 0 && v[i] <= 1 << 16;
    if (video) {
        static const char *names[3] = {"video --method frames", "video --method cnn-rnn", "video --method c3d"};
        *recipe = names[v[0] >= 0 && v[0] <= 2 ? (int)v[0] : 2];
        return video_model((int)v[0], (int)v[1], (int)v[2], (int)v[3] < 1 ? 1 : (int)v[3]);
    }
    if (tc_checkpoint_get(ck, "embedding/embeddings") && tc_checkpoint_get(ck, "conv_3/kernel")) {
        *recipe = "textcnn";
        int64_t vocab = dim(ck, "embedding/embeddings", 0), rows = dim(ck, "dense/kernel", 0), f = dim(ck, "conv_3/kernel", 2);
        *id_range = vocab;
        return textcnn_model(vocab, seq_len > 0 ? seq_len : 100, rows == 3 * f);
    }
    if (tc_checkpoint_get(ck, "conv2d/kernel") && tc_checkpoint_get(ck, "conv2d_1/kernel") && tc_checkpoint_get(ck, "dense_1/kernel")) {
        bool cifar = tc_checkpoint_get(ck, "conv2d_2/kernel") != NULL;
        *recipe = cifar ? "cifar10" : "mnist";
        const char *last = cifar ? "conv2d_2/kernel" : "conv2d_1/kernel";
        int64_t side = image_side(ck, last);
        if (side < 1) {
            tc_error(TC_ERR_FORMAT, "%s: dense/kernel's rows do not fit a square image after two poolings", path);
            return NULL;
        }
        int c = (int)dim(ck, "conv2d/kernel", 2), f1 = (int)dim(ck, "conv2d/kernel", 3), f2 = (int)dim(ck, last, 3);
        int hidden = (int)dim(ck, "dense/kernel", 1), classes = (int)dim(ck, "dense_1/kernel", 1);
        if (cifar)
            return tc_cifar10_cnn(&(tc_cifar10_cnn_opts){.classes = classes, .height = side, .width = side, .channels = c,
                                                        .filters1 = f1, .filters2 = f2, .hidden = hidden});
        return tc_mnist_cnn(&(tc_mnist_cnn_opts){.classes = classes, .height = side, .width = side, .channels = c,
                                                .filters1 = f1, .filters2 = f2, .hidden = hidden});
    }
    tc_error(TC_ERR_FORMAT, "%s: not a checkpoint of a model this command rebuilds (mnist, cifar10, charrnn, forecast, textcnn, video)",
             path);
    return NULL;
}

int tc_onnx_export_command(int argc, char **argv)
{
    const char *ckpt = NULL, *out = NULL;
    long long opset = 17, seq_len = 0;
    bool bad = false, check = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--check")) {
            check = true;
            continue;
        }
        if (opt_str(argc, argv, &i, "--out", &out) || opt_int(argc, argv, &i, "--opset", &opset, &bad) ||
            opt_int(argc, argv, &i, "--seq-len", &seq_len, &bad))
            continue;
        if (argv[i][0] == '-' || ckpt) {
            fprintf(stderr, "tensorcook onnx export: unexpected argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
        ckpt = argv[i];
    }
    if (bad || !ckpt || !out || seq_len < 0) return usage(stderr, 2);
    tc_checkpoint *ck = tc_checkpoint_load(ckpt);
    const char *recipe = "?";
    int64_t id_range = 0;
    tc_model *m = ck ? rebuild(ckpt, ck, seq_len, &recipe, &id_range) : NULL;
    /* charrnn's loader read the weights already */
    tc_status s = m ? TC_OK : tc_last_status();
    if (m && strcmp(recipe, "charrnn")) {
        s = tc_checkpoint_get_model(ck, m, NULL);
        if (s != TC_OK) {
            char msg[900];
            snprintf(msg, sizeof msg, "%s", tc_last_error());
            tc_error(s, "%s (read as %s): %s", ckpt, recipe, msg);
        }
    }
    if (s == TC_OK) s = tc_onnx_export(m, out, (int)opset);
    if (s == TC_OK) {
        int64_t n = tc_model_count_params(m, NULL, NULL);
        printf("%s: the %s model (%lld parameters) written to %s (opset %lld)\n", ckpt, recipe, (long long)n, out, opset);
        if (check) s = check_export(m, out, id_range);
    }
    if (s != TC_OK) {
        fprintf(stderr, "tensorcook onnx export: %s\n", tc_last_error());
    }
    tc_model_free(m);
    tc_checkpoint_free(ck);
    return s == TC_OK ? 0 : 1;
}
