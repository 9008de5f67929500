/* tensorcook video: the cookbook's six ways to classify video (chapter 5),
 * each a --method on 16-frame clips:
 *   frames        a 2-D CNN on every frame, the video's class by majority vote
 *   cnn-rnn       the 2-D CNN on every frame (TimeDistributed) into an LSTM, end to end
 *   c3d           C3D (Tran et al.) on the clip
 *   features-rnn  a zoo CNN's features of every frame (fixed, cached) into an LSTM
 *   features-mlp  the same features, concatenated (or averaged) over time, into an MLP
 *   c3d-rnn       C3D features (fc6) of successive clips into an LSTM: the seed's
 *                 ActivityNet pipeline
 * Default data: generated videos of moving shapes (a square moving left or
 * right, a disk moving up or down) written as MPEG-4 .mp4 files through
 * libav, so they are read the way users' files are; --data DIR/<class>/NAME.mp4
 * for real ones. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe_models.h"
#include "video.h"

static const char *classes_default[] = {"square_left", "square_right", "disk_up", "disk_down"};

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook video [options]\n"
            "  --method M          frames | cnn-rnn | c3d | features-rnn | features-mlp | c3d-rnn [c3d]\n"
            "  --data DIR          DIR/<class>/<video> (any format libav reads) [generated moving shapes]\n"
            "  --size N            frames resized to N x N [32]\n"
            "  --per-class N       generated videos per class [24]\n"
            "  --frames N          frames of a generated video, 16 fps [32]\n"
            "  --clips K           c3d-rnn: 16-frame clips spread over each video [3]\n"
            "  --epochs N          epochs [12; features-*, c3d-rnn: 30]\n"
            "  --iters N           train N steps instead of whole epochs\n"
            "  --batch N           batch size [8]\n"
            "  --lr X              Adam learning rate [0.0003; frames, features-mlp: 0.001; features-rnn: 0.003]\n"
            "  --cnn NAME          features-*: the zoo CNN (vgg16, vgg19, resnet50, inception_v3, xception) [vgg16]\n"
            "  --cnn-layer NAME    features-*: its layer whose output is a frame's features [block3_pool]\n"
            "  --cnn-divisor N     features-*: the CNN's widths divided by N [1]\n"
            "  --c3d-layer NAME    c3d-rnn: C3D's layer whose output is a clip's features [fc6]\n"
            "  --pool P            features-mlp: concat | mean of the frames' features [concat]\n"
            "  --weights F.h5      features-*: the CNN's Keras notop .h5; c3d, c3d-rnn: c3d-keras' .h5\n"
            "                      (by layer name; fc8 is skipped). Without it those weights are RANDOM\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of data, weights, shuffling and dropout [42]\n"
            "  --out DIR           generated data, cached features, confusion matrix, checkpoint.tcck [out/video]\n"
            "  --divisor N         C3D widths divided by N [16]; 1: Tran et al.'s\n"
            "  --classes N         classes of the --summary table [4]; C3D's Sports-1M head: 487\n"
            "  --summary           print the model's table and exit (--size 112 --divisor 1 --classes 487: the full C3D)\n"
            "  --summary-json FILE test_accuracy, chance, train_seconds, steps, test_videos\n");
    return rc;
}

static double uni(tc_rng *r)
{
    tc_scalar v;
    tc_rng_uniform(r, &v, 1, 0, 1);
    return (double)v;
}

/* One generated video: T frames of 32x32, a shape on a noisy background, at
 * the centre of its path in the middle frame (so the centred 16-frame clip of
 * a longer video is one of a 16-frame one). */
