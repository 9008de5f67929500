/* tensorcook style: the cookbook's neural style transfer (Gatys et al.):
 * repaints a content image in the style of another with VGG19 (average
 * pooling), from MatConvNet .mat or Keras .h5 weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "style.h"
#include "tensorcook/matconvnet.h"
#include "vision.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook style [options]\n"
            "  --content IMAGE     the image to repaint [" VISION_DEFAULT_IMAGES "/dog.jpg]\n"
            "  --style IMAGE       the painting whose style is taken; resized to the content's size\n"
            "                      [" VISION_DEFAULT_IMAGES "/scream.jpg]\n"
            "  --weights FILE      VGG19 weights: MatConvNet imagenet-vgg-verydeep-19.mat (*.mat) or Keras\n"
            "                      vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5; without it they are random\n"
            "  --size N            scale the content image so that its longer side is N [its own size]\n"
            "  --iters N           Adam steps (lr 2.0) on the image [5000, log0's ITERATIONS]\n"
            "  --out DIR           output folder: <it>.png every 100 steps, final.png, losses.csv, losses.png [style_out]\n"
            "  --dump DIR          also write the inputs, step-0 losses and gradient and the step-1 image as .npy\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n" CONV_OPT_HELP_DEFAULT("winograd")
            "  --seed N            seed of the start noise and of random weights [42]\n"
            "  --summary-json FILE first_loss, last_loss (total = 5 content + 100 style), seconds_per_iteration,\n"
            "                      cpu_seconds_per_iteration (wall and process CPU time, the first step not counted), conv\n");
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

/* Keras' VGG19 file was converted from Caffe and takes BGR; the cookbook
 * (and MatConvNet's file) feeds RGB: reverse block1_conv1's input channels
 * so that both files see the same RGB image. */
static void kernel_bgr_to_rgb(tc_model *m)
{
    tc_layer *l = tc_model_layer(m, "block1_conv1");
    tc_tensor *k = tc_layer_weight(l, 0); /* [3, 3, 3, K] */
    int64_t K = k->shape[3];
    for (int64_t hw = 0; hw < 9; hw++)
        for (int64_t o = 0; o < K; o++) {
            tc_scalar *p = k->data + hw * 3 * K + o, t = p[0];
            p[0] = p[2 * K], p[2 * K] = t;
        }
}

/* The content image at --size (Pillow bilinear), or NULL with a one-line error. */
static tc_tensor *content_image(const char *path, long long size)
{
    tc_tensor *img = tc_image_load_resized(path, 0, 0, TC_INTERP_BILINEAR);
    if (!img || !size) return img;
    int64_t h = img->shape[0], w = img->shape[1], longer = h > w ? h : w;
    int64_t nh = (int64_t)llround((double)h * (double)size / (double)longer);
    int64_t nw = (int64_t)llround((double)w * (double)size / (double)longer);
    tc_tensor *r = tc_image_resize(img, nh < 1 ? 1 : nh, nw < 1 ? 1 : nw, TC_INTERP_BILINEAR);
    tc_tensor_free(img);
    return r;
}

