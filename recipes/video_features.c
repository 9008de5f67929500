/* The video recipe's fixed feature extractors: a zoo 2-D CNN on every frame
 * (features-rnn, features-mlp) or C3D on every 16-frame clip (c3d-rnn). The
 * network is run once per data set and its output cached in OUT/features/,
 * keyed by a hash of everything that decides it (the clips' values, the
 * network, layer, width, weights file and seed), so a second run with other
 * training options reads the cache instead of running the CNN again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "video.h"
#include "vision.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t cache_key(const video_extractor *e, const tc_tensor *x)
{
    char desc[1400];
    struct stat st = {0};
    if (e->weights) stat(e->weights, &st);
    snprintf(desc, sizeof desc, "%s|%s|%d|%d|%llu|%s|%lld|%lld", e->arch, e->layer, e->divisor, e->size,
             e->weights ? 0ull : (unsigned long long)e->seed, e->weights ? e->weights : "-", (long long)st.st_size,
             (long long)st.st_mtime);
    uint64_t h = fnv(14695981039346656037ull, desc, strlen(desc));
    h = fnv(h, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    return fnv(h, x->data, sizeof(tc_scalar) * (size_t)tc_numel(x));
}

static tc_model *build(const video_extractor *e, int *arch_out)
{
    tc_nn_seed(e->seed); /* the same random network in every run with this seed */
    if (!strcmp(e->arch, "c3d")) {
        *arch_out = -1;
        return tc_c3d(&(tc_c3d_opts){.frames = TC_VIDEO_CLIP_FRAMES, .height = e->size, .width = e->size,
                                     .width_divisor = e->divisor, .dropout = -1, .no_top = true});
    }
    int arch = vision_arch("video", e->arch);
    if (arch < 0) return NULL;
    *arch_out = arch;
    return tc_zoo_model((tc_zoo_arch)arch, &(tc_zoo_opts){.include_top = false, .height = e->size, .width = e->size,
                                                          .width_div = e->divisor});
}

