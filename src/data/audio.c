/* Audio files through libsndfile (decoding, WAV writing) and libsamplerate
 * (rate conversion). Sounds become mono float tensors in [-1, 1]. */
#include "tensorcook/audio.h"
#include "tensorcook/train.h"

#include <math.h>
#include <stdbool.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "audio_mem.h"

/* libsndfile repairs a WAV whose data chunk is longer than the file (it
 * reads what is there and notes "data : N (should be M)" in its log); a
 * truncated download must not pass as a shorter sound, so that note is an error. */
static int truncated_note(SNDFILE *f, char *what, size_t size)
{
    char log[8192];
    sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
    for (char *line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "data", 4) == 0 && strstr(line, "(should be")) {
            char *nl = strchr(line, '\n');
            size_t n = nl ? (size_t)(nl - line) : strlen(line);
            if (n >= size) n = size - 1;
            memcpy(what, line, n);
            what[n] = 0;
            return 1;
        }
    }
    return 0;
}

/* The containers tensorcook reads, recognised by their first bytes. Anything
 * else is refused before libsndfile sees it: its MPEG decoder (mpg123)
 * tries to resync on arbitrary bytes and prints notes to stderr, which a
 * library must not do; MPEG audio inside a WAV is refused for the same reason. */
static const char *unsupported_header(const unsigned char *h, size_t n)
{
    if (n < 12) return "too short for a sound file header";
    bool riff = (!memcmp(h, "RIFF", 4) || !memcmp(h, "RIFX", 4) || !memcmp(h, "RF64", 4)) && !memcmp(h + 8, "WAVE", 4);
    if (riff) {
        if (n >= 22 && !memcmp(h + 12, "fmt ", 4)) {
            unsigned tag = !memcmp(h, "RIFX", 4) ? (unsigned)h[20] << 8 | h[21] : (unsigned)h[21] << 8 | h[20];
            if (tag == 0x50 || tag == 0x55) return "MPEG audio in a WAV is not supported";
        }
        return NULL;
    }
    if (!memcmp(h, "fLaC", 4) || !memcmp(h, "OggS", 4) || !memcmp(h, ".snd", 4) || !memcmp(h, "caff", 4) ||
        !memcmp(h, "riff", 4) || (!memcmp(h, "FORM", 4) && (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4))))
        return NULL;
    return "unknown header (WAV, FLAC, Ogg, AIFF, AU, CAF and W64 are read)";
}

/* Every frame of f averaged over its channels; NULL + error on failure. */
static float *read_mono(SNDFILE *f, const SF_INFO *info, const char *name, int64_t *n_out)
{
    enum { CHUNK = 4096 };
    int ch = info->channels;
    float *frame_buf = malloc(sizeof(float) * CHUNK * (size_t)ch);
    size_t cap = CHUNK, n = 0;
    float *mono = malloc(sizeof(float) * cap);
    if (!frame_buf || !mono) {
        free(frame_buf);
        free(mono);
        tc_error(TC_ERR_MEMORY, "audio %s: out of memory", name);
        return NULL;
    }
    for (;;) {
        sf_count_t got = sf_readf_float(f, frame_buf, CHUNK);
        if (got <= 0) break;
        if (n + (size_t)got > cap) {
            while (cap < n + (size_t)got) cap *= 2;
            if (cap > ((size_t)1 << 31)) {
                free(frame_buf);
                free(mono);
                tc_error(TC_ERR_FORMAT, "audio %s: more than 2^31 samples", name);
                return NULL;
            }
            float *p = realloc(mono, sizeof(float) * cap);
            if (!p) {
                free(frame_buf);
                free(mono);
                tc_error(TC_ERR_MEMORY, "audio %s: out of memory", name);
                return NULL;
            }
            mono = p;
        }
        for (sf_count_t i = 0; i < got; i++) {
            double s = 0;
            for (int c = 0; c < ch; c++) s += frame_buf[i * ch + c];
            float v = (float)(s / ch);
            mono[n + (size_t)i] = isfinite(v) ? v : 0.0f;
        }
        n += (size_t)got;
    }
    free(frame_buf);
    if (sf_error(f) != SF_ERR_NO_ERROR) {
        tc_error(TC_ERR_FORMAT, "audio %s: %s", name, sf_strerror(f));
        free(mono);
        return NULL;
    }
    *n_out = (int64_t)n;
    return mono;
}

