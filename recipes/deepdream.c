/* tensorcook deepdream: gradient ascent on the mean of a layer (or of one
 * channel) of an image, with the seed's octaves, tiles and random rolls
 * (deepdream_core.c). The model is a TensorFlow frozen graph (the seed's
 * tensorflow_inception_graph.pb, with its mean 117 subtracted) or a zoo
 * model with Keras .h5 weights (InceptionV3 by default, with its own
 * preprocessing). */
#include <stdlib.h>
#include <string.h>

#include "deepdream.h"
#include "tensorcook/tf_graph.h"
#include "vision.h"

#define DREAM_DEFAULT_IMAGE VISION_DEFAULT_IMAGES "/dog.jpg"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook deepdream [IMAGE] [options]\n"
            "  IMAGE               JPEG or PNG to dream into [" DREAM_DEFAULT_IMAGE "]\n"
            "  --noise N           start from grey noise (uniform(0, 1) + 100, as the seed) of N x N instead\n"
            "  --graph FILE.pb     a TensorFlow frozen graph (the seed: tensorflow_inception_graph.pb); the\n"
            "                      image minus 117 is fed to its first placeholder (or --input-node NAME)\n"
            "  --model NAME        else a zoo model [inception_v3] (vgg16, vgg19, resnet50, xception)\n"
            "  --weights FILE      its Keras .h5 weights (without the top); without it the weights are RANDOM\n"
            "  --by-order          match the file's layers by position (Keras' own InceptionV3 files)\n"
            "  --layer NAME        the layer [graph: mixed4d_3x3_bottleneck_pre_relu; zoo: mixed3]\n"
            "  --channel N         maximise one channel of the layer (the seed: 139) instead of all of it\n"
            "  --octaves N         [4]    --octave-scale S  [1.4]    --iters N  per octave [10]\n"
            "  --step S            [1.5], divided by the mean |gradient|\n"
            "  --tile N            gradients in tiles of N x N with a random roll [512]\n"
            "  --out DIR           octave_1.png .. octave_N.png and dream.png [deepdream_out]\n"
            "  --dump DIR          also the first octave's start image, rolls, first gradient and result as .npy\n"
            "  --width-div N       the zoo architecture at 1/N of its widths (tests; weights to match)\n"
            "  --quiet             no line per iteration\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n" CONV_OPT_HELP
            "  --seed N            seed of the rolls, the noise and random weights [42]\n"
            "  --summary-json FILE first_loss, last_loss (the objective of the start and the final image),\n"
            "                      seconds_per_iteration, conv (direct or winograd)\n");
    return rc;
}

/* ---- the two kinds of model behind dream_objective ------------------------------- */
typedef struct {
    tc_tf_model *m;
    const char *input, *layer;
} tf_dream;

static tc_tensor *tf_layer(void *ctx, tc_tensor *x)
{
    tf_dream *d = ctx;
    tc_tensor *fed = tc_add_scalar(x, -117), *y = NULL; /* the seed's imagenet_mean */
    if (!fed || tc_tf_run(d->m, 1, &d->input, &fed, 1, &d->layer, &y) != TC_OK) return NULL;
    return y;
}

/* A zoo model is built for one input size, and tiles come in several: one
 * model per size (the last few kept), each with the base model's weights. */
#define ZOO_CACHE 6
typedef struct {
    tc_zoo_arch arch;
    int width_div;
    tc_model *base; /* the default size, weights loaded */
    const char *layer;
    tc_preprocess_mode mode;
    struct { tc_model *m; int64_t h, w; unsigned long used; } cache[ZOO_CACHE];
    unsigned long tick;
} zoo_dream;

static tc_model *zoo_for(zoo_dream *d, int64_t h, int64_t w)
{
    int64_t shape[TC_MAX_DIMS];
    if (tc_model_input_shape(d->base, 0, shape) >= 2 && shape[0] == h && shape[1] == w) return d->base;
    int slot = 0;
    for (int k = 0; k < ZOO_CACHE; k++) {
        if (d->cache[k].m && d->cache[k].h == h && d->cache[k].w == w) {
            d->cache[k].used = ++d->tick;
            return d->cache[k].m;
        }
        if (d->cache[k].used < d->cache[slot].used) slot = k;
    }
    tc_model_free(d->cache[slot].m);
    d->cache[slot].m = NULL;
    tc_model *m = tc_zoo_model(d->arch, &(tc_zoo_opts){.include_top = false, .height = h, .width = w, .width_div = d->width_div});
    if (!m) return NULL;
    int n = tc_model_param_count(m);
    if (n != tc_model_param_count(d->base)) {
        tc_error(TC_ERR_STATE, "deepdream: the %lldx%lld model has %d parameters, the base %d", (long long)h, (long long)w, n,
                 tc_model_param_count(d->base));
        tc_model_free(m);
        return NULL;
    }
    for (int i = 0; i < n; i++) /* the weights (and batch-norm statistics) do not depend on the input size */
        if (tc_write_values(tc_model_param(m, i), tc_model_param(d->base, i)->data) != TC_OK) {
            tc_model_free(m);
            return NULL;
        }
    tc_zoo_set_trainable(m, 0, -1, false);
    d->cache[slot].m = m, d->cache[slot].h = h, d->cache[slot].w = w, d->cache[slot].used = ++d->tick;
    return m;
}

