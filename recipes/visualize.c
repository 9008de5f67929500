/* tensorcook visualize: what VGG16's classes and filters respond to
 * (keras-vis' activation maximisation, the cookbook's filter visualisation)
 * and saliency maps (vanilla, guided, rectified) of a photo. */
#include <stdlib.h>
#include <string.h>

#include "visualize.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook visualize [options]\n"
            "  --model NAME        vgg16 or vgg19 [vgg16]\n"
            "  --weights FILE      Keras .h5 weights (with the top for 'predictions'); without it the weights are random\n"
            "  --by-order          match the file's layers by position\n"
            "  --layer NAME        layer to maximise [predictions: its softmax is replaced by linear]\n"
            "  --filter N          class or filter index; up to 3 times [predictions: 20; a conv layer: 0, 1, 2]\n"
            "  --size N            input side for a convolution layer (built without the top), also for --saliency [224]\n"
            "  --iters N           iterations per result [500]\n"
            "  --saliency IMAGE    instead: vanilla, guided and rectified saliency maps of IMAGE\n"
            "  --class N           the class (or filter) of the saliency maps [--filter, else the top prediction]\n"
            "  --out DIR           output folder [visualize_out]\n"
            "  --dump DIR          also write the step-0 input and gradient / the raw saliency gradients as .npy\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n" CONV_OPT_HELP
            "  --seed N            seed of the random weights and the start images [42]\n"
            "  --summary-json FILE first_loss, last_loss (keras-vis' total loss, minimised), first/last_activation,\n"
            "                      seconds_per_iteration, conv (direct or winograd)\n");
    return rc;
}

/* "did you mean" with the three nearest layer names */
static void no_such_layer(const tc_model *m, const char *name)
{
    int n = tc_model_layer_count(m);
    const char **names = malloc(sizeof *names * (size_t)(n + 1));
    for (int i = 0; names && i < n; i++) names[i] = tc_layer_name(tc_model_layer_at(m, i));
    char near[512];
    nearest_names(name, names ? n : 0, names, near, sizeof near);
    free(names);
    fprintf(stderr, "tensorcook visualize: %s has no layer '%s'; nearest: %s\n", tc_model_name(m), name, near);
}

static const char *class_name(const tc_labels *l, int k) { return l && k >= 0 && k < l->n ? l->names[k] : "?"; }

static int saliency(const char *cmd, const vis_target *base, const char *image, long long cls, int64_t side,
                    tc_zoo_arch arch, const char *out_dir, const char *dump_dir, const tc_labels *labels)
{
    tc_tensor *x = vision_image(image, side, side, tc_zoo_preprocess_mode(arch), 1);
    tc_tensor *rgb = x ? tc_image_load_resized(image, side, side, TC_INTERP_NEAREST) : NULL;
    if (!x || !rgb || !(x = tc_tensor_keep(x))) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        tc_tensor_free(rgb);
        return 1;
    }
    tc_step_reset();
    vis_target t = *base;
    if (cls < 0) { /* the top prediction (a convolution: the channel of the largest mean) */
        bool was = tc_set_grad_enabled(false);
        tc_tensor *y = vis_target_output(&t, x);
        int64_t c = y ? y->shape[y->ndim - 1] : 0, per = y ? tc_numel(y) / c : 0;
        double best_v = -1e300;
        for (int64_t k = 0; k < c; k++) {
            double v = 0;
            for (int64_t p = 0; p < per; p++) v += y->data[p * c + k];
            if (v > best_v) best_v = v, t.index = (int)k;
        }
        tc_set_grad_enabled(was);
        tc_step_reset();
    } else {
        t.index = (int)cls;
    }
    static const char *names[3] = {"vanilla", "guided", "rectified"};
    tc_tensor *shown[4] = {rgb, NULL, NULL, NULL};
    char label[4][160];
    if (t.logits) snprintf(label[0], sizeof label[0], "class %d %s", t.index, class_name(labels, t.index));
    else snprintf(label[0], sizeof label[0], "%s filter %d", t.layer, t.index);
    int rc = 1;
    for (int k = 0; k < 3; k++) {
        tc_tensor *raw = NULL;
        tc_tensor *map = vis_saliency(&t, x, (tc_relu_grad_mode)k, dump_dir ? &raw : NULL);
        shown[k + 1] = map ? vis_overlay(rgb, map) : NULL;
        tc_tensor_free(map);
        if (raw) {
            char p[4096];
            snprintf(p, sizeof p, "%s/saliency_%s_grad.npy", dump_dir, names[k]);
            if (tc_npy_save(p, raw) != TC_OK) shown[k + 1] = (tc_tensor_free(shown[k + 1]), NULL);
            tc_tensor_free(raw);
        }
        if (!shown[k + 1]) goto done;
        snprintf(label[k + 1], sizeof label[k + 1], "%s", names[k]);
    }
    for (int k = 0; k < 3; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/saliency_%s.png", out_dir, names[k]);
        if (tc_image_save_png(p, shown[k + 1]) != TC_OK) goto done;
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/saliency.png", out_dir);
    const char *labs[4] = {label[0], label[1], label[2], label[3]};
    if (tc_plot_image_row(p, 4, (const tc_tensor *const *)shown, labs) != TC_OK) goto done;
    printf("%s: saliency of %s[%d] (%s): %s/saliency_{vanilla,guided,rectified}.png, %s\n", image, t.layer, t.index,
           t.logits ? class_name(labels, t.index) : "filter", out_dir, p);
    rc = 0;
done:
    if (rc) fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
    for (int k = 0; k < 4; k++) tc_tensor_free(shown[k]);
    tc_tensor_free(x);
    return rc;
}