static tc_tensor *decode(SNDFILE *f, SF_INFO *info, const char *name, int target_rate, int *file_rate)
{
    if (!f) {
        const char *why = sf_strerror(NULL);
        tc_error(TC_ERR_FORMAT, "audio %s: not a readable sound file (%s)", name, why);
        return NULL;
    }
    char what[160];
    if (truncated_note(f, what, sizeof what)) {
        tc_error(TC_ERR_FORMAT, "audio %s: truncated (%s)", name, what);
        sf_close(f);
        return NULL;
    }
    if (info->channels < 1 || info->samplerate < 1) {
        tc_error(TC_ERR_FORMAT, "audio %s: %d channels at %d Hz", name, info->channels, info->samplerate);
        sf_close(f);
        return NULL;
    }
    int64_t n = 0;
    float *mono = read_mono(f, info, name, &n);
    int rate = info->samplerate;
    sf_close(f);
    if (!mono) return NULL;
    if (n == 0) {
        free(mono);
        tc_error(TC_ERR_FORMAT, "audio %s: no samples", name);
        return NULL;
    }
    if (file_rate) *file_rate = rate;
    tc_tensor *t = tc_tensor_new(1, (int64_t[]){n});
    if (!t) {
        free(mono);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) t->data[i] = mono[i];
    free(mono);
    if (target_rate > 0 && target_rate != rate) {
        tc_tensor *r = tc_audio_resample(t, rate, target_rate);
        tc_tensor_free(t);
        if (!r) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", tc_last_error());
            tc_error(tc_last_status(), "audio %s: %s", name, msg);
        }
        return r;
    }
    return t;
}

tc_tensor *tc_audio_load(const char *path, int target_rate, int *file_rate)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "audio: no file name");
        return NULL;
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        tc_error(TC_ERR_IO, "audio %s: cannot open", path);
        return NULL;
    }
    unsigned char head[64];
    size_t got = fread(head, 1, sizeof head, probe);
    bool unreadable = ferror(probe) != 0; /* e.g. a folder */
    fclose(probe);
    if (unreadable) {
        tc_error(TC_ERR_IO, "audio %s: cannot read", path);
        return NULL;
    }
    if (got == 0) {
        tc_error(TC_ERR_FORMAT, "audio %s: empty file", path);
        return NULL;
    }
    const char *why = unsupported_header(head, got);
    if (why) {
        tc_error(TC_ERR_FORMAT, "audio %s: not a readable sound file (%s)", path, why);
        return NULL;
    }
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    return decode(f, &info, path, target_rate, file_rate);
}

tc_tensor *tc_audio_decode(const void *data, size_t size, const char *name, int target_rate, int *file_rate)
{
    if (!name) name = "(memory)";
    if (!data || size == 0) {
        tc_error(TC_ERR_FORMAT, "audio %s: empty file", name);
        return NULL;
    }
    const char *why = unsupported_header(data, size);
    if (why) {
        tc_error(TC_ERR_FORMAT, "audio %s: not a readable sound file (%s)", name, why);
        return NULL;
    }
    tc_audio_mem m = {.data = (uint8_t *)data, .size = size};
    SF_INFO info = {0};
    SNDFILE *f = sf_open_virtual(&tc_audio_mem_io, SFM_READ, &info, &m);
    return decode(f, &info, name, target_rate, file_rate);
}

tc_tensor *tc_audio_resample(const tc_tensor *x, int from, int to)
{
    if (!x || from < 1 || to < 1) {
        tc_error(TC_ERR_ARG, "audio resample: bad arguments (rates %d -> %d)", from, to);
        return NULL;
    }
    int64_t n = tc_numel(x);
    double ratio = (double)to / from;
    int64_t n_out = (int64_t)floor(n * ratio + 0.5);
    if (n_out < 1) n_out = 1;
    float *in = malloc(sizeof(float) * (size_t)n);
    float *out = malloc(sizeof(float) * (size_t)n_out);
    tc_scalar *tmp = malloc(sizeof(tc_scalar) * (size_t)n);
    if (!in || !out || !tmp) {
        free(in);
        free(out);
        free(tmp);
        tc_error(TC_ERR_MEMORY, "audio resample: out of memory");
        return NULL;
    }
    tc_read_values(x, tmp);
    for (int64_t i = 0; i < n; i++) in[i] = (float)tmp[i];
    free(tmp);
    SRC_DATA d = {.data_in = in, .data_out = out, .input_frames = n, .output_frames = n_out, .src_ratio = ratio};
    int err = src_simple(&d, SRC_SINC_BEST_QUALITY, 1);
    free(in);
    if (err) {
        free(out);
        tc_error(TC_ERR_ARG, "audio resample %d -> %d Hz: %s", from, to, src_strerror(err));
        return NULL;
    }
    tc_tensor *t = tc_tensor_new(1, (int64_t[]){d.output_frames_gen > 0 ? d.output_frames_gen : 1});
    if (t)
        for (int64_t i = 0; i < d.output_frames_gen; i++) t->data[i] = out[i];
    free(out);
    return t;
}

