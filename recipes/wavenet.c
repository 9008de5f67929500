/* tensorcook wavenet: WaveNet on audio, and an NSynth-style autoencoder.
 *   --train FILE.wav...  random windows of (receptive field - 1 + target)
 *       samples, mu-law classes, teacher forcing, Adam; the loss in nats per
 *       sample over the target positions (each sees a whole receptive field);
 *       checkpoints in --out DIR; after training, --generate SECONDS of audio.
 *   --autoencoder  a non-causal dilated encoder pools the window to a code
 *       (16 channels every 512 samples by default), upsampled as the local
 *       conditioning of the WaveNet decoder.
 *   --checkpoint CK --generate SECONDS --out OUT.wav   sample from a model
 *   --checkpoint CK --encode IN.wav --out CODE.npy     (autoencoder) code of a sound
 *   --checkpoint CK --decode CODE.npy --out OUT.wav    (autoencoder) resynthesis
 * Default data: the speech recordings of Debian's alsa-utils. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ALSA_SOUNDS "/usr/share/sounds/alsa"
#define MAX_FILES 256

/* ---- the model: decoder, optional encoder, their options in the checkpoint -------- */
typedef struct {
    tc_wavenet *w;
    tc_wavenet_encoder *e;     /* NULL unless autoencoder */
    int rate;
    tc_tensor **params;        /* decoder then encoder */
    int n_params;
} net;

static void net_free(net *n)
{
    tc_wavenet_free(n->w);
    tc_wavenet_encoder_free(n->e);
    free(n->params);
    memset(n, 0, sizeof *n);
}

static bool net_build(net *n, const tc_wavenet_opts *wo, const tc_wavenet_encoder_opts *eo, int rate, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    n->rate = rate;
    tc_wavenet_opts o = *wo;
    if (eo) {
        if (!(n->e = tc_wavenet_encoder_new(eo, seed + 1))) return false;
        o.local_channels = tc_wavenet_encoder_options(n->e)->code_channels;
        o.local_hop = tc_wavenet_encoder_options(n->e)->hop;
    }
    if (!(n->w = tc_wavenet_new(&o, seed))) return false;
    int nd = tc_wavenet_param_count(n->w), ne = n->e ? tc_wavenet_encoder_param_count(n->e) : 0;
    n->params = malloc(sizeof(tc_tensor *) * (size_t)(nd + ne));
    if (!n->params) return false;
    for (int i = 0; i < nd; i++) n->params[i] = tc_wavenet_param(n->w, i);
    for (int i = 0; i < ne; i++) n->params[nd + i] = tc_wavenet_encoder_param(n->e, i);
    n->n_params = nd + ne;
    return true;
}

static const char *param_name(const net *n, int i)
{
    int nd = tc_wavenet_param_count(n->w);
    return i < nd ? tc_wavenet_param_name(n->w, i) : tc_wavenet_encoder_param_name(n->e, i - nd);
}

static bool net_save(const net *n, tc_optimizer *opt, const char *path, double step)
{
    tc_checkpoint *ck = tc_checkpoint_new();
    const tc_wavenet_opts *o = tc_wavenet_options(n->w);
    bool ok = ck && tc_wavenet_checkpoint_put(ck, n->w, "decoder/") == TC_OK &&
              (!n->e || tc_wavenet_encoder_checkpoint_put(ck, n->e, "encoder/") == TC_OK);
    double cfg[] = {o->blocks, o->layers, o->residual_channels, o->dilation_channels, o->skip_channels,
                    o->output_hidden, n->rate, n->e != NULL, step};
    const char *keys[] = {"config/blocks", "config/layers", "config/residual", "config/dilation", "config/skip",
                          "config/hidden", "config/rate", "config/autoencoder", "train/step"};
    for (int i = 0; ok && i < 9; i++) ok = tc_checkpoint_put_scalar(ck, keys[i], cfg[i]) == TC_OK;
    if (ok && n->e) {
        const tc_wavenet_encoder_opts *eo = tc_wavenet_encoder_options(n->e);
        double ec[] = {eo->blocks, eo->layers, eo->channels, eo->code_channels, eo->hop};
        const char *ek[] = {"config/enc_blocks", "config/enc_layers", "config/enc_channels", "config/code_channels",
                            "config/hop"};
        for (int i = 0; ok && i < 5; i++) ok = tc_checkpoint_put_scalar(ck, ek[i], ec[i]) == TC_OK;
    }
    /* Adam's slots and step count, so that --resume continues exactly */
    char name[300];
    for (int i = 0; ok && opt && i < n->n_params; i++)
        for (int s = 0; ok && s < tc_optimizer_slot_count(opt); s++) {
            snprintf(name, sizeof name, "optimizer/%s/%s", param_name(n, i), tc_optimizer_slot_name(opt, s));
            ok = tc_checkpoint_put(ck, name, tc_optimizer_slot(opt, n->params[i], s)) == TC_OK;
        }
    if (ok && opt) ok = tc_checkpoint_put_scalar(ck, "optimizer/steps", (double)tc_optimizer_steps(opt)) == TC_OK;
    ok = ok && tc_checkpoint_save(ck, path) == TC_OK;
    tc_checkpoint_free(ck);
    return ok;
}

