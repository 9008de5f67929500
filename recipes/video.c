/* tensorcook video: the cookbook's ways to classify video (chapter 5), each a
 * --method on 16-frame clips:
 *   frames   a 2-D CNN on every frame, the video's class by majority vote
 *   cnn-rnn  the 2-D CNN on every frame (TimeDistributed) into an LSTM, end to end
 *   c3d      C3D (Tran et al.) on the clip
 * Default data: generated videos of moving shapes (a square moving left or
 * right, a disk moving up or down) written as MPEG-4 .mp4 files through
 * libav, so they are read the way users' files are; --data DIR/<class>/NAME.mp4
 * for real ones. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "recipe_models.h"

static const char *classes_default[] = {"square_left", "square_right", "disk_up", "disk_down"};

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook video [options]\n"
            "  --method M          frames | cnn-rnn | c3d [c3d]\n"
            "  --data DIR          DIR/<class>/<video> (any format libav reads) [generated moving shapes]\n"
            "  --size N            frames resized to N x N [32]\n"
            "  --per-class N       generated videos per class [24]\n"
            "  --epochs N          epochs [12]\n"
            "  --iters N           train N steps instead of whole epochs\n"
            "  --batch N           batch size [8]\n"
            "  --lr X              Adam learning rate [0.0003]\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of data, weights, shuffling and dropout [42]\n"
            "  --out DIR           generated data, confusion matrix, metrics, checkpoint.tcck [out/video]\n"
            "  --divisor N         C3D widths divided by N [16]; 1: Tran et al.'s\n"
            "  --classes N         classes of the --summary table [4]; C3D's Sports-1M head: 487\n"
            "  --summary           print the model's table and exit (--size 112 --divisor 1 --classes 487: the full C3D)\n"
            "  --summary-json FILE test_accuracy, train_seconds, videos\n");
    return rc;
}

static double uni(tc_rng *r)
{
    tc_scalar v;
    tc_rng_uniform(r, &v, 1, 0, 1);
    return (double)v;
}

/* One generated video: 16 frames of 32x32, a shape on a noisy background. */
static tc_tensor *moving_shape(int cls, tc_rng *rng)
{
    enum { T = 16, S = 32 };
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

static bool generate(const char *root, int per_class, uint64_t seed)
{
    tc_rng rng = tc_rng_new(seed);
    for (int c = 0; c < 4; c++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", root, classes_default[c]);
        if (!prepare_out_dir("video", dir)) return false;
        for (int i = 0; i < per_class; i++) {
            char path[4600];
            snprintf(path, sizeof path, "%s/%03d.mp4", dir, i);
            tc_tensor *v = moving_shape(c, &rng);
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

/* Every video of DIR/<class>/ as one centred 16-frame clip scaled to [0, 1];
 * every 4th video of a class goes to the test set. */
static bool load_videos(const char *root, int size, tc_dataset **train, tc_dataset **test)
{
    char **cls = NULL;
    int nc = list_dir(root, &cls);
    if (nc < 2) {
        fprintf(stderr, "tensorcook video: %s: need at least two class folders\n", root);
        if (nc > 0) free_list(cls, nc);
        return false;
    }
    int64_t clip = (int64_t)TC_VIDEO_CLIP_FRAMES * size * size * 3;
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
            tc_tensor *cl = v ? tc_video_clips(v, TC_VIDEO_CLIP_FRAMES, 1, path) : NULL;
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
        d->x = tc_tensor_from(5, (int64_t[]){n[s], TC_VIDEO_CLIP_FRAMES, size, size, 3}, x[s]);
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

static int c3d_divisor = 16;

static const char *const methods[3] = {"frames", "cnn-rnn", "c3d"};

tc_model *video_model(int method, int size, int classes, int divisor)
{
    if (method == 0) return frame_cnn(size, classes);
    if (method == 1) return cnn_rnn(size, classes);
    return tc_c3d(&(tc_c3d_opts){.frames = TC_VIDEO_CLIP_FRAMES, .height = size, .width = size, .classes = classes,
                                 .width_divisor = divisor});
}

static int method_index(const char *method) { return !strcmp(method, methods[0]) ? 0 : !strcmp(method, methods[1]) ? 1 : 2; }

static tc_model *build(const char *method, int size, int classes)
{
    return video_model(method_index(method), size, classes, c3d_divisor);
}

/* out/checkpoint.tcck: the weights and, under extra/video/, what rebuilds
 * the model (tensorcook onnx export) */
static bool save_checkpoint(const tc_model *m, tc_optimizer *opt, const char *out, const char *method, int size, int classes)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.tcck", out);
    tc_checkpoint *extra = tc_checkpoint_new();
    const char *keys[4] = {"video/method", "video/size", "video/classes", "video/divisor"};
    const double vals[4] = {method_index(method), size, classes, c3d_divisor};
    bool ok = extra != NULL;
    for (int k = 0; ok && k < 4; k++) ok = tc_checkpoint_put_scalar(extra, keys[k], vals[k]) == TC_OK;
    ok = ok && tc_checkpoint_save_model(m, opt, path, extra) == TC_OK;
    tc_checkpoint_free(extra);
    if (!ok) fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
    return ok;
}

static int argmax(const tc_scalar *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

int tc_cmd_video(int argc, char **argv)
{
    const char *data = NULL, *out = "out/video", *summary = NULL, *method = "c3d";
    long long epochs = 12, iters = 0, batch = 8, threads = 0, seed = 42, size = 32, per_class = 24, divisor = 16, classes = 4;
    double lr = 3e-4;
    bool bad = false, table = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--summary")) {
            table = true;
            continue;
        }
        if (opt_str(argc, argv, &i, "--data", &data) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--method", &method) || opt_str(argc, argv, &i, "--summary-json", &summary)) {
            bad |= !out || !method;
            continue;
        }
        if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--size", &size, &bad) ||
            opt_int(argc, argv, &i, "--per-class", &per_class, &bad) ||
            opt_int(argc, argv, &i, "--divisor", &divisor, &bad) || opt_int(argc, argv, &i, "--classes", &classes, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook video: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || epochs < 1 || iters < 0 || batch < 1 || lr <= 0 || size < 16 || size % 16 || per_class < 4 || divisor < 1 || divisor > 64 || classes < 2) {
        fprintf(stderr, "tensorcook video: invalid option values (see --help; --size a multiple of 16)\n");
        return 2;
    }
    if (strcmp(method, "frames") && strcmp(method, "cnn-rnn") && strcmp(method, "c3d")) {
        fprintf(stderr, "tensorcook video: --method %s is not one of frames, cnn-rnn, c3d\n", method);
        return 2;
    }
    c3d_divisor = (int)divisor;
    set_threads("video", threads);
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    if (table) {
        tc_model *m = build(method, (int)size, (int)classes);
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
        if (!generate(gen, (int)per_class, (uint64_t)seed)) return 1;
        data = gen;
    }
    tc_dataset *train = NULL, *test = NULL, *ftrain = NULL, *ftest = NULL;
    int rc = 1;
    tc_model *m = NULL;
    tc_optimizer *opt = NULL;
    tc_tensor *pred = NULL;
    if (!load_videos(data, (int)size, &train, &test)) goto done;
    int C = train->classes;
    int64_t nt = tc_dataset_size(test);
    bool per_frame = !strcmp(method, "frames");
    if (per_frame) {
        ftrain = frames_of(train);
        ftest = frames_of(test);
    }
    m = build(method, (int)size, C);
    opt = tc_adam(lr);
    if (!m || !opt) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    tc_fit_result r;
    if (tc_fit(m, per_frame ? ftrain : train, &(tc_fit_opts){
            .epochs = (int)epochs, .iterations = iters, .batch = batch, .seed = (uint64_t)seed, .optimizer = opt,
            .loss = TC_LOSS_SPARSE_CE, .progress = stderr}, &r) != TC_OK) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        goto done;
    }
    if (!save_checkpoint(m, opt, out, method, (int)size, C)) goto done;
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
            for (int t = 0; t < TC_VIDEO_CLIP_FRAMES; t++) votes[argmax(pred->data + (i * TC_VIDEO_CLIP_FRAMES + t) * C, C)]++;
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
