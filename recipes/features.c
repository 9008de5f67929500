/* tensorcook features: the output of any named layer of a zoo model for a
 * batch of images, as one .npy array [N, ...] (the cookbook's feature
 * extraction: VGG16's block4_pool). Images go through the model's own input
 * path (Keras' load_img, then preprocess_input). */
#include <stdlib.h>
#include <string.h>

#include "vision.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook features [IMAGE...] --out FILE.npy [options]\n"
            "  IMAGE...            JPEG or PNG files [darknet's photos in " VISION_DEFAULT_IMAGES "]\n"
            "  --model NAME        vgg16, vgg19, resnet50, inception_v3, xception [vgg16]\n"
            "  --weights FILE      Keras .h5 weights; without it the weights are random\n"
            "  --by-order          match the file's layers by position\n"
            "  --layer NAME        the layer whose output is written [block4_pool]; 'predictions' too\n"
            "  --no-top            build the model without its classifier (with a notop weight file)\n"
            "  --size N            input height and width without the top [the model's own: 224 or 299]\n"
            "  --out FILE.npy      the features, one row per image (written atomically)\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of the random weights when no --weights [42]\n"
            "  --summary-json FILE images, features (values per image)\n");
    return rc;
}

int tc_cmd_features(int argc, char **argv)
{
    const char *model = "vgg16", *weights = NULL, *layer = "block4_pool", *out = NULL, *summary_json = NULL;
    long long threads = 0, seed = 42, size = 0;
    bool no_top = false, by_order = false, bad = false;
    int n_images = 0;
    char **images = calloc((size_t)argc + 1, sizeof *images);
    if (!images) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            free(images);
            return usage(stdout, 0);
        }
        if (!strcmp(argv[i], "--no-top")) no_top = true;
        else if (!strcmp(argv[i], "--by-order")) by_order = true;
        else if (vision_opt_str(argc, argv, &i, "--model", &model, &bad) ||
                 vision_opt_str(argc, argv, &i, "--weights", &weights, &bad) ||
                 vision_opt_str(argc, argv, &i, "--layer", &layer, &bad) ||
                 vision_opt_str(argc, argv, &i, "--out", &out, &bad) ||
                 vision_opt_str(argc, argv, &i, "--summary-json", &summary_json, &bad))
            continue;
        else if (opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
                 opt_int(argc, argv, &i, "--size", &size, &bad))
            continue;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tensorcook features: unknown option '%s'\n", argv[i]);
            free(images);
            return usage(stderr, 2);
        } else {
            images[n_images++] = argv[i];
        }
    }
    if (bad || size < 0 || (size && !no_top)) {
        fprintf(stderr, "tensorcook features: invalid option values (--size needs --no-top; see --help)\n");
        free(images);
        return 2;
    }
    if (!out) {
        fprintf(stderr, "tensorcook features: --out FILE.npy is required\n");
        free(images);
        return 2;
    }
    int arch = vision_arch("features", model);
    if (arch < 0) {
        free(images);
        return 2;
    }
    set_threads("features", threads);
    tc_nn_seed((uint64_t)seed);
    int rc = 1;
    char **defaults = NULL;
    int n_defaults = 0;
    tc_tensor *all = NULL;
    int64_t side = size ? size : tc_zoo_default_size(arch);
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = !no_top, .height = side, .width = side});
    if (!m) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    tc_layer *l = tc_model_layer(m, layer);
    if (!l) {
        fprintf(stderr, "tensorcook features: %s has no layer '%s' (see tensorcook classify --model %s --summary%s)\n",
                tc_model_name(m), layer, model, no_top ? " --no-top" : "");
        goto done;
    }
    if (n_images == 0) {
        defaults = vision_default_images(&n_defaults);
        if (!n_defaults) {
            fprintf(stderr, "tensorcook features: no IMAGE given and no photos in %s\n", VISION_DEFAULT_IMAGES);
            goto done;
        }
        for (int i = 0; i < n_defaults; i++) images[i] = defaults[i];
        n_images = n_defaults;
    }
    if (!vision_load_weights("features", m, arch, !no_top, weights, by_order, false)) goto done;
    int64_t shape[TC_MAX_DIMS];
    int nd = tc_layer_output_shape(l, shape + 1);
    shape[0] = n_images;
    all = tc_tensor_new(nd + 1, shape);
    if (!all) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    int64_t per = tc_numel(all) / n_images;
    bool was = tc_set_grad_enabled(false);
    bool ok = true;
    for (int i = 0; i < n_images && ok; i++) {
        tc_tensor *x = vision_image(images[i], side, side, tc_zoo_preprocess_mode(arch), 1);
        tc_tensor *y = x ? tc_model_forward_to(m, x, layer, false) : NULL;
        if (!y || tc_read_values(y, all->data + i * per) != TC_OK) {
            fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
            ok = false;
        } else {
            fprintf(stderr, "  %d/%d %s\n", i + 1, n_images, images[i]);
        }
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    if (!ok) goto done;
    if (!weights) vision_random_note("features", arch, !no_top);
    if (tc_npy_save(out, all) != TC_OK) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    char sh[TC_SHAPE_STR_MAX];
    printf("%s: %s output of %d image%s %s\n", out, layer, n_images, n_images == 1 ? "" : "s",
           tc_shape_str(all, sh, sizeof sh));
    if (summary_json) {
        const char *keys[] = {"images", "features"};
        double vals[] = {n_images, (double)per};
        if (!write_summary_json("features", summary_json, 2, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_tensor_free(all);
    tc_model_free(m);
    vision_free_list(defaults, n_defaults);
    free(images);
    return rc;
}