static tc_tensor *moving_shape(int cls, int T, tc_rng *rng)
{
    enum { S = 32 };
    tc_tensor *v = tc_tensor_new(4, (int64_t[]){T, S, S, 3});
    double cx = 8 + 16 * uni(rng), cy = 8 + 16 * uni(rng);
    double r = 4 + 2 * uni(rng), speed = 0.6 + 0.4 * uni(rng);
    double col[3] = {80 + 170 * uni(rng), 80 + 170 * uni(rng), 80 + 170 * uni(rng)};
    double dx = cls == 0 ? -speed : cls == 1 ? speed : 0, dy = cls == 2 ? -speed : cls == 3 ? speed : 0;
    cx -= dx * T / 2;
    cy -= dy * T / 2;
    for (int t = 0; t < T; t++) {
        double x0 = cx + dx * t, y0 = cy + dy * t;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                bool in = cls < 2 ? fabs(x - x0) <= r && fabs(y - y0) <= r : (x - x0) * (x - x0) + (y - y0) * (y - y0) <= r * r;
                for (int c = 0; c < 3; c++)
                    v->data[(((int64_t)t * S + y) * S + x) * 3 + c] = (tc_scalar)(in ? col[c] : 30 + 20 * uni(rng));
            }
    }
    return v;
}