/* The layer's output for every item of x viewed as [M, item...], in chunks. */
static tc_tensor *run(const video_extractor *e, tc_model *m, int arch, const tc_tensor *x, int64_t M, int item_nd,
                      const int64_t *item)
{
    tc_layer *l = tc_model_layer(m, e->layer);
    if (!l) {
        fprintf(stderr, "tensorcook video: %s has no layer '%s' (see tensorcook video --summary)\n", tc_model_name(m),
                e->layer);
        return NULL;
    }
    int64_t fshape[TC_MAX_DIMS], F = 1, per = 1;
    int fnd = tc_layer_output_shape(l, fshape);
    for (int d = 0; d < fnd; d++) F *= fshape[d];
    for (int d = 0; d < item_nd; d++) per *= item[d];
    tc_tensor *f = tc_tensor_new(2, (int64_t[]){M, F});
    if (!f) return NULL;
    int64_t chunk = arch < 0 ? 4 : 32;
    bool was = tc_set_grad_enabled(false), ok = true;
    for (int64_t i = 0; i < M && ok; i += chunk) {
        int64_t b = M - i < chunk ? M - i : chunk, shape[TC_MAX_DIMS] = {b};
        for (int d = 0; d < item_nd; d++) shape[d + 1] = item[d];
        tc_tensor *in = tc_copy_of(x->data + i * per, item_nd + 1, shape);
        /* zoo CNNs get Keras' preprocess_input of 0..255 pixels; C3D (Caffe's) 0..255 pixels */
        for (int64_t k = 0; in && k < b * per; k++) in->data[k] *= 255;
        if (in && arch >= 0) tc_preprocess_input(in, tc_zoo_preprocess_mode((tc_zoo_arch)arch));
        tc_tensor *y = in ? tc_model_forward_to(m, in, e->layer, false) : NULL;
        if (!y || tc_read_values(y, f->data + i * F) != TC_OK) {
            fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
            ok = false;
        }
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    if (!ok) {
        tc_tensor_free(f);
        return NULL;
    }
    return f;
}

tc_tensor *video_features(const video_extractor *e, const tc_tensor *x, const char *split)
{
    int64_t N = x->shape[0], T = x->shape[1], S = x->shape[2];
    bool clips = !strcmp(e->arch, "c3d");
    int64_t K = clips ? T / TC_VIDEO_CLIP_FRAMES : T;
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/features", e->out);
    snprintf(path, sizeof path, "%s/%s-%s-%s-%016llx.npy", dir, split, e->arch, e->layer,
             (unsigned long long)cache_key(e, x));
    struct stat st;
    if (stat(path, &st) == 0) {
        tc_tensor *c = tc_npy_load(path);
        if (c && c->ndim == 3 && c->shape[0] == N && c->shape[1] == K) {
            fprintf(stderr, "tensorcook video: %s features read from the cache %s\n", split, path);
            return c;
        }
        fprintf(stderr, "tensorcook video: %s: %s; computing the features again\n", path,
                c ? "not the expected shape" : tc_last_error());
        tc_tensor_free(c);
    }
    if (!prepare_out_dir("video", dir)) return NULL;
    int arch = -1;
    tc_model *m = build(e, &arch);
    if (!m) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        return NULL;
    }
    static bool noted;
    if (e->weights) {
        /* c3d-keras files hold fc8 (the Sports-1M head), which clip features do not use */
        if (tc_load_keras_weights(m, e->weights, &(tc_keras_load_opts){.skip_extra = true}) != TC_OK) {
            fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
            tc_model_free(m);
            return NULL;
        }
        fprintf(stderr, "tensorcook video: %s weights loaded from %s\n", e->arch, e->weights);
    } else if (noted) {
    } else if (clips) {
        noted = true;
        fprintf(stderr, "tensorcook video: NOTE: no --weights, so C3D's weights are RANDOM (seeded): the clip features "
                        "are a random 3-D CNN's; pass c3d-keras' sports1M_weights_tf.h5 with --weights\n");
    } else {
        noted = true;
        vision_random_note("video", (tc_zoo_arch)arch, false);
    }
    int64_t clip_item[4] = {TC_VIDEO_CLIP_FRAMES, S, S, 3}, frame_item[3] = {S, S, 3};
    fprintf(stderr, "tensorcook video: %s: %s features of %lld %s...\n", split, e->layer, (long long)(N * K),
            clips ? "clips" : "frames");
    tc_tensor *f = run(e, m, arch, x, N * K, clips ? 4 : 3, clips ? clip_item : frame_item);
    tc_model_free(m);
    if (!f) return NULL;
    int64_t F = f->shape[1];
    tc_tensor *out = tc_tensor_from(3, (int64_t[]){N, K, F}, f->data);
    tc_tensor_free(f);
    if (!out) return NULL;
    if (tc_npy_save(path, out) != TC_OK) {
        fprintf(stderr, "tensorcook video: %s\n", tc_last_error());
        tc_tensor_free(out);
        return NULL;
    }
    return out;
}

void video_standardize(tc_tensor *train, tc_tensor *test)
{
    int64_t F = train->shape[train->ndim - 1], n = tc_numel(train) / F;
    double *mean = calloc((size_t)F, sizeof *mean), *sq = calloc((size_t)F, sizeof *sq);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < F; j++) {
            double v = train->data[i * F + j];
            mean[j] += v;
            sq[j] += v * v;
        }
    for (int64_t j = 0; j < F; j++) {
        mean[j] /= (double)n;
        double var = sq[j] / (double)n - mean[j] * mean[j];
        sq[j] = var > 1e-12 * (1 + mean[j] * mean[j]) ? 1 / sqrt(var) : 0;
    }
    tc_tensor *both[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        int64_t m = tc_numel(both[s]) / F;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < F; j++)
                both[s]->data[i * F + j] = (tc_scalar)((both[s]->data[i * F + j] - mean[j]) * sq[j]);
    }
    free(mean);
    free(sq);
}