/* Builds the model a checkpoint describes and loads it (and opt's state when given). */
static bool net_load(net *n, tc_optimizer *opt, const char *path, double *step)
{
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return false;
    double v[9];
    const char *keys[] = {"config/blocks", "config/layers", "config/residual", "config/dilation", "config/skip",
                          "config/hidden", "config/rate", "config/autoencoder", "train/step"};
    for (int i = 0; i < 9; i++)
        if (!tc_checkpoint_get_scalar(ck, keys[i], &v[i])) {
            tc_error(TC_ERR_FORMAT, "checkpoint %s: not a wavenet checkpoint (no %s)", path, keys[i]);
            tc_checkpoint_free(ck);
            return false;
        }
    tc_wavenet_opts o = {.blocks = (int)v[0], .layers = (int)v[1], .residual_channels = (int)v[2],
                         .dilation_channels = (int)v[3], .skip_channels = (int)v[4], .output_hidden = (int)v[5]};
    tc_wavenet_encoder_opts eo = {0};
    if (v[7] != 0) {
        double e[5];
        const char *ek[] = {"config/enc_blocks", "config/enc_layers", "config/enc_channels", "config/code_channels",
                            "config/hop"};
        for (int i = 0; i < 5; i++)
            if (!tc_checkpoint_get_scalar(ck, ek[i], &e[i])) {
                tc_error(TC_ERR_FORMAT, "checkpoint %s: autoencoder without %s", path, ek[i]);
                tc_checkpoint_free(ck);
                return false;
            }
        eo = (tc_wavenet_encoder_opts){.blocks = (int)e[0], .layers = (int)e[1], .channels = (int)e[2],
                                       .code_channels = (int)e[3], .hop = (int)e[4]};
    }
    bool ok = net_build(n, &o, v[7] != 0 ? &eo : NULL, (int)v[6], 0) &&
              tc_wavenet_checkpoint_get(ck, n->w, "decoder/") == TC_OK &&
              (!n->e || tc_wavenet_encoder_checkpoint_get(ck, n->e, "encoder/") == TC_OK);
    if (!ok && tc_last_error()[0] && !strstr(tc_last_error(), path)) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tc_last_error());
        tc_error(TC_ERR_FORMAT, "checkpoint %s: %s", path, msg);
    }
    char name[300];
    for (int i = 0; ok && opt && i < n->n_params; i++)
        for (int s = 0; ok && s < tc_optimizer_slot_count(opt); s++) {
            snprintf(name, sizeof name, "optimizer/%s/%s", param_name(n, i), tc_optimizer_slot_name(opt, s));
            const tc_tensor *t = tc_checkpoint_get(ck, name);
            tc_tensor *slot = tc_optimizer_slot(opt, n->params[i], s);
            if (!t || !slot || !tc_same_shape(t, slot)) {
                tc_error(TC_ERR_FORMAT, "checkpoint %s: no optimizer state %s", path, name);
                ok = false;
            } else {
                tc_read_values(t, slot->data);
            }
        }
    double steps;
    if (ok && opt && tc_checkpoint_get_scalar(ck, "optimizer/steps", &steps)) tc_optimizer_set_steps(opt, (int64_t)steps);
    if (step) *step = v[8];
    tc_checkpoint_free(ck);
    return ok;
}

/* ---- data ------------------------------------------------------------------------------ */
typedef struct {
    int n_files;
    int *ids[MAX_FILES];
    int64_t len[MAX_FILES];
    int64_t total;
} sounds;

