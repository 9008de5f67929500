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
            VISION_PRECISION_HELP
            "  --seed N            seed of the random weights when no --weights [42]\n"
            "  --summary-json FILE images, features (values per image)\n");
    return rc;
}

int tc_cmd_features(int argc, char **argv)
{
    vision_zoo_args a;
    const char *layer = "block4_pool";
    long long size = 0;
    bool bad = false;
    if (!vision_zoo_args_init(&a, argc)) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            vision_zoo_args_free(&a);
            return usage(stdout, 0);
        }
        if (vision_opt_str(argc, argv, &i, "--layer", &layer, &bad) || opt_int(argc, argv, &i, "--size", &size, &bad) ||
            vision_zoo_opt(argc, argv, &i, &a, &bad))
            continue;
        fprintf(stderr, "tensorcook features: unknown option '%s'\n", argv[i]);
        vision_zoo_args_free(&a);
        return usage(stderr, 2);
    }
    if (bad || size < 0 || (size && !a.no_top)) {
        fprintf(stderr, "tensorcook features: invalid option values (--size needs --no-top; see --help)\n");
        vision_zoo_args_free(&a);
        return 2;
    }
    if (!a.out) {
        fprintf(stderr, "tensorcook features: --out FILE.npy is required\n");
        vision_zoo_args_free(&a);
        return 2;
    }
    tc_precision prec;
    if (!vision_zoo_precision("features", &a, &prec)) {
        vision_zoo_args_free(&a);
        return 2;
    }
    int arch = vision_arch("features", a.model);
    if (arch < 0) {
        vision_zoo_args_free(&a);
        return 2;
    }
    set_threads("features", a.threads);
    tc_nn_seed((uint64_t)a.seed);
    int rc = 1;
    tc_tensor *all = NULL;
    int64_t side = size ? size : tc_zoo_default_size(arch);
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = !a.no_top, .height = side, .width = side});
    if (!m) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    tc_layer *l = tc_model_layer(m, layer);
    if (!l) {
        fprintf(stderr, "tensorcook features: %s has no layer '%s' (see tensorcook classify --model %s --summary%s)\n",
                tc_model_name(m), layer, a.model, a.no_top ? " --no-top" : "");
        goto done;
    }
    if (!vision_zoo_default_images("features", &a)) goto done;
    if (!vision_load_weights("features", m, arch, !a.no_top, a.weights, a.by_order, false)) goto done;
    /* inference only (a chain whose inner value --layer names runs as it is) */
    if (tc_model_prepare_inference_prec(m, prec, NULL, NULL) != TC_OK) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    int64_t shape[TC_MAX_DIMS];
    int nd = tc_layer_output_shape(l, shape + 1);
    shape[0] = a.n_images;
    all = tc_tensor_new(nd + 1, shape);
    if (!all) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    int64_t per = tc_numel(all) / a.n_images;
    bool was = tc_set_grad_enabled(false);
    bool ok = true;
    for (int i = 0; i < a.n_images && ok; i++) {
        tc_tensor *x = vision_image(a.images[i], side, side, tc_zoo_preprocess_mode(arch), 1);
        tc_tensor *y = x ? tc_model_forward_to(m, x, layer, false) : NULL;
        if (!y || tc_read_values(y, all->data + i * per) != TC_OK) {
            fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
            ok = false;
        } else {
            fprintf(stderr, "  %d/%d %s\n", i + 1, a.n_images, a.images[i]);
        }
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    if (!ok) goto done;
    if (!a.weights) vision_random_note("features", arch, !a.no_top);
    if (tc_npy_save(a.out, all) != TC_OK) {
        fprintf(stderr, "tensorcook features: %s\n", tc_last_error());
        goto done;
    }
    char sh[TC_SHAPE_STR_MAX];
    printf("%s: %s output of %d image%s %s\n", a.out, layer, a.n_images, a.n_images == 1 ? "" : "s",
           tc_shape_str(all, sh, sizeof sh));
    if (a.summary_json) {
        const char *keys[] = {"images", "features"};
        double vals[] = {a.n_images, (double)per};
        if (!write_summary_json("features", a.summary_json, 2, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_tensor_free(all);
    tc_model_free(m);
    vision_zoo_args_free(&a);
    return rc;
}