static void zoo_dream_free(zoo_dream *d)
{
    for (int k = 0; k < ZOO_CACHE; k++) tc_model_free(d->cache[k].m);
}

static tc_tensor *zoo_layer(void *ctx, tc_tensor *x)
{
    zoo_dream *d = ctx;
    tc_model *m = zoo_for(d, x->shape[1], x->shape[2]);
    if (!m) return NULL;
    tc_tensor *p;
    if (d->mode == TC_PREPROCESS_TF) {
        p = tc_add_scalar(tc_mul_scalar(x, (tc_scalar)(1 / 127.5)), -1);
    } else { /* caffe: RGB -> BGR, minus the ImageNet mean */
        tc_tensor *bgr = tc_slice(x, (int64_t[]){0, 0, 0, 2}, (int64_t[]){x->shape[0], x->shape[1], x->shape[2], -4},
                                  (int64_t[]){1, 1, 1, -1});
        tc_tensor *mean = tc_copy_of((const tc_scalar[]){103.939f, 116.779f, 123.68f}, 1, (const int64_t[]){3});
        p = tc_sub(bgr, mean);
    }
    return tc_model_forward_to(m, p, d->layer, false);
}

static void no_such_layer(const char *what, int n, const char *const *names, const char *layer)
{
    char near[1024];
    nearest_names(layer, n, names, near, sizeof near);
    fprintf(stderr, "tensorcook deepdream: %s has no layer '%s'; nearest: %s\n", what, layer, near);
}

static tc_tensor *grey_noise(int64_t side, uint64_t seed)
{
    tc_tensor *t = tc_tensor_new(TC_SHAPE(side, side, 3));
    if (!t) return NULL;
    tc_rng r = tc_rng_new(seed ^ 0x6e6f697365ULL);
    tc_rng_uniform(&r, t->data, tc_numel(t), 0, 1);
    for (int64_t i = 0; i < tc_numel(t); i++) t->data[i] += 100;
    return t;
}

