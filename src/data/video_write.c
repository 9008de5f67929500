/* Writing videos through libav: the recipe's generated default data and the
 * test fixtures are real encoded files, so reading them takes the path
 * users' files take. Encoded into memory (a dynamic AVIO buffer), then
 * written atomically. */
#include "tensorcook/video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    unsigned char *rgb;
} vwriter;

static int write_packets(vwriter *w, const char *path)
{
    for (;;) {
        int e = avcodec_receive_packet(w->enc, w->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return TC_OK;
        if (e < 0) return tc_error(TC_ERR_FORMAT, "video %s: encoder failed", path);
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        e = av_interleaved_write_frame(w->fmt, w->pkt);
        if (e < 0) return tc_error(TC_ERR_IO, "video %s: cannot write a packet", path);
    }
}

static tc_status encode(vwriter *w, const char *path, const tc_tensor *v, int fps, const char *codec_name)
{
    int64_t T = v->shape[0], H = v->shape[1], W = v->shape[2];
    if (avformat_alloc_output_context2(&w->fmt, NULL, NULL, path) < 0 || !w->fmt)
        return tc_error(TC_ERR_ARG, "video %s: no container for this file name", path);
    const AVCodec *codec = avcodec_find_encoder_by_name(codec_name);
    if (!codec) return tc_error(TC_ERR_UNSUPPORTED, "video %s: no %s encoder in this libavcodec", path, codec_name);
    w->st = avformat_new_stream(w->fmt, NULL);
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->st || !w->enc || !w->frame || !w->pkt) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", path);
    enum AVPixelFormat pix = AV_PIX_FMT_YUV420P;
    if (codec->pix_fmts) {
        pix = codec->pix_fmts[0];
        for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
            if (*p == AV_PIX_FMT_RGB24 || *p == AV_PIX_FMT_GBRP) pix = *p; /* lossless colour where offered */
        for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
            if (*p == AV_PIX_FMT_RGB24) pix = *p;
    }
    w->enc->width = (int)W;
    w->enc->height = (int)H;
    w->enc->pix_fmt = pix;
    w->enc->time_base = (AVRational){1, fps};
    w->enc->framerate = (AVRational){fps, 1};
    w->enc->gop_size = 12;
    w->enc->bit_rate = 8 * W * H * fps / 4 > 400000 ? 8 * W * H * fps / 4 : 400000;
    w->enc->thread_count = 1; /* the same bytes on every run */
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(w->enc, codec, NULL) < 0) return tc_error(TC_ERR_FORMAT, "video %s: cannot open the %s encoder", path, codec_name);
    if (avcodec_parameters_from_context(w->st->codecpar, w->enc) < 0) return tc_error(TC_ERR_FORMAT, "video %s: bad encoder parameters", path);
    w->st->time_base = w->enc->time_base;
    if (avio_open_dyn_buf(&w->fmt->pb) < 0) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", path);
    AVDictionary *mux = NULL;
    av_dict_set(&mux, "movflags", "frag_keyframe+empty_moov", 0); /* MP4 on an unseekable buffer */
    int e = avformat_write_header(w->fmt, &mux);
    av_dict_free(&mux);
    if (e < 0) return tc_error(TC_ERR_FORMAT, "video %s: cannot write the container header", path);
    w->frame->format = pix;
    w->frame->width = (int)W;
    w->frame->height = (int)H;
    if (av_frame_get_buffer(w->frame, 0) < 0) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", path);
    w->sws = sws_getContext((int)W, (int)H, AV_PIX_FMT_RGB24, (int)W, (int)H, pix, SWS_BILINEAR, NULL, NULL, NULL);
    w->rgb = malloc((size_t)(W * H * 3));
    if (!w->sws || !w->rgb) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", path);
    for (int64_t t = 0; t < T; t++) {
        const tc_scalar *src = v->data + t * H * W * 3;
        for (int64_t i = 0; i < H * W * 3; i++) {
            double x = nearbyint((double)src[i]);
            w->rgb[i] = (unsigned char)(x < 0 ? 0 : x > 255 ? 255 : x);
        }
        if (av_frame_make_writable(w->frame) < 0) return tc_error(TC_ERR_MEMORY, "video %s: out of memory", path);
        const uint8_t *in[4] = {w->rgb, NULL, NULL, NULL};
        int in_stride[4] = {(int)W * 3, 0, 0, 0};
        sws_scale(w->sws, in, in_stride, 0, (int)H, w->frame->data, w->frame->linesize);
        w->frame->pts = t;
        if (avcodec_send_frame(w->enc, w->frame) < 0) return tc_error(TC_ERR_FORMAT, "video %s: encoder refused a frame", path);
        tc_status s = write_packets(w, path);
        if (s) return s;
    }
    avcodec_send_frame(w->enc, NULL);
    tc_status s = write_packets(w, path);
    if (s) return s;
    if (av_write_trailer(w->fmt) < 0) return tc_error(TC_ERR_IO, "video %s: cannot write the container trailer", path);
    return TC_OK;
}

tc_status tc_video_save(const char *path, const tc_tensor *video, int fps, const char *codec)
{
    if (!path || !video || video->ndim != 4 || video->shape[3] != 3 || video->shape[0] < 1 || fps <= 0)
        return tc_error(TC_ERR_ARG, "video %s: saving needs a [T, H, W, 3] video and fps > 0", path ? path : "(null)");
    if (video->shape[1] % 2 || video->shape[2] % 2)
        return tc_error(TC_ERR_ARG, "video %s: width and height must be even (chroma subsampling)", path);
    av_log_set_level(AV_LOG_QUIET);
    vwriter w = {0};
    tc_status s = encode(&w, path, video, fps, codec ? codec : "mpeg4");
    uint8_t *bytes = NULL;
    int n = 0;
    if (w.fmt && w.fmt->pb) n = avio_close_dyn_buf(w.fmt->pb, &bytes), w.fmt->pb = NULL;
    if (s == TC_OK) s = tc_write_file_atomic(path, bytes, (size_t)n);
    av_free(bytes);
    free(w.rgb);
    sws_freeContext(w.sws);
    av_packet_free(&w.pkt);
    av_frame_free(&w.frame);
    avcodec_free_context(&w.enc);
    avformat_free_context(w.fmt);
    return s;
}