int tc_cmd_visualize(int argc, char **argv)
{
    const char *model = "vgg16", *weights = NULL, *layer = "predictions", *out_dir = "visualize_out",
               *summary_json = NULL, *image = NULL, *dump_dir = NULL;
    long long threads = 0, seed = 42, size = 0, iters = 500, cls = -1, filters[3];
    int n_filters = 0;
    bool by_order = false, bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        long long f;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--by-order")) by_order = true;
        else if (vision_opt_str(argc, argv, &i, "--model", &model, &bad) ||
                 vision_opt_str(argc, argv, &i, "--weights", &weights, &bad) ||
                 vision_opt_str(argc, argv, &i, "--layer", &layer, &bad) ||
                 vision_opt_str(argc, argv, &i, "--out", &out_dir, &bad) ||
                 vision_opt_str(argc, argv, &i, "--dump", &dump_dir, &bad) ||
                 vision_opt_str(argc, argv, &i, "--saliency", &image, &bad) ||
                 vision_opt_str(argc, argv, &i, "--summary-json", &summary_json, &bad) ||
                 opt_conv(argc, argv, &i, &bad))
            continue;
        else if (opt_int(argc, argv, &i, "--filter", &f, &bad)) {
            if (n_filters == 3 || f < 0) bad = true;
            else filters[n_filters++] = f;
        } else if (opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
                   opt_int(argc, argv, &i, "--size", &size, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
                   opt_int(argc, argv, &i, "--class", &cls, &bad))
            continue;
        else {
            fprintf(stderr, "tensorcook visualize: unknown argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    bool top = !strcmp(layer, "predictions") || !strncmp(layer, "fc", 2) || !strcmp(layer, "flatten");
    if (bad || iters < 1 || size < 0 || (size && (size < 32 || top)) || cls < -1 || cls > 4095) {
        fprintf(stderr, "tensorcook visualize: invalid option values (--size 32.. only for a convolution layer; see --help)\n");
        return 2;
    }
    int arch = vision_arch("visualize", model);
    if (arch < 0) return 2;
    if (arch != TC_ZOO_VGG16 && arch != TC_ZOO_VGG19) {
        fprintf(stderr, "tensorcook visualize: --model %s: only vgg16 and vgg19 (their ReLUs are the saliency's)\n", model);
        return 2;
    }
    set_threads("visualize", threads);
    tc_nn_seed((uint64_t)seed);
    int64_t side = size ? size : 224;
    int rc = 1;
    tc_labels *labels = tc_imagenet_labels_darknet(NULL);
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = top, .height = side, .width = side});
    if (!m) {
        fprintf(stderr, "tensorcook visualize: %s\n", tc_last_error());
        goto done;
    }
    tc_layer *l = tc_model_layer(m, layer);
    if (!l) {
        no_such_layer(m, layer);
        goto done;
    }
    int64_t oshape[TC_MAX_DIMS];
    int od = tc_layer_output_shape(l, oshape);
    int64_t channels = oshape[od - 1];
    for (int k = 0; k < n_filters; k++)
        if (filters[k] >= channels) {
            fprintf(stderr, "tensorcook visualize: --filter %lld: layer %s has %lld outputs\n", filters[k], layer,
                    (long long)channels);
            goto done;
        }
    if (image) { /* decode first: no output at all for an unreadable image */
        tc_tensor *probe = tc_image_load(image);
        if (!probe) {
            fprintf(stderr, "tensorcook visualize: %s\n", tc_last_error());
            goto done;
        }
        tc_tensor_free(probe);
    }
    if (!vision_load_weights("visualize", m, arch, top, weights, by_order, false)) goto done;
    tc_zoo_set_trainable(m, 0, -1, false); /* gradients go to the image only */
    if (!prepare_out_dir("visualize", out_dir)) goto done;
    if (dump_dir && !prepare_out_dir("visualize", dump_dir)) goto done;
    if (!weights) vision_random_note("visualize", arch, top);
    vis_target target = {.m = m, .layer = layer, .logits = !strcmp(layer, "predictions")};
    if (image) {
        if (cls < 0 && n_filters) cls = filters[0];
        if (cls >= channels) {
            fprintf(stderr, "tensorcook visualize: --class %lld: layer %s has %lld outputs\n", cls, layer, (long long)channels);
            goto done;
        }
        rc = saliency("visualize", &target, image, cls, side, arch, out_dir, dump_dir, labels);
        goto done;
    }
    /* three results: the filters given, else the defaults, else the same index from other seeds */
    if (n_filters == 0) {
        if (target.logits) filters[n_filters++] = 20;
        else
            for (int k = 0; k < 3 && k < channels; k++) filters[n_filters++] = k;
    }
    tc_tensor *results[3] = {0};
    char label[3][200];
    vis_run_result r[3] = {0};
    bool ok = true;
    double sec = 0, cpu = 0;
    for (int k = 0; k < 3 && ok; k++) {
        target.index = (int)filters[k < n_filters ? k : 0];
        uint64_t s = (uint64_t)seed + (uint64_t)(k < n_filters ? 0 : k);
        fprintf(stderr, "visualize: %s[%d], seed %llu, %lld iterations\n", layer, target.index, (unsigned long long)s, iters);
        ok = vis_maximise(&target, side, &VIS_DEFAULT_WEIGHTS,
                          &(vis_run_opts){.iters = (int)iters, .jitter = 0.05, .seed = s, .dump_dir = k == 0 ? dump_dir : NULL},
                          &r[k]);
        results[k] = r[k].image;
        sec += r[k].seconds;
        cpu += r[k].cpu_seconds;
        if (target.logits)
            snprintf(label[k], sizeof label[k], "%d %s (seed %llu)", target.index, class_name(labels, target.index),
                     (unsigned long long)s);
        else
            snprintf(label[k], sizeof label[k], "%s filter %d (seed %llu)", layer, target.index, (unsigned long long)s);
    }
    if (ok) {
        char p[4096];
        snprintf(p, sizeof p, "%s/visualize.png", out_dir);
        const char *labs[3] = {label[0], label[1], label[2]};
        ok = tc_plot_image_row(p, 3, (const tc_tensor *const *)results, labs) == TC_OK;
        if (ok)
            printf("%s: %s; activation %.4g -> %.4g, total loss %.4g -> %.4g (first result)\n", p, layer, -r[0].first_act,
                   -r[0].last_act, r[0].first_loss, r[0].last_loss);
    }
    if (!ok) fprintf(stderr, "tensorcook visualize: %s\n", tc_last_error());
    if (ok && summary_json) {
        const char *keys[] = {"first_loss", "last_loss", "first_activation", "last_activation", "seconds_per_iteration",
                              "cpu_seconds_per_iteration"};
        double vals[] = {r[0].first_loss, r[0].last_loss, -r[0].first_act, -r[0].last_act, sec / 3, cpu / 3};
        ok = write_summary_json_conv("visualize", summary_json, 6, keys, vals);
    }
    for (int k = 0; k < 3; k++) tc_tensor_free(results[k]);
    rc = ok ? 0 : 1;
done:
    tc_model_free(m);
    tc_labels_free(labels);
    return rc;
}