static void sounds_free(sounds *s)
{
    for (int i = 0; i < s->n_files; i++) free(s->ids[i]);
    memset(s, 0, sizeof *s);
}

static int *classes_of(const tc_tensor *x)
{
    int64_t n = tc_numel(x);
    int *ids = malloc(sizeof(int) * (size_t)n);
    for (int64_t i = 0; ids && i < n; i++) ids[i] = tc_mulaw_encode_sample((float)x->data[i]);
    return ids;
}

static bool load_sounds(sounds *s, int n, const char *const *paths, int rate, int64_t min_len)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
        tc_tensor *x = tc_audio_load(paths[i], rate, NULL);
        if (!x) {
            fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            sounds_free(s);
            return false;
        }
        if (tc_numel(x) < min_len) {
            fprintf(stderr, "tensorcook wavenet: %s: %lld samples at %d Hz, shorter than a training window (%lld): skipped\n",
                    paths[i], (long long)tc_numel(x), rate, (long long)min_len);
            tc_tensor_free(x);
            continue;
        }
        s->len[s->n_files] = tc_numel(x);
        s->ids[s->n_files] = classes_of(x);
        s->total += tc_numel(x);
        s->n_files++;
        tc_tensor_free(x);
    }
    if (s->n_files == 0) {
        fprintf(stderr, "tensorcook wavenet: no training file is longer than a window of %lld samples\n", (long long)min_len);
        return false;
    }
    return true;
}

/* Entropy (nats) of the classes' marginal distribution: what a model that
 * ignores the past would score. */
static double marginal_entropy(const sounds *s)
{
    double count[256] = {0}, h = 0;
    for (int f = 0; f < s->n_files; f++)
        for (int64_t i = 0; i < s->len[f]; i++) count[s->ids[f][i]]++;
    for (int c = 0; c < 256; c++)
        if (count[c] > 0) h -= count[c] / s->total * log(count[c] / s->total);
    return h;
}

/* The loudest window of rf samples of the first file (windows every rf/2):
 * generation continues real speech instead of starting from silence, which
 * a WaveNet trained on recordings with quiet parts tends to keep producing. */
static const int *loudest_window(const sounds *s, int64_t rf)
{
    int64_t best = 0, step = rf / 2 > 0 ? rf / 2 : 1;
    double best_e = -1;
    for (int64_t start = 0; start + rf <= s->len[0]; start += step) {
        double e = 0;
        for (int64_t i = 0; i < rf; i++) e += fabs(tc_mulaw_decode_sample(s->ids[0][start + i]));
        if (e > best_e) best_e = e, best = start;
    }
    return s->ids[0] + best;
}

/* ---- training ---------------------------------------------------------------------------- */
typedef struct {
    net *n;
    tc_tensor *ids;      /* [batch, T + 1], long-lived, refilled per step */
    int64_t n_target;
} batch_ctx;

/* The batch's loss (the shared training step's loss function). */
static tc_tensor *batch_loss(void *p)
{
    batch_ctx *c = p;
    tc_tensor *code = NULL;
    if (c->n->e) {
        int64_t B = c->ids->shape[0], T = c->ids->shape[1] - 1;
        tc_tensor *x = tc_empty(TC_SHAPE(B, T, 1));
        if (!x) return NULL;
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = 0; t < T; t++)
                x->data[b * T + t] = tc_mulaw_decode_sample((int)c->ids->data[b * (T + 1) + t]);
        code = tc_wavenet_encode(c->n->e, x);
        if (!code) return NULL;
    }
    return tc_wavenet_loss(c->n->w, c->ids, NULL, code, c->n_target);
}

static void fill_batch(tc_tensor *ids, const sounds *s, tc_rng *r)
{
    int64_t B = ids->shape[0], W = ids->shape[1];
    for (int64_t b = 0; b < B; b++) {
        /* a file in proportion to its length, then a start in it */
        int64_t at = (int64_t)tc_rng_below(r, (uint64_t)s->total), f = 0;
        while (at >= s->len[f]) at -= s->len[f++];
        int64_t start = (int64_t)tc_rng_below(r, (uint64_t)(s->len[f] - W + 1));
        for (int64_t t = 0; t < W; t++) ids->data[b * W + t] = (tc_scalar)s->ids[f][start + t];
    }
}

/* Mean loss (inference, no tape) over `windows` windows drawn from a
 * generator of their own: the same windows for every model of one data set. */