int tc_cmd_deepdream(int argc, char **argv)
{
    const char *image = NULL, *graph = NULL, *input_node = NULL, *model = "inception_v3", *weights = NULL, *layer = NULL,
               *out_dir = "deepdream_out", *dump_dir = NULL, *summary_json = NULL;
    long long threads = 0, seed = 42, channel = -1, octaves = 4, iters = 10, tile = 512, noise = 0, width_div = 0;
    double octave_scale = 1.4, step = 1.5;
    bool by_order = false, bad = false, model_given = false, quiet = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--by-order")) by_order = true;
        else if (!strcmp(argv[i], "--quiet")) quiet = true;
        else if (!strcmp(argv[i], "--model")) {
            model_given = true;
            vision_opt_str(argc, argv, &i, "--model", &model, &bad);
        } else if (vision_opt_str(argc, argv, &i, "--graph", &graph, &bad) ||
                   vision_opt_str(argc, argv, &i, "--input-node", &input_node, &bad) ||
                   vision_opt_str(argc, argv, &i, "--weights", &weights, &bad) ||
                   vision_opt_str(argc, argv, &i, "--layer", &layer, &bad) ||
                   vision_opt_str(argc, argv, &i, "--out", &out_dir, &bad) ||
                   vision_opt_str(argc, argv, &i, "--dump", &dump_dir, &bad) ||
                   vision_opt_str(argc, argv, &i, "--summary-json", &summary_json, &bad) ||
                 opt_conv(argc, argv, &i, &bad))
            continue;
        else if (opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
                 opt_int(argc, argv, &i, "--channel", &channel, &bad) || opt_int(argc, argv, &i, "--octaves", &octaves, &bad) ||
                 opt_int(argc, argv, &i, "--iters", &iters, &bad) || opt_int(argc, argv, &i, "--tile", &tile, &bad) ||
                 opt_int(argc, argv, &i, "--noise", &noise, &bad) || opt_int(argc, argv, &i, "--width-div", &width_div, &bad) ||
                 opt_double(argc, argv, &i, "--octave-scale", &octave_scale, &bad) ||
                 opt_double(argc, argv, &i, "--step", &step, &bad))
            continue;
        else if (argv[i][0] != '-' && !image) image = argv[i];
        else {
            fprintf(stderr, "tensorcook deepdream: unknown argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (bad || channel < -1 || channel > 1 << 20 || octaves < 1 || octaves > 16 || iters < 1 || tile < 8 || tile > 8192 ||
        noise < 0 || noise > 8192 || !(octave_scale > 1) || octave_scale > 16 || !(step > 0) || width_div < 0 ||
        (noise && image) || (graph && (model_given || weights || width_div))) {
        fprintf(stderr, "tensorcook deepdream: invalid options (--graph or --model, not both; --noise or IMAGE, not both; "
                        "see --help)\n");
        return 2;
    }
    set_threads("deepdream", threads);
    tc_nn_seed((uint64_t)seed);
    int rc = 1;
    tc_tf_model *tf = NULL;
    tc_model *zm = NULL;
    tc_tensor *img = NULL;
    const char **names = NULL;
    tf_dream td = {0};
    zoo_dream zd = {0};
    dream_objective o = {.channel = (int)channel};
    int arch = -1;
    /* the image first: an undecodable one is refused before anything is built or written */
    if (noise) img = grey_noise(noise, (uint64_t)seed);
    else img = tc_image_load(image ? image : DREAM_DEFAULT_IMAGE);
    if (!img) goto fail;
    if (graph) {
        if (!(tf = tc_tf_load(graph))) goto fail;
        layer = layer ? layer : "mixed4d_3x3_bottleneck_pre_relu";
        if (!input_node && tc_tf_input_count(tf) < 1) {
            fprintf(stderr, "tensorcook deepdream: %s has no placeholder to feed the image to\n", graph);
            goto done;
        }
        td = (tf_dream){tf, input_node ? input_node : tc_tf_node_name(tf, tc_tf_input_node(tf, 0)), layer};
        int n = tc_tf_node_count(tf);
        if (tc_tf_find(tf, td.input) < 0 || tc_tf_find(tf, layer) < 0) {
            names = malloc(sizeof *names * (size_t)(n + 1));
            for (int i = 0; names && i < n; i++) names[i] = tc_tf_node_name(tf, i);
            no_such_layer(graph, names ? n : 0, names, tc_tf_find(tf, td.input) < 0 ? td.input : layer);
            goto done;
        }
        o.layer = tf_layer, o.ctx = &td;
    } else {
        if ((arch = vision_arch("deepdream", model)) < 0) goto done;
        layer = layer ? layer : "mixed3";
        zm = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = false, .width_div = (int)width_div});
        if (!zm) goto fail;
        if (!tc_model_layer(zm, layer)) {
            int n = tc_model_layer_count(zm);
            names = malloc(sizeof *names * (size_t)(n + 1));
            for (int i = 0; names && i < n; i++) names[i] = tc_layer_name(tc_model_layer_at(zm, i));
            no_such_layer(tc_model_name(zm), names ? n : 0, names, layer);
            goto done;
        }
        if (!vision_load_weights("deepdream", zm, arch, false, weights, by_order, false)) goto done;
        tc_zoo_set_trainable(zm, 0, -1, false); /* gradients go to the image only */
        zd = (zoo_dream){.arch = arch, .width_div = (int)width_div, .base = zm, .layer = layer,
                         .mode = tc_zoo_preprocess_mode(arch)};
        o.layer = zoo_layer, o.ctx = &zd;
    }
    o.layer_name = layer;
    dream_opts opt = {.octaves = (int)octaves, .octave_scale = octave_scale, .iters = (int)iters, .step = step,
                      .tile = tile, .seed = (uint64_t)seed, .out_dir = out_dir, .dump_dir = dump_dir, .quiet = quiet};
    /* the model, layer, channel and sizes all work before any output exists */
    if (!dream_probe(&o, img, &opt)) goto fail;
    if (!prepare_out_dir("deepdream", out_dir)) goto done;
    if (dump_dir && !prepare_out_dir("deepdream", dump_dir)) goto done;
    bool random_weights = !graph && !weights;
    if (random_weights) vision_random_note("deepdream", arch, false);
    fprintf(stderr, "deepdream: %s, layer %s%s, %lldx%lld %s, %lld octaves x %lld iterations\n", graph ? graph : model,
            layer, channel >= 0 ? " (one channel)" : "", (long long)img->shape[1], (long long)img->shape[0],
            noise ? "grey noise" : "image", octaves, iters);
    dream_result r;
    if (!dream_render(&o, &img, &opt, &r)) goto fail;
    char what[64] = "";
    if (channel >= 0) snprintf(what, sizeof what, " channel %lld", channel);
    printf("%s/dream.png: %s%s objective %.6g -> %.6g, %d iterations, %.3g s each%s\n", out_dir, layer, what,
           r.first_loss, r.last_loss, r.iterations, r.seconds_per_iteration,
           random_weights ? " (RANDOM weights: the picture means nothing)" : "");
    if (summary_json) {
        const char *keys[] = {"first_loss", "last_loss", "seconds_per_iteration", "iterations", "random_weights",
                              "cpu_seconds_per_iteration"};
        double vals[] = {r.first_loss, r.last_loss, r.seconds_per_iteration, r.iterations, random_weights,
                         r.cpu_seconds_per_iteration};
        if (!write_summary_json_conv("deepdream", summary_json, 6, keys, vals)) goto done;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tensorcook deepdream: %s\n", tc_last_error());
done:
    free(names);
    tc_tensor_free(img);
    tc_tf_free(tf);
    zoo_dream_free(&zd);
    tc_model_free(zm);
    return rc;
}