tc_status tc_audio_save_wav16(const char *path, const tc_tensor *x, int rate)
{
    if (!path || !x || rate < 1) return tc_error(TC_ERR_ARG, "audio save %s: bad arguments", path ? path : "(null)");
    int64_t n = tc_numel(x);
    tc_scalar *v = malloc(sizeof(tc_scalar) * (size_t)(n ? n : 1));
    short *pcm = malloc(sizeof(short) * (size_t)(n ? n : 1));
    if (!v || !pcm) {
        free(v);
        free(pcm);
        return tc_error(TC_ERR_MEMORY, "audio save %s: out of memory", path);
    }
    tc_read_values(x, v);
    for (int64_t i = 0; i < n; i++) {
        double s = v[i] != v[i] ? 0.0 : v[i] < -1 ? -1.0 : v[i] > 1 ? 1.0 : v[i];
        pcm[i] = (short)lrint(s * 32767.0);
    }
    free(v);
    tc_audio_mem m = {0};
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open_virtual(&tc_audio_mem_io, SFM_WRITE, &info, &m);
    if (!f) {
        free(pcm);
        free(m.data);
        return tc_error(TC_ERR_IO, "audio save %s: %s", path, sf_strerror(NULL));
    }
    sf_count_t put = sf_write_short(f, pcm, n);
    free(pcm);
    sf_close(f);
    if (put != n || m.failed) {
        free(m.data);
        return tc_error(TC_ERR_MEMORY, "audio save %s: could not build the WAV in memory", path);
    }
    tc_status s = tc_write_file_atomic(path, m.data, m.size);
    free(m.data);
    return s;
}

int tc_mulaw_encode_sample(float x)
{
    if (x != x) x = 0;
    if (x > 1) x = 1;
    if (x < -1) x = -1;
    double y = copysign(log1p(255.0 * fabs(x)) / log(256.0), x);
    int c = (int)floor((y + 1.0) / 2.0 * 255.0 + 0.5);
    return c < 0 ? 0 : c > 255 ? 255 : c;
}

float tc_mulaw_decode_sample(int c)
{
    if (c < 0) c = 0;
    if (c > 255) c = 255;
    double y = 2.0 * c / 255.0 - 1.0;
    return (float)copysign((pow(256.0, fabs(y)) - 1.0) / 255.0, y);
}

tc_tensor *tc_mulaw_encode(const tc_tensor *x)
{
    if (!x) {
        tc_error(TC_ERR_ARG, "mulaw_encode: no input");
        return NULL;
    }
    tc_tensor *t = tc_tensor_new(x->ndim, x->shape);
    if (!t || tc_read_values(x, t->data) != TC_OK) {
        tc_tensor_free(t);
        return NULL;
    }
    for (int64_t i = 0, n = tc_numel(t); i < n; i++) t->data[i] = (tc_scalar)tc_mulaw_encode_sample((float)t->data[i]);
    return t;
}

tc_tensor *tc_mulaw_decode(const tc_tensor *classes)
{
    if (!classes) {
        tc_error(TC_ERR_ARG, "mulaw_decode: no input");
        return NULL;
    }
    tc_tensor *t = tc_tensor_new(classes->ndim, classes->shape);
    if (!t || tc_read_values(classes, t->data) != TC_OK) {
        tc_tensor_free(t);
        return NULL;
    }
    for (int64_t i = 0, n = tc_numel(t); i < n; i++) t->data[i] = tc_mulaw_decode_sample((int)lrint(t->data[i]));
    return t;
}