static bool generate(const char *root, int per_class, int frames, uint64_t seed)
{
    tc_rng rng = tc_rng_new(seed);
    for (int c = 0; c < 4; c++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", root, classes_default[c]);
        if (!prepare_out_dir("video", dir)) return false;
        for (int i = 0; i < per_class; i++) {
            char path[4600];
            snprintf(path, sizeof path, "%s/%03d.mp4", dir, i);
            tc_tensor *v = moving_shape(c, frames, &rng);
            tc_status s = tc_video_save(path, v, 16, "mpeg4");
            tc_tensor_free(v);
            if (s != TC_OK) {
                fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
                return false;
            }
        }
    }
    return true;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in dir (no dot files); dirs_only picks folders. */
static int list_dir(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **list = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            list = realloc(list, (size_t)cap * sizeof *list);
        }
        list[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(list, (size_t)n, sizeof *list, by_name);
    *names = list;
    return n;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Every video of DIR/<class>/ as K 16-frame clips spread over it (K = 1: the
 * centred clip), back to back as [N, 16 K, size, size, 3], scaled to [0, 1];
 * every 4th video of a class goes to the test set. */
static bool load_videos(const char *root, int size, int K, tc_dataset **train, tc_dataset **test)
{
    char **cls = NULL;
    int nc = list_dir(root, &cls);
    if (nc < 2) {
        fprintf(stderr, "tensorcook video: %s: need at least two class folders\n", root);
        if (nc > 0) free_list(cls, nc);
        return false;
    }
    int64_t clip = (int64_t)K * TC_VIDEO_CLIP_FRAMES * size * size * 3;
    int64_t cap = 64, n[2] = {0, 0};
    tc_scalar *x[2] = {malloc((size_t)(cap * clip) * sizeof(tc_scalar)), malloc((size_t)(cap * clip) * sizeof(tc_scalar))};
    int *y[2] = {malloc((size_t)cap * sizeof(int)), malloc((size_t)cap * sizeof(int))};
    int64_t caps[2] = {cap, cap};
    bool ok = true;
    for (int c = 0; c < nc && ok; c++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", root, cls[c]);
        char **files = NULL;
        int nf = list_dir(dir, &files);
        for (int i = 0; i < nf && ok; i++) {
            char path[4800];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            tc_tensor *v = tc_video_load(path, &(tc_video_opts){.height = size, .width = size, .min_frames = TC_VIDEO_CLIP_FRAMES});
            tc_tensor *cl = v ? tc_video_clips(v, TC_VIDEO_CLIP_FRAMES, K, path) : NULL;
            tc_tensor_free(v);
            if (!cl) {
                fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
                ok = false;
                break;
            }
            int s = i % 4 == 3;
            if (n[s] == caps[s]) {
                caps[s] *= 2;
                x[s] = realloc(x[s], (size_t)(caps[s] * clip) * sizeof(tc_scalar));
                y[s] = realloc(y[s], (size_t)caps[s] * sizeof(int));
            }
            for (int64_t k = 0; k < clip; k++) x[s][n[s] * clip + k] = cl->data[k] / (tc_scalar)255;
            y[s][n[s]++] = c;
            tc_tensor_free(cl);
        }
        if (nf > 0) free_list(files, nf);
    }
    for (int s = 0; s < 2 && ok; s++) {
        if (n[s] == 0) {
            fprintf(stderr, "tensorcook video: %s: too few videos for a %s set\n", root, s ? "test" : "training");
            ok = false;
            break;
        }
        tc_dataset *d = calloc(1, sizeof *d);
        d->x = tc_tensor_from(5, (int64_t[]){n[s], (int64_t)K * TC_VIDEO_CLIP_FRAMES, size, size, 3}, x[s]);
        d->y = tc_tensor_new(1, (int64_t[]){n[s]});
        for (int64_t i = 0; i < n[s]; i++) d->y->data[i] = (tc_scalar)y[s][i];
        d->classes = nc;
        d->class_names = calloc((size_t)nc, sizeof(char *));
        for (int c = 0; c < nc; c++) d->class_names[c] = strdup(cls[c]);
        *(s ? test : train) = d;
    }
    for (int s = 0; s < 2; s++) free(x[s]), free(y[s]);
    free_list(cls, nc);
    return ok;
}

/* The clips' frames as single images (method frames). */
static tc_dataset *frames_of(const tc_dataset *d)
{
    int64_t n = d->x->shape[0], T = d->x->shape[1], S = d->x->shape[2];
    tc_dataset *f = calloc(1, sizeof *f);
    f->x = tc_tensor_from(4, (int64_t[]){n * T, S, S, 3}, d->x->data);
    f->y = tc_tensor_new(1, (int64_t[]){n * T});
    for (int64_t i = 0; i < n * T; i++) f->y->data[i] = d->y->data[i / T];
    f->classes = d->classes;
    return f;
}

static tc_model *frame_cnn(int size, int classes)
{
    return tc_mnist_cnn(&(tc_mnist_cnn_opts){.classes = classes, .height = size, .width = size, .channels = 3,
                                             .filters1 = 8, .filters2 = 16, .hidden = 64, .dropout = 0.25});
}

static tc_model *cnn_rnn(int size, int classes)
{
    return tc_sequential_with_input("cnn_rnn", 4, (int64_t[]){TC_VIDEO_CLIP_FRAMES, size, size, 3}, (tc_layer *[]){
        tc_time_distributed(tc_conv2d(&(tc_conv_opts){.filters = 8, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}), "td_conv1"),
        tc_time_distributed(tc_maxpool2d(&(tc_pool_opts){.pool = 2}), "td_pool1"),
        tc_time_distributed(tc_conv2d(&(tc_conv_opts){.filters = 16, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}), "td_conv2"),
        tc_time_distributed(tc_maxpool2d(&(tc_pool_opts){.pool = 4}), "td_pool2"),
        tc_time_distributed(tc_flatten_layer(NULL), "td_flatten"),
        tc_lstm_layer(&(tc_rnn_opts){.units = 32, .name = "lstm"}),
        tc_dense(&(tc_dense_opts){.units = classes, .name = "predictions"}),
        NULL});
}

/* The heads on fixed features: an LSTM over the T feature vectors (features-rnn,
 * c3d-rnn) or an MLP on one vector (features-mlp). */
static tc_model *features_lstm(const char *name, int64_t T, int64_t F, int classes)
{
    return tc_sequential_with_input(name, 2, (int64_t[]){T, F}, (tc_layer *[]){
        tc_dropout_layer(0.5, "feature_dropout"),
        tc_lstm_layer(&(tc_rnn_opts){.units = 64, .name = "lstm"}),
        tc_dense(&(tc_dense_opts){.units = classes, .name = "predictions"}),
        NULL});
}

static tc_model *features_mlp(int64_t F, int classes)
{
    return tc_sequential_with_input("features_mlp", 1, (int64_t[]){F}, (tc_layer *[]){
        tc_dropout_layer(0.5, "feature_dropout"),
        tc_dense(&(tc_dense_opts){.units = 32, .act = TC_RELU, .name = "fc1"}),
        tc_dropout_layer(0.5, "dropout"),
        tc_dense(&(tc_dense_opts){.units = classes, .name = "predictions"}),
        NULL});
}

typedef struct {
    const char *method, *weights, *pool;
    int size, classes, divisor, clips;
    video_extractor fx;   /* features-* and c3d-rnn */
} video_cfg;

static bool is_features(const char *m) { return !strncmp(m, "features-", 9) || !strcmp(m, "c3d-rnn"); }

/* The end-to-end models; the feature heads take their input shape (T, F). */
static tc_model *build(const video_cfg *c, int classes, int64_t T, int64_t F)
{
    const char *m = c->method;
    if (!strcmp(m, "frames")) return frame_cnn(c->size, classes);
    if (!strcmp(m, "cnn-rnn")) return cnn_rnn(c->size, classes);
    if (!strcmp(m, "features-rnn")) return features_lstm("features_rnn", T, F, classes);
    if (!strcmp(m, "c3d-rnn")) return features_lstm("c3d_rnn", T, F, classes);
    if (!strcmp(m, "features-mlp")) return features_mlp(!strcmp(c->pool, "mean") ? F : T * F, classes);
    /* with c3d-keras' weights the Sports-1M head fc8 is not loaded: a new head for these classes */
    return tc_c3d(&(tc_c3d_opts){.frames = TC_VIDEO_CLIP_FRAMES, .height = c->size, .width = c->size, .classes = classes,
                                 .width_divisor = c->divisor, .top_name = c->weights && classes != 487 ? "fc8_video" : NULL});
}

static const char *const end_to_end[3] = {"frames", "cnn-rnn", "c3d"};

tc_model *video_model(int method, int size, int classes, int divisor)
{
    video_cfg c = {.method = end_to_end[method < 0 || method > 2 ? 2 : method], .size = size, .divisor = divisor};
    return build(&c, classes, 0, 0);
}

/* OUT/checkpoint.tcck: the weights and, for the end-to-end methods, under
 * extra/video/ what rebuilds the model (tensorcook onnx export) */
static bool save_checkpoint(const tc_model *m, tc_optimizer *opt, const char *out, const video_cfg *c, int classes)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.tcck", out);
    int method = -1;
    for (int k = 0; k < 3; k++)
        if (!strcmp(c->method, end_to_end[k])) method = k;
    tc_checkpoint *extra = tc_checkpoint_new();
    const char *keys[4] = {"video/method", "video/size", "video/classes", "video/divisor"};
    const double vals[4] = {method, c->size, classes, c->divisor};
    bool ok = extra != NULL;
    for (int k = 0; ok && method >= 0 && k < 4; k++) ok = tc_checkpoint_put_scalar(extra, keys[k], vals[k]) == TC_OK;
    ok = ok && tc_checkpoint_save_model(m, opt, path, extra) == TC_OK;
    tc_checkpoint_free(extra);
    if (!ok) fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
    return ok;
}

/* Frames (or clips) per video that the feature extractor sees, and its
 * feature width, from the extractor itself (for --summary and the heads). */
static bool extractor_shape(const video_cfg *c, int64_t *T, int64_t *F, bool print)
{
    bool clips = !strcmp(c->method, "c3d-rnn");
    tc_nn_seed(c->fx.seed);
    tc_model *m;
    if (clips) {
        m = tc_c3d(&(tc_c3d_opts){.frames = TC_VIDEO_CLIP_FRAMES, .height = c->size, .width = c->size,
                                  .width_divisor = c->divisor, .dropout = -1, .no_top = true});
    } else {
        int arch = tc_zoo_arch_from_name(c->fx.arch);
        if (arch < 0) {
            fprintf(stderr, "tensorcook video: --cnn %s is not a zoo model (vgg16, vgg19, resnet50, inception_v3, xception)\n",
                    c->fx.arch);
            return false;
        }
        m = tc_zoo_model((tc_zoo_arch)arch, &(tc_zoo_opts){.include_top = false, .height = c->size, .width = c->size,
                                                            .width_div = c->fx.divisor});
    }
    if (!m) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        return false;
    }
    tc_layer *l = tc_model_layer(m, c->fx.layer);
    if (!l) {
        fprintf(stderr, "tensorcook video: %s has no layer '%s' (see tensorcook video --method %s --summary)\n",
                tc_model_name(m), c->fx.layer, c->method);
        if (print) tc_model_summary(m, stderr);
        tc_model_free(m);
        return false;
    }
    int64_t shape[TC_MAX_DIMS];
    int nd = tc_layer_output_shape(l, shape);
    *F = 1;
    for (int d = 0; d < nd; d++) *F *= shape[d];
    *T = clips ? c->clips : (int64_t)TC_VIDEO_CLIP_FRAMES;
    if (print) {
        printf("Feature extractor (fixed; features: the output of %s, %lld values per %s):\n", c->fx.layer, (long long)*F,
               clips ? "clip" : "frame");
        tc_model_summary(m, stdout);
        printf("\nTrained on the features:\n");
    }
    tc_model_free(m);
    return true;
}