static double eval_loss(net *n, const sounds *s, int64_t T, int64_t target, int windows, uint64_t seed)
{
    tc_tensor *ids = tc_tensor_new(TC_SHAPE(1, T + 1));
    if (!ids) return NAN;
    tc_rng r = tc_rng_new(seed);
    batch_ctx c = {n, ids, target};
    bool was = tc_set_grad_enabled(false);
    double sum = 0;
    for (int k = 0; k < windows; k++) {
        fill_batch(ids, s, &r);
        tc_tensor *l = batch_loss(&c);
        sum += l ? l->data[0] : NAN;
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    tc_tensor_free(ids);
    return sum / windows;
}

/* ---- generation, encoding, decoding ------------------------------------------------------ */
/* PREFIX_waveform.png and PREFIX_spectrogram.png of a sound. */
static bool plot_sound(const char *prefix, const tc_tensor *x, int rate, const char *what)
{
    int64_t n = tc_numel(x);
    double *t = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    if (!t || !y) {
        free(t), free(y);
        tc_error(TC_ERR_MEMORY, "plot %s: out of memory", prefix);
        return false;
    }
    for (int64_t i = 0; i < n; i++) t[i] = (double)i / rate, y[i] = x->data[i];
    char path[4200], title[256];
    snprintf(path, sizeof path, "%s_waveform.png", prefix);
    snprintf(title, sizeof title, "%s: waveform", what);
    tc_plot_line line = {.label = "samples", .n = (int)n, .x = t, .y = y, .r = 0.1, .g = 0.3, .b = 0.7};
    bool ok = tc_plot_lines(path, title, "time (s)", "amplitude", 1, &line) == TC_OK;
    free(t), free(y);
    snprintf(path, sizeof path, "%s_spectrogram.png", prefix);
    snprintf(title, sizeof title, "%s: spectrogram (dB)", what);
    return ok && (n < 512 || tc_plot_spectrogram(path, title, n, x->data, rate) == TC_OK);
}

/* Generates seconds of audio after a receptive field of silence; returns samples/s (< 0 on error). */
static double generate_to(net *n, double seconds, double temperature, const tc_tensor *lc, int64_t samples, uint64_t seed,
                          const char *path, int64_t *count, const char *plot_prefix, const int *prime_ids)
{
    int64_t N = samples > 0 ? samples : (int64_t)llround(seconds * n->rate);
    if (N < 1) N = 1;
    tc_wavenet_generator *g = tc_wavenet_generator_new(n->w);
    int *out = malloc(sizeof(int) * (size_t)N);
    int64_t P = lc ? 0 : tc_wavenet_receptive_field(n->w);
    if (!g || !out) {
        tc_wavenet_generator_free(g);
        free(out);
        return -1;
    }
    tc_rng r = tc_rng_new(seed);
    double t0 = wall_seconds();
    /* unconditioned: a receptive field of real audio first (prime_ids), or of silence (class 128) */
    int *prime = P ? malloc(sizeof(int) * (size_t)P) : NULL;
    for (int64_t i = 0; i < P; i++) prime[i] = prime_ids ? prime_ids[i] : 128;
    tc_status st = tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n_prime = P, .prime = prime, .n = N,
                                                                 .temperature = temperature, .lc = lc},
                                       &r, out);
    double rate = (double)(N + P) / fmax(wall_seconds() - t0, 1e-9);
    free(prime);
    tc_wavenet_generator_free(g);
    if (st != TC_OK) {
        free(out);
        return -1;
    }
    tc_tensor *x = tc_tensor_new(1, (int64_t[]){N});
    for (int64_t i = 0; x && i < N; i++) x->data[i] = tc_mulaw_decode_sample(out[i]);
    free(out);
    st = x ? tc_audio_save_wav16(path, x, n->rate) : TC_ERR_MEMORY;
    if (st == TC_OK && plot_prefix && !plot_sound(plot_prefix, x, n->rate, lc ? "decoded" : "generated")) st = TC_ERR_IO;
    tc_tensor_free(x);
    if (count) *count = N;
    return st == TC_OK ? rate : -1;
}

/* Code [frames, C] of a whole sound (cut to whole frames), long-lived. The
 * encoder runs over the whole sound at once: its activations take about
 * 2.5 KB per sample with the default encoder (a minute of audio: ~2.4 GB). */