static bool write_history(const char *cmd, const char *dir, const style_run_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/losses.csv", dir);
    size_t cap = 64 + (size_t)r->n * 96, len = 0;
    char *buf = malloc(cap);
    if (!buf) return false;
    len += (size_t)snprintf(buf, cap, "iteration,total,content,style\n");
    for (int i = 0; i < r->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d,%.9g,%.9g,%.9g\n", i, r->total[i], r->content[i], r->style[i]);
    bool ok = tc_write_file_atomic(path, buf, len) == TC_OK;
    free(buf);
    double *x = malloc(sizeof *x * (size_t)r->n), *y[3] = {0};
    for (int k = 0; k < 3; k++) y[k] = malloc(sizeof *y[k] * (size_t)r->n);
    ok = ok && x && y[0] && y[1] && y[2];
    for (int i = 0; ok && i < r->n; i++) {
        x[i] = i;
        const double v[3] = {r->total[i], r->content[i], r->style[i]};
        for (int k = 0; k < 3; k++) y[k][i] = v[k] > 0 ? log10(v[k]) : NAN;
    }
    if (ok) {
        tc_plot_line lines[3] = {{"total", r->n, x, y[0], 0, 0, 0, false},
                                 {"5 content", r->n, x, y[1], 0.1, 0.4, 0.9, false},
                                 {"100 style", r->n, x, y[2], 0.9, 0.3, 0.1, true}};
        snprintf(path, sizeof path, "%s/losses.png", dir);
        ok = tc_plot_lines(path, "style transfer: losses", "iteration", "log10 loss", 3, lines) == TC_OK;
    }
    free(x);
    for (int k = 0; k < 3; k++) free(y[k]);
    if (!ok) fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
    return ok;
}

int tc_cmd_style(int argc, char **argv)
{
    const char *content_path = VISION_DEFAULT_IMAGES "/dog.jpg", *style_path = VISION_DEFAULT_IMAGES "/scream.jpg",
               *weights = NULL, *out_dir = "style_out", *dump_dir = NULL, *summary_json = NULL;
    long long threads = 0, seed = 42, size = 0, iters = 5000;
    bool bad = false;
    /* Winograd by default here: the image's gradient differs from the direct
     * path's by ~2e-5 of its largest value and the losses by ~1e-7 relative
     * (docs/perf.md, "Winograd F(4x4,3x3)"), far below what repainting an
     * image can see, for ~1.6x less time per step; --conv direct or
     * TENSORCOOK_CONV=direct gives the reference path */
    if (!getenv("TENSORCOOK_CONV")) tc_conv_set_algorithm(TC_CONV_WINOGRAD);
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (vision_opt_str(argc, argv, &i, "--content", &content_path, &bad) ||
            vision_opt_str(argc, argv, &i, "--style", &style_path, &bad) ||
            vision_opt_str(argc, argv, &i, "--weights", &weights, &bad) ||
            vision_opt_str(argc, argv, &i, "--out", &out_dir, &bad) ||
            vision_opt_str(argc, argv, &i, "--dump", &dump_dir, &bad) ||
            vision_opt_str(argc, argv, &i, "--summary-json", &summary_json, &bad) || opt_conv(argc, argv, &i, &bad) ||
            opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
            opt_int(argc, argv, &i, "--size", &size, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad))
            continue;
        fprintf(stderr, "tensorcook style: unknown argument '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || iters < 1 || iters > 100000000 || size < 0 || (size && size < 32) || size > 16384) {
        fprintf(stderr, "tensorcook style: invalid option values (--iters 1.., --size 32..16384; see --help)\n");
        return 2;
    }
    set_threads("style", threads);
    tc_nn_seed((uint64_t)seed);
    int rc = 1;
    tc_model *m = NULL;
    tc_tensor *content = NULL, *style = NULL, *cx = NULL, *sx = NULL;
    style_targets t = {0};
    style_run_result r = {0};
    /* everything is read and checked before the output folder is made */
    content = content_image(content_path, size);
    style = content ? tc_image_load_resized(style_path, 0, 0, TC_INTERP_BILINEAR) : NULL;
    if (!content || !style) goto fail;
    int64_t H = content->shape[0], W = content->shape[1];
    if (H < 32 || W < 32) {
        fprintf(stderr, "tensorcook style: %s: the content image is %lldx%lld; VGG19 needs at least 32x32 (see --size)\n",
                content_path, (long long)W, (long long)H);
        goto done;
    }
    /* the cookbook's scipy.misc.imresize(style_image, content shape): Pillow bilinear */
    tc_tensor *resized = tc_image_resize(style, H, W, TC_INTERP_BILINEAR);
    tc_tensor_free(style);
    style = resized;
    if (!style) goto fail;
    m = tc_zoo_model(TC_ZOO_VGG19, &(tc_zoo_opts){.include_top = false, .height = H, .width = W, .avg_pool = true});
    if (!m) goto fail;
    if (weights && ends_with(weights, ".mat")) {
        if (tc_load_matconvnet_weights(m, weights) != TC_OK) goto fail;
        fprintf(stderr, "tensorcook style: weights loaded from %s (MatConvNet)\n", weights);
    } else if (weights) {
        if (tc_load_keras_weights(m, weights, NULL) != TC_OK) goto fail;
        kernel_bgr_to_rgb(m);
        fprintf(stderr, "tensorcook style: weights loaded from %s (Keras; block1_conv1 turned from BGR to RGB)\n", weights);
    }
    tc_zoo_set_trainable(m, 0, -1, false); /* gradients go to the image only */
    cx = style_preprocess(content);
    sx = style_preprocess(style);
    if (!cx || !sx || !style_targets_init(&t, m, cx, sx)) goto fail;
    if (!prepare_out_dir("style", out_dir) || (dump_dir && !prepare_out_dir("style", dump_dir))) goto done;
    if (dump_dir) {
        char p[4096];
        snprintf(p, sizeof p, "%s/content.npy", dump_dir);
        bool ok = tc_npy_save(p, cx) == TC_OK;
        snprintf(p, sizeof p, "%s/style.npy", dump_dir);
        if (!ok || tc_npy_save(p, sx) != TC_OK) goto fail;
    }
    if (!weights)
        fprintf(stderr, "tensorcook style: NOTE: no --weights, so VGG19's weights are RANDOM (seeded) and the result "
                        "is no style transfer; pass imagenet-vgg-verydeep-19.mat (MatConvNet) or Keras' %s\n",
                tc_zoo_keras_weights_file(TC_ZOO_VGG19, false));
    fprintf(stderr, "style: %s (%lldx%lld) in the style of %s, %lld iterations\n", content_path, (long long)W,
            (long long)H, style_path, iters);
    if (!style_run(&t, cx, &(style_run_opts){.iters = (int)iters, .seed = (uint64_t)seed, .out_dir = out_dir,
                                             .dump_dir = dump_dir},
                   &r))
        goto fail;
    if (!write_history("style", out_dir, &r)) goto done;
    printf("%s/final.png: total loss %.6g -> %.6g in %d iterations, %.3f s/iteration\n", out_dir, r.first_loss,
           r.last_loss, r.n, r.seconds);
    if (summary_json) {
        const char *keys[] = {"first_loss", "last_loss", "seconds_per_iteration", "cpu_seconds_per_iteration"};
        double vals[] = {r.first_loss, r.last_loss, r.seconds, r.cpu_seconds};
        if (!write_summary_json_conv("style", summary_json, 4, keys, vals)) goto done;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tensorcook style: %s\n", tc_last_error());
done:
    style_run_result_free(&r);
    style_targets_free(&t);
    tc_tensor_free(content);
    tc_tensor_free(style);
    tc_tensor_free(cx);
    tc_tensor_free(sx);
    tc_model_free(m);
    return rc;
}