static int argmax(const tc_scalar *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* Replaces d->x by the extractor's features of its clips (standardised with the
 * training set's statistics afterwards); features-mlp's frames concatenated or
 * averaged into one vector. */
static bool to_features(const video_cfg *c, tc_dataset *train, tc_dataset *test)
{
    tc_dataset *sets[2] = {train, test};
    const char *names[2] = {"train", "test"};
    tc_tensor *f[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        f[s] = video_features(&c->fx, sets[s]->x, names[s]);
        if (!f[s]) {
            tc_tensor_free(f[0]);
            return false;
        }
    }
    for (int s = 0; s < 2; s++) {
        int64_t N = f[s]->shape[0], T = f[s]->shape[1], F = f[s]->shape[2];
        if (!strcmp(c->method, "features-mlp")) {
            tc_tensor *v;
            if (!strcmp(c->pool, "mean")) {
                v = tc_tensor_new(2, (int64_t[]){N, F});
                for (int64_t i = 0; i < N; i++)
                    for (int64_t t = 0; t < T; t++)
                        for (int64_t j = 0; j < F; j++) v->data[i * F + j] += f[s]->data[(i * T + t) * F + j] / (tc_scalar)T;
            } else {
                v = tc_tensor_from(2, (int64_t[]){N, T * F}, f[s]->data);
            }
            tc_tensor_free(f[s]);
            f[s] = v;
        }
        tc_tensor_free(sets[s]->x);
        sets[s]->x = f[s];
    }
    video_standardize(train->x, test->x);
    return true;
}

int tc_cmd_video(int argc, char **argv)
{
    const char *data = NULL, *out = "out/video", *summary = NULL, *method = "c3d", *weights = NULL, *cnn = "vgg16",
               *cnn_layer = "block3_pool", *c3d_layer = "fc6", *pool = "concat";
    long long epochs = 0, iters = 0, batch = 8, threads = 0, seed = 42, size = 32, per_class = 24, divisor = 16, classes = 4,
              frames = 32, clips = 3, cnn_divisor = 1;
    double lr = 0;
    bool bad = false, table = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--summary")) {
            table = true;
            continue;
        }
        if (opt_str(argc, argv, &i, "--data", &data) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--method", &method) || opt_str(argc, argv, &i, "--summary-json", &summary) ||
            opt_str(argc, argv, &i, "--weights", &weights) || opt_str(argc, argv, &i, "--cnn", &cnn) ||
            opt_str(argc, argv, &i, "--cnn-layer", &cnn_layer) || opt_str(argc, argv, &i, "--c3d-layer", &c3d_layer) ||
            opt_str(argc, argv, &i, "--pool", &pool)) {
            bad |= !out || !method || !cnn || !cnn_layer || !c3d_layer || !pool;
            continue;
        }
        if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--size", &size, &bad) ||
            opt_int(argc, argv, &i, "--per-class", &per_class, &bad) || opt_int(argc, argv, &i, "--frames", &frames, &bad) ||
            opt_int(argc, argv, &i, "--clips", &clips, &bad) || opt_int(argc, argv, &i, "--cnn-divisor", &cnn_divisor, &bad) ||
            opt_int(argc, argv, &i, "--divisor", &divisor, &bad) || opt_int(argc, argv, &i, "--classes", &classes, &bad) ||
            opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook video: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || epochs < 0 || iters < 0 || batch < 1 || lr < 0 || size < 16 || size % 16 || per_class < 4 || divisor < 1 ||
        divisor > 64 || classes < 2 || frames < TC_VIDEO_CLIP_FRAMES || frames > 1024 || clips < 1 || clips > 64 ||
        cnn_divisor < 1 || cnn_divisor > 64 || (strcmp(pool, "concat") && strcmp(pool, "mean"))) {
        fprintf(stderr, "tensorcook video: invalid option values (see --help; --size a multiple of 16)\n");
        return 2;
    }
    static const char *methods[] = {"frames", "cnn-rnn", "c3d", "features-rnn", "features-mlp", "c3d-rnn"};
    bool known = false;
    for (int k = 0; k < 6; k++) known |= !strcmp(method, methods[k]);
    if (!known) {
        fprintf(stderr, "tensorcook video: --method %s is not one of frames, cnn-rnn, c3d, features-rnn, features-mlp, c3d-rnn\n",
                method);
        return 2;
    }
    if (weights && (!strcmp(method, "frames") || !strcmp(method, "cnn-rnn"))) {
        fprintf(stderr, "tensorcook video: --weights is for c3d, c3d-rnn and features-*; %s trains from scratch\n", method);
        return 2;
    }
    bool feats = is_features(method), c3d_feats = !strcmp(method, "c3d-rnn");
    if (!epochs) epochs = feats ? 30 : 12;
    /* picked on the default data (runs in docs/recipes/video.md) */
    if (lr == 0) lr = !strcmp(method, "features-rnn") ? 3e-3 : !strcmp(method, "frames") || !strcmp(method, "features-mlp") ? 1e-3 : 3e-4;
    video_cfg cfg = {.method = method, .weights = weights, .pool = pool, .size = (int)size, .divisor = (int)divisor,
                     .clips = (int)clips,
                     .fx = {.out = out, .arch = c3d_feats ? "c3d" : cnn, .layer = c3d_feats ? c3d_layer : cnn_layer,
                            .weights = weights, .divisor = c3d_feats ? (int)divisor : (int)cnn_divisor, .size = (int)size,
                            .seed = (uint64_t)seed}};
    set_threads("video", threads);
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    if (table) {
        int64_t T = 0, F = 0;
        if (feats && !extractor_shape(&cfg, &T, &F, true)) return 1;
        tc_model *m = build(&cfg, (int)classes, T, F);
        if (!m) {
            fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
            return 1;
        }
        tc_model_summary(m, stdout);
        tc_model_free(m);
        return 0;
    }
    if (!prepare_out_dir("video", out)) return 1;
    char gen[4200];
    if (!data) {
        snprintf(gen, sizeof gen, "%s/data", out);
        if (!generate(gen, (int)per_class, (int)frames, (uint64_t)seed)) return 1;
        data = gen;
    }
    tc_dataset *train = NULL, *test = NULL, *ftrain = NULL, *ftest = NULL;
    int rc = 1;
    tc_model *m = NULL;
    tc_optimizer *opt = NULL;
    tc_tensor *pred = NULL;
    bool per_frame = !strcmp(method, "frames");
    /* c3d-rnn: K clips spread over each video; frames: every frame of the
     * videos' non-overlapping clips for training and the vote; others the centred clip */
    int K = c3d_feats ? (int)clips : per_frame ? (int)(frames / TC_VIDEO_CLIP_FRAMES) : 1;
    if (!load_videos(data, (int)size, K, &train, &test)) goto done;
    int C = train->classes;
    int64_t nt = tc_dataset_size(test), frames_per_video = train->x->shape[1];
    if (per_frame) {
        ftrain = frames_of(train);
        ftest = frames_of(test);
    }
    if (feats) {
        int64_t T0, F0;
        if (!extractor_shape(&cfg, &T0, &F0, false) || !to_features(&cfg, train, test)) goto done;
        tc_nn_seed((uint64_t)seed + 1); /* the head's weights, apart from the extractor's */
    }
    int64_t T = feats ? train->x->shape[1] : 0, F = feats ? train->x->shape[train->x->ndim - 1] : 0;
    if (!strcmp(method, "features-mlp")) T = 1;
    if (!strcmp(method, "features-mlp") && strcmp(pool, "mean")) F /= TC_VIDEO_CLIP_FRAMES, T = TC_VIDEO_CLIP_FRAMES;
    m = build(&cfg, C, T, F);
    opt = tc_adam(lr);
    if (!m || !opt) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    if (weights && !strcmp(method, "c3d")) {
        if (tc_load_keras_weights(m, weights, &(tc_keras_load_opts){.skip_missing = C != 487, .skip_extra = C != 487}) != TC_OK) {
            fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
            goto done;
        }
        fprintf(stderr, "tensorcook video: C3D weights loaded from %s%s\n", weights,
                C != 487 ? " (all but fc8: a new head fc8_video for these classes)" : "");
    }
    tc_fit_result r;
    if (tc_fit(m, per_frame ? ftrain : train, &(tc_fit_opts){
            .epochs = (int)epochs, .iterations = iters, .batch = batch, .seed = (uint64_t)seed, .optimizer = opt,
            .loss = TC_LOSS_SPARSE_CE, .progress = stderr}, &r) != TC_OK) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    if (!save_checkpoint(m, opt, out, &cfg, C)) goto done;
    pred = tc_predict(m, per_frame ? ftest->x : test->x, 64);
    if (!pred) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    /* a video's class: its own prediction, or the majority of its frames' */
    float *confusion = calloc((size_t)C * C, sizeof(float));
    int correct = 0;
    for (int64_t i = 0; i < nt; i++) {
        int guess;
        if (per_frame) {
            int votes[64] = {0};
            for (int64_t t = 0; t < frames_per_video; t++) votes[argmax(pred->data + (i * frames_per_video + t) * C, C) & 63]++;
            guess = 0;
            for (int c = 1; c < C && c < 64; c++)
                if (votes[c] > votes[guess]) guess = c;
        } else {
            guess = argmax(pred->data + i * C, C);
        }
        int truth = (int)test->y->data[i];
        correct += guess == truth;
        confusion[truth * C + guess] += 1;
    }
    double acc = (double)correct / (double)nt;
    for (int t = 0; t < C; t++) {
        float row = 0;
        for (int g = 0; g < C; g++) row += confusion[t * C + g];
        for (int g = 0; g < C && row > 0; g++) confusion[t * C + g] /= row;
    }
    char png[4300];
    snprintf(png, sizeof png, "%s/confusion_%s.png", out, method);
    tc_status ps = tc_plot_heatmap(png, "confusion (rows: true class)", C, C, confusion,
                                   (const char *const *)test->class_names, (const char *const *)test->class_names);
    free(confusion);
    if (ps != TC_OK) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    printf("method %s: test accuracy %.4f on %lld videos (chance %.4f); %lld steps in %.1f s; confusion matrix %s\n",
           method, acc, (long long)nt, 1.0 / C, (long long)r.steps, r.train_seconds, png);
    if (summary) {
        const char *keys[] = {"test_accuracy", "chance", "train_seconds", "steps", "test_videos"};
        double vals[] = {acc, 1.0 / C, r.train_seconds, (double)r.steps, (double)nt};
        if (!write_summary_json("video", summary, 5, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_tensor_free(pred);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(train);
    tc_dataset_free(test);
    tc_dataset_free(ftrain);
    tc_dataset_free(ftest);
    return rc;
}