static tc_tensor *encode_sound(net *n, const char *path)
{
    tc_tensor *x = tc_audio_load(path, n->rate, NULL);
    if (!x) return NULL;
    int hop = tc_wavenet_encoder_options(n->e)->hop;
    int64_t T = tc_numel(x) / hop * hop;
    if (T < hop) {
        tc_error(TC_ERR_FORMAT, "audio %s: %lld samples, fewer than one code frame (%d)", path, (long long)tc_numel(x), hop);
        tc_tensor_free(x);
        return NULL;
    }
    bool was = tc_set_grad_enabled(false);
    tc_tensor *in = tc_empty(TC_SHAPE(1, T, 1));
    for (int64_t t = 0; t < T; t++) in->data[t] = tc_mulaw_decode_sample(tc_mulaw_encode_sample((float)x->data[t]));
    tc_tensor_free(x);
    tc_tensor *code = tc_wavenet_encode(n->e, in);
    tc_tensor *keep = code ? tc_tensor_keep(tc_reshape(code, TC_SHAPE(code->shape[1], code->shape[2]))) : NULL;
    tc_step_reset();
    tc_set_grad_enabled(was);
    return keep;
}

/* ---- the command ---------------------------------------------------------------------------- */
static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook wavenet [--train FILE.wav...] [options]            train (default data: %s)\n"
            "       tensorcook wavenet --checkpoint CK --generate SECONDS --out OUT.wav [--temperature T]\n"
            "       tensorcook wavenet --checkpoint CK --encode IN.wav --out CODE.npy    (autoencoder)\n"
            "       tensorcook wavenet --checkpoint CK --decode CODE.npy --out OUT.wav   (autoencoder)\n"
            "  --blocks B --layers L --channels C   B blocks of L dilated layers, C residual channels [2 x 10, 64]\n"
            "  --autoencoder        NSynth-style: a non-causal encoder's code conditions the decoder\n"
            "  --code-channels N --hop N  the code: N channels every hop samples [16, 512]\n"
            "  --steps N [300]  --batch N [1]  --target N  predicted samples per window [1024]  --lr X [0.001]\n"
            "  --rate HZ [16000]  --generate SECONDS [1] after training  --temperature T [1]\n"
            "  --summary          print the model's layers and parameters and exit\n"
            "  --plots            with --generate/--decode: OUT_waveform.png and OUT_spectrogram.png too\n"
            "  --prime FILE.wav   with --generate: start from its loudest receptive field [silence]\n"
            "  --threads N --seed N --out DIR [out/wavenet]  --resume CK  --summary-json FILE\n",
            ALSA_SOUNDS);
    return rc;
}

static int default_files(char paths[][512], int max)
{
    DIR *d = opendir(ALSA_SOUNDS);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        /* the recorded voices; Noise.wav is a test noise, not speech */
        if (len > 4 && !strcmp(e->d_name + len - 4, ".wav") && strcmp(e->d_name, "Noise.wav"))
            snprintf(paths[n++], 512, "%s/%s", ALSA_SOUNDS, e->d_name);
    }
    if (d) closedir(d);
    /* a stable order whatever readdir gives */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(paths[j - 1], paths[j]) > 0; j--) {
            char t[512];
            memcpy(t, paths[j], 512), memcpy(paths[j], paths[j - 1], 512), memcpy(paths[j - 1], t, 512);
        }
    return n;
}

