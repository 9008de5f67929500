/* Video files through libavformat (containers), libavcodec (decoders) and
 * libswscale (pixel format and size). The file's bytes are read once and
 * handed to libav through a memory AVIOContext, so files and fuzz inputs
 * take the same path. */
#include "tensorcook/video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size, pos;
} membuf;

static int mem_read(void *opaque, uint8_t *buf, int n)
{
    membuf *m = opaque;
    size_t left = m->size - m->pos;
    if (left == 0) return AVERROR_EOF;
    if ((size_t)n > left) n = (int)left;
    memcpy(buf, m->data + m->pos, (size_t)n);
    m->pos += (size_t)n;
    return n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
    membuf *m = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return (int64_t)m->size;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)m->pos; break;
    case SEEK_END: base = (int64_t)m->size; break;
    default: return -1;
    }
    if (off > (int64_t)m->size - base || base + off < 0) return -1;
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

/* Growing list of output frames, RGB bytes of h x w x 3 each. */
typedef struct {
    unsigned char *rgb;
    int64_t n, cap, frame_bytes;
} framelist;

static int frames_push(framelist *f, const unsigned char *rgb)
{
    if (f->n == f->cap) {
        int64_t cap = f->cap ? f->cap * 2 : 32;
        unsigned char *p = realloc(f->rgb, (size_t)(cap * f->frame_bytes));
        if (!p) return -1;
        f->rgb = p;
        f->cap = cap;
    }
    memcpy(f->rgb + f->n * f->frame_bytes, rgb, (size_t)f->frame_bytes);
    f->n++;
    return 0;
}

typedef struct {
    const char *name;
    tc_video_opts o;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    struct SwsContext *sws;
    AVFrame *frame;
    AVPacket *pkt;
    int stream, out_h, out_w;
    double time_base;
    unsigned char *rgb;       /* one converted frame */
    unsigned char *last;      /* the last converted frame (for rate conversion) */
    int have_last;
    double last_t;
    int64_t next_k;           /* next output frame index at o.fps */
    framelist out;
    int decoded;              /* frames the decoder returned */
    int full;                 /* max_frames reached */
} vreader;

static const char *averr(int e, char *buf, size_t n)
{
    av_strerror(e, buf, n);
    return buf;
}

/* Converts the decoder's frame to RGB at the output size into r->rgb. */
static int convert(vreader *r)
{
    AVFrame *fr = r->frame;
    if (fr->width <= 0 || fr->height <= 0) return tc_error(TC_ERR_FORMAT, "video %s: frame without a size", r->name);
    r->sws = sws_getCachedContext(r->sws, fr->width, fr->height, (enum AVPixelFormat)fr->format, r->out_w, r->out_h,
                                  AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!r->sws) return tc_error(TC_ERR_FORMAT, "video %s: cannot convert pixel format %d", r->name, fr->format);
    uint8_t *dst[4] = {r->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {r->out_w * 3, 0, 0, 0};
    if (sws_scale(r->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dst_stride) != r->out_h)
        return tc_error(TC_ERR_FORMAT, "video %s: frame conversion failed", r->name);
    return TC_OK;
}

static int emit(vreader *r, const unsigned char *rgb)
{
    if (r->full) return TC_OK;
    if (frames_push(&r->out, rgb)) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", r->name);
    if (r->o.max_frames > 0 && r->out.n >= r->o.max_frames) r->full = 1;
    return TC_OK;
}

/* One decoded frame: every frame (fps 0), or each output time k/fps that
 * passed before this frame's time gets the previous frame (the one on
 * screen then), as ffmpeg's fps filter with rounding down. */
static int take_frame(vreader *r)
{
    int64_t ts = r->frame->best_effort_timestamp;
    double t = ts == AV_NOPTS_VALUE ? (r->have_last ? r->last_t + 1e-9 : 0.0) : (double)ts * r->time_base;
    r->decoded++;
    if (r->o.fps <= 0) {
        int s = convert(r);
        return s ? s : emit(r, r->rgb);
    }
    if (!r->have_last) {
        /* the first frame stands for every time up to it */
        int s = convert(r);
        if (s) return s;
        memcpy(r->last, r->rgb, (size_t)r->out.frame_bytes);
        r->have_last = 1;
        r->last_t = t;
        r->next_k = (int64_t)ceil(t * r->o.fps - 1e-9);
        if (r->next_k < 0) r->next_k = 0;
        return TC_OK;
    }
    while (!r->full && (double)r->next_k / r->o.fps < t - 1e-9) {
        int s = emit(r, r->last);
        if (s) return s;
        r->next_k++;
    }
    int s = convert(r);
    if (s) return s;
    memcpy(r->last, r->rgb, (size_t)r->out.frame_bytes);
    r->last_t = t;
    return TC_OK;
}

static int drain(vreader *r)
{
    for (;;) {
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return TC_OK;
        if (e < 0) {
            char b[128];
            return tc_error(TC_ERR_FORMAT, "video %s: cannot decode a frame (%s)", r->name, averr(e, b, sizeof b));
        }
        int s = take_frame(r);
        av_frame_unref(r->frame);
        if (s) return s;
        if (r->full) return TC_OK;
    }
}

static int open_stream(vreader *r, AVIOContext *io)
{
    char b[128];
    r->fmt = avformat_alloc_context();
    if (!r->fmt) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", r->name);
    r->fmt->pb = io;
    r->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    int e = avformat_open_input(&r->fmt, r->name, NULL, NULL);
    if (e < 0) return tc_error(TC_ERR_FORMAT, "video %s: not a readable video file (%s)", r->name, averr(e, b, sizeof b));
    if ((e = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return tc_error(TC_ERR_FORMAT, "video %s: no stream information (%s)", r->name, averr(e, b, sizeof b));
    const AVCodec *codec = NULL;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r->stream < 0 || !codec) return tc_error(TC_ERR_FORMAT, "video %s: no decodable video stream", r->name);
    AVStream *st = r->fmt->streams[r->stream];
    r->time_base = av_q2d(st->time_base);
    if (!(r->time_base > 0)) r->time_base = 1.0 / 25;
    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", r->name);
    if (avcodec_parameters_to_context(r->dec, st->codecpar) < 0 || (e = avcodec_open2(r->dec, codec, NULL)) < 0)
        return tc_error(TC_ERR_FORMAT, "video %s: cannot open the %s decoder", r->name, codec->name);
    int w = st->codecpar->width, h = st->codecpar->height;
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return tc_error(TC_ERR_FORMAT, "video %s: bad frame size %dx%d", r->name, w, h);
    r->out_w = r->o.width > 0 ? r->o.width : w;
    r->out_h = r->o.height > 0 ? r->o.height : h;
    r->out.frame_bytes = (int64_t)r->out_w * r->out_h * 3;
    r->rgb = malloc((size_t)r->out.frame_bytes);
    r->last = malloc((size_t)r->out.frame_bytes);
    r->frame = av_frame_alloc();
    r->pkt = av_packet_alloc();
    if (!r->rgb || !r->last || !r->frame || !r->pkt) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", r->name);
    return TC_OK;
}

static int decode_all(vreader *r)
{
    int e;
    while (!r->full && (e = av_read_frame(r->fmt, r->pkt)) >= 0) {
        int s = TC_OK;
        if (r->pkt->stream_index == r->stream) {
            e = avcodec_send_packet(r->dec, r->pkt);
            /* a damaged packet is skipped, as players do; a file of nothing
             * but damaged packets ends with too few frames below */
            if (e >= 0 || e == AVERROR(EAGAIN)) s = drain(r);
            else if (e == AVERROR(ENOMEM)) s = tc_error(TC_ERR_MEMORY, "video %s: out of memory", r->name);
        }
        av_packet_unref(r->pkt);
        if (s) return s;
    }
    if (!r->full) {
        avcodec_send_packet(r->dec, NULL);
        int s = drain(r);
        if (s) return s;
    }
    /* the last frame is on screen until the next output time after it */
    if (r->o.fps > 0 && r->have_last && !r->full && (double)r->next_k / r->o.fps <= r->last_t + 1e-9) {
        while (!r->full && (double)r->next_k / r->o.fps <= r->last_t + 1e-9) {
            int s = emit(r, r->last);
            if (s) return s;
            r->next_k++;
        }
    }
    return TC_OK;
}

static tc_tensor *to_tensor(const framelist *f, int h, int w, const char *name, const tc_video_opts *o)
{
    if (f->n == 0) {
        tc_error(TC_ERR_FORMAT, "video %s: no frames could be decoded", name);
        return NULL;
    }
    if (o->min_frames > 0 && f->n < o->min_frames) {
        tc_error(TC_ERR_FORMAT, "video %s: %lld frames, fewer than the %d of a clip", name, (long long)f->n, o->min_frames);
        return NULL;
    }
    tc_tensor *t = tc_tensor_new(4, (int64_t[]){f->n, h, w, 3});
    if (!t) return NULL;
    int64_t n = f->n * f->frame_bytes;
    for (int64_t i = 0; i < n; i++) t->data[i] = (tc_scalar)f->rgb[i];
    return t;
}

tc_tensor *tc_video_decode(const void *data, size_t size, const char *name, const tc_video_opts *opts)
{
    tc_video_opts none = {0};
    const tc_video_opts *o = opts ? opts : &none;
    if (!name) name = "(memory)";
    if (!data || size == 0) {
        tc_error(TC_ERR_FORMAT, "video %s: empty file", name);
        return NULL;
    }
    if (o->height < 0 || o->width < 0 || o->height > 16384 || o->width > 16384 || o->fps < 0 || o->max_frames < 0) {
        tc_error(TC_ERR_ARG, "video %s: bad options (size %dx%d, fps %g)", name, o->width, o->height, o->fps);
        return NULL;
    }
    av_log_set_level(AV_LOG_QUIET);
    av_max_alloc(TC_VIDEO_MAX_ALLOC);
    membuf m = {data, size, 0};
    enum { IOBUF = 1 << 15 };
    unsigned char *iobuf = av_malloc(IOBUF);
    AVIOContext *io = iobuf ? avio_alloc_context(iobuf, IOBUF, 0, &m, mem_read, NULL, mem_seek) : NULL;
    vreader r = {.name = name, .o = *o};
    tc_tensor *out = NULL;
    if (!io) {
        av_free(iobuf);
        tc_error(TC_ERR_MEMORY, "video %s: out of memory", name);
        return NULL;
    }
    if (open_stream(&r, io) == TC_OK && decode_all(&r) == TC_OK) out = to_tensor(&r.out, r.out_h, r.out_w, name, o);
    sws_freeContext(r.sws);
    av_packet_free(&r.pkt);
    av_frame_free(&r.frame);
    avcodec_free_context(&r.dec);
    avformat_close_input(&r.fmt);
    av_freep(&io->buffer);
    avio_context_free(&io);
    free(r.rgb);
    free(r.last);
    free(r.out.rgb);
    return out;
}

tc_tensor *tc_video_load(const char *path, const tc_video_opts *o)
{
    unsigned char *data = NULL;
    size_t size = 0;
    if (tc_read_file(path, TC_VIDEO_MAX_BYTES, &data, &size) != TC_OK) return NULL;
    tc_tensor *t = tc_video_decode(data, size, path, o);
    free(data);
    return t;
}

tc_tensor *tc_video_clips(const tc_tensor *video, int length, int n_clips, const char *name)
{
    if (!name) name = "(video)";
    if (!video || video->ndim != 4 || video->shape[3] != 3 || length <= 0 || n_clips <= 0) {
        tc_error(TC_ERR_ARG, "video %s: clips need a [T, H, W, 3] video, a length and a count", name);
        return NULL;
    }
    int64_t T = video->shape[0], frame = video->shape[1] * video->shape[2] * 3;
    if (T < length) {
        tc_error(TC_ERR_FORMAT, "video %s: %lld frames, fewer than the %d of a clip", name, (long long)T, length);
        return NULL;
    }
    tc_tensor *c = tc_tensor_new(5, (int64_t[]){n_clips, length, video->shape[1], video->shape[2], 3});
    if (!c) return NULL;
    for (int k = 0; k < n_clips; k++) {
        int64_t start = n_clips == 1 ? (T - length) / 2 : (int64_t)k * (T - length) / (n_clips - 1);
        memcpy(c->data + (int64_t)k * length * frame, video->data + start * frame, (size_t)(length * frame) * sizeof(tc_scalar));
    }
    return c;
}