int tc_cmd_wavenet(int argc, char **argv)
{
    const char *out = NULL, *summary_json = NULL, *checkpoint = NULL, *resume = NULL, *encode = NULL, *decode = NULL;
    const char *prime_file = NULL;
    const char *files[MAX_FILES];
    int n_files = 0;
    long long blocks = 2, layers = 10, channels = 64, code_channels = 16, hop = 512, steps = 300, batch = 1,
              target = 1024, rate = TC_AUDIO_DEFAULT_RATE, threads = 0, seed = 42;
    double lr = 1e-3, seconds = 1.0, temperature = 1.0;
    bool bad = false, autoencoder = false, summary = false, generate_given = false, plots = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--autoencoder")) {
            autoencoder = true;
            continue;
        }
        if (!strcmp(argv[i], "--summary")) {
            summary = true;
            continue;
        }
        if (!strcmp(argv[i], "--plots")) {
            plots = true;
            continue;
        }
        if (!strcmp(argv[i], "--train")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) && n_files < MAX_FILES) files[n_files++] = argv[++i];
            if (n_files == 0) {
                fprintf(stderr, "tensorcook wavenet: --train needs at least one sound file\n");
                return 2;
            }
            continue;
        }
        if (!strcmp(argv[i], "--generate")) generate_given = true;
        if (opt_str(argc, argv, &i, "--out", &out) || opt_str(argc, argv, &i, "--summary-json", &summary_json) ||
            opt_str(argc, argv, &i, "--checkpoint", &checkpoint) || opt_str(argc, argv, &i, "--resume", &resume) ||
            opt_str(argc, argv, &i, "--encode", &encode) || opt_str(argc, argv, &i, "--decode", &decode) ||
            opt_str(argc, argv, &i, "--prime", &prime_file))
            continue;
        if (opt_int(argc, argv, &i, "--blocks", &blocks, &bad) || opt_int(argc, argv, &i, "--layers", &layers, &bad) ||
            opt_int(argc, argv, &i, "--channels", &channels, &bad) ||
            opt_int(argc, argv, &i, "--code-channels", &code_channels, &bad) || opt_int(argc, argv, &i, "--hop", &hop, &bad) ||
            opt_int(argc, argv, &i, "--steps", &steps, &bad) || opt_int(argc, argv, &i, "--batch", &batch, &bad) ||
            opt_int(argc, argv, &i, "--target", &target, &bad) || opt_int(argc, argv, &i, "--rate", &rate, &bad) ||
            opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
            opt_double(argc, argv, &i, "--lr", &lr, &bad) || opt_double(argc, argv, &i, "--generate", &seconds, &bad) ||
            opt_double(argc, argv, &i, "--temperature", &temperature, &bad))
            continue;
        fprintf(stderr, "tensorcook wavenet: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || blocks < 1 || layers < 1 || layers > 16 || channels < 1 || channels > 1024 || code_channels < 1 ||
        hop < 1 || steps < 0 || batch < 1 || target < 1 || rate < 100 || lr <= 0 || !(seconds > 0) || !(temperature > 0)) {
        fprintf(stderr, "tensorcook wavenet: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("wavenet", threads);
    net n = {0};
    int rc = 1;

    /* ---- use a trained model ---- */
    if (encode || decode || (checkpoint && generate_given)) {
        if (!checkpoint || !out) {
            fprintf(stderr, "tensorcook wavenet: --encode/--decode/--generate need --checkpoint CK and --out FILE\n");
            return 2;
        }
        if (!net_load(&n, NULL, checkpoint, NULL)) {
            fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            net_free(&n);
            return 1;
        }
        char prefix[4200]; /* --plots: OUT (without .wav) + _waveform.png, _spectrogram.png */
        snprintf(prefix, sizeof prefix, "%s", out);
        size_t pl = strlen(prefix);
        if (pl > 4 && !strcmp(prefix + pl - 4, ".wav")) prefix[pl - 4] = 0;
        const char *plot_to = plots ? prefix : NULL;
        sounds ps = {0};
        const int *prime_ids = NULL;
        if (prime_file) {
            if (!load_sounds(&ps, 1, &prime_file, n.rate, tc_wavenet_receptive_field(n.w))) {
                net_free(&n);
                return 1;
            }
            prime_ids = loudest_window(&ps, tc_wavenet_receptive_field(n.w));
        }
        if ((encode || decode) && !n.e) {
            fprintf(stderr, "tensorcook wavenet: %s is not an autoencoder (train with --autoencoder)\n", checkpoint);
        } else if (encode) {
            tc_tensor *code = encode_sound(&n, encode);
            if (!code || tc_npy_save(out, code) != TC_OK) fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            else {
                printf("%s: code [%lld, %lld] (%d samples per frame) -> %s\n", encode, (long long)code->shape[0],
                       (long long)code->shape[1], tc_wavenet_encoder_options(n.e)->hop, out);
                rc = 0;
            }
            tc_tensor_free(code);
        } else if (decode) {
            tc_tensor *code = tc_npy_load(decode);
            int C = tc_wavenet_encoder_options(n.e)->code_channels, H = tc_wavenet_encoder_options(n.e)->hop;
            if (!code) fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            else if (code->ndim != 2 || code->shape[1] != C)
                fprintf(stderr, "tensorcook wavenet: %s: a code must be [frames, %d], this one is %s\n", decode, C,
                        tc_shape_str(code, (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX));
            else {
                int64_t count = 0;
                double sps = generate_to(&n, 0, temperature, code, code->shape[0] * H, (uint64_t)seed, out, &count, plot_to, prime_ids);
                if (sps < 0) fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
                else {
                    printf("%s: %lld samples (%.2f s) decoded at %.0f samples/s -> %s\n", decode, (long long)count,
                           (double)count / n.rate, sps, out);
                    rc = 0;
                }
            }
            tc_tensor_free(code);
        } else if (n.e) {
            fprintf(stderr, "tensorcook wavenet: %s is an autoencoder: use --decode CODE.npy\n", checkpoint);
        } else {
            int64_t count = 0;
            double sps = generate_to(&n, seconds, temperature, NULL, 0, (uint64_t)seed, out, &count, plot_to, prime_ids);
            if (sps < 0) fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            else {
                printf("generated %lld samples (%.2f s at %d Hz), %.0f samples/s -> %s\n", (long long)count,
                       (double)count / n.rate, n.rate, sps, out);
                rc = 0;
                if (summary_json) {
                    const char *k[] = {"samples_per_second"};
                    rc = write_summary_json("wavenet", summary_json, 1, k, &sps) ? 0 : 1;
                }
            }
        }
        sounds_free(&ps);
        net_free(&n);
        return rc;
    }

    if (checkpoint) {
        fprintf(stderr, "tensorcook wavenet: --checkpoint needs --generate, --encode or --decode (--resume continues training)\n");
        return 2;
    }
    /* ---- build (or resume) and train ---- */
    tc_wavenet_opts wo = {.blocks = (int)blocks, .layers = (int)layers, .residual_channels = (int)channels};
    tc_wavenet_encoder_opts eo = {.code_channels = (int)code_channels, .hop = (int)hop};
    tc_optimizer *opt = tc_adam(lr);
    double start_step = 0;
    bool built = resume ? net_load(&n, opt, resume, &start_step)
                        : net_build(&n, &wo, autoencoder ? &eo : NULL, (int)rate, (uint64_t)seed);
    if (!built) {
        fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
        goto done;
    }
    int64_t rf = tc_wavenet_receptive_field(n.w);
    int64_t T = rf - 1 + target; /* inputs per window: the last `target` see a whole receptive field */
    if (n.e) {
        int H = tc_wavenet_encoder_options(n.e)->hop;
        T = (T + H - 1) / H * H;
    }
    if (summary) {
        if (n.e) tc_wavenet_encoder_summary(n.e, stdout, T);
        tc_wavenet_summary(n.w, stdout, T);
        rc = 0;
        goto done;
    }
    const char *dir = out ? out : "out/wavenet";
    char paths[MAX_FILES][512];
    if (n_files == 0) {
        n_files = default_files(paths, MAX_FILES);
        for (int i = 0; i < n_files; i++) files[i] = paths[i];
        if (n_files == 0) {
            fprintf(stderr, "tensorcook wavenet: no --train files and none in %s (install alsa-utils)\n", ALSA_SOUNDS);
            goto done;
        }
    }
    sounds s;
    if (!load_sounds(&s, n_files, files, n.rate, T + 1)) goto done;
    if (!prepare_out_dir("wavenet", dir)) { /* after the data loaded: bad input leaves no folder behind */
        sounds_free(&s);
        goto done;
    }
    double entropy = marginal_entropy(&s);
    printf("wavenet: %d files, %lld samples (%.1f s at %d Hz); receptive field %lld samples (%.1f ms); "
           "windows of %lld inputs, %lld targets; %lld parameters%s\n",
           s.n_files, (long long)s.total, (double)s.total / n.rate, n.rate, (long long)rf, 1000.0 * rf / n.rate,
           (long long)T, (long long)target,
           (long long)(tc_wavenet_count_params(n.w) + (n.e ? tc_wavenet_encoder_count_params(n.e) : 0)),
           n.e ? " (autoencoder)" : "");
    printf("entropy of the mu-law marginal: %.4f nats per sample\n", entropy);
    fflush(stdout);
    tc_tensor *ids = tc_tensor_new(TC_SHAPE(batch, T + 1));
    batch_ctx ctx = {&n, ids, target};
    tc_rng r = tc_rng_new((uint64_t)seed * 7919 + (uint64_t)start_step);
    char ck_path[4200], wav_path[4200];
    snprintf(ck_path, sizeof ck_path, "%s/wavenet.tcck", dir);
    double t0 = wall_seconds(), avg = NAN, last = NAN, tail_sum = 0;
    int64_t every = steps / 20 > 0 ? steps / 20 : 1, tail = steps / 10 > 0 ? steps / 10 : 1, tail_n = 0;
    for (int64_t k = 0; k < steps; k++) {
        fill_batch(ids, &s, &r);
        double loss = 0;
        if (tc_train_step(opt, n.n_params, n.params, batch_loss, &ctx, &loss) != TC_OK) {
            fprintf(stderr, "tensorcook wavenet: step %lld: %s\n", (long long)(start_step + k + 1), tc_last_error());
            tc_tensor_free(ids);
            sounds_free(&s);
            goto done;
        }
        last = loss;
        avg = isnan(avg) ? loss : 0.95 * avg + 0.05 * loss;
        if (k >= steps - tail) tail_sum += loss, tail_n++; /* train_loss: the mean of the last tenth of the steps */
        if ((k + 1) % every == 0 || k + 1 == steps) {
            double el = wall_seconds() - t0;
            fprintf(stderr, "step %lld/%lld  loss %.4f nats/sample (running %.4f; marginal entropy %.4f)  %.2f s/step  %.0f s left\n",
                    (long long)(start_step + k + 1), (long long)(start_step + steps), loss, avg, entropy, el / (k + 1),
                    el / (k + 1) * (steps - k - 1));
        }
        if (((k + 1) % (every * 5) == 0 || k + 1 == steps) && !net_save(&n, opt, ck_path, start_step + k + 1)) {
            fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
            tc_tensor_free(ids);
            sounds_free(&s);
            goto done;
        }
    }
    double train_seconds = wall_seconds() - t0;
    tc_tensor_free(ids);
    double eval = eval_loss(&n, &s, T, target, 16, 12345);
    if (steps == 0 && !net_save(&n, opt, ck_path, start_step)) {
        fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
        sounds_free(&s);
        goto done;
    }
    /* generation: from silence, or (autoencoder) resynthesis of the first training file's code */
    int64_t count = 0;
    double sps;
    tc_tensor *code = NULL;
    snprintf(wav_path, sizeof wav_path, "%s/generated.wav", dir);
    char plot_prefix[4200];
    snprintf(plot_prefix, sizeof plot_prefix, "%s/generated", dir);
    if (n.e) {
        code = encode_sound(&n, files[0]);
        int H = tc_wavenet_encoder_options(n.e)->hop;
        int64_t frames = code ? (int64_t)fmin((double)code->shape[0], ceil(seconds * n.rate / H)) : 0;
        sps = code ? generate_to(&n, 0, temperature, code, frames * H, (uint64_t)seed, wav_path, &count, plot_prefix, NULL) : -1;
    } else {
        sps = generate_to(&n, seconds, temperature, NULL, 0, (uint64_t)seed, wav_path, &count, plot_prefix, loudest_window(&s, rf));
    }
    tc_tensor_free(code);
    sounds_free(&s);
    if (sps < 0) {
        fprintf(stderr, "tensorcook wavenet: %s\n", tc_last_error());
        goto done;
    }
    double train_loss = tail_n ? tail_sum / (double)tail_n : NAN;
    printf("trained %lld steps in %.1f s: loss %.4f nats/sample (mean of the last %lld steps; last step %.4f) vs marginal "
           "entropy %.4f\n",
           (long long)steps, train_seconds, train_loss, (long long)tail_n, last, entropy);
    printf("evaluation loss over 16 fixed windows: %.4f nats/sample\n", eval);
    printf("generated %lld samples (%.2f s) at %.0f samples/s -> %s; checkpoint %s\n", (long long)count,
           (double)count / n.rate, sps, wav_path, ck_path);
    rc = 0;
    if (summary_json) {
        const char *k[] = {"train_loss", "eval_loss", "marginal_entropy", "samples_per_second", "train_seconds", "steps"};
        double v[] = {train_loss, eval, entropy, sps, train_seconds, (double)(start_step + steps)};
        rc = write_summary_json("wavenet", summary_json, 6, k, v) ? 0 : 1;
    }
done:
    net_free(&n);
    tc_optimizer_free(opt);
    return rc;
}
