/* Video: decode any file libavformat/libavcodec read (MP4, MKV, AVI, WebM...
 * with H.264, MPEG-4, VP9, FFV1...) to RGB frames at a chosen size and frame
 * rate (libswscale, bilinear), and folders of numbered frame images. A video
 * is a long-lived float tensor [T, H, W, 3] of RGB values 0..255, like the
 * images of image.h. Every error names the file and the problem in one line;
 * libav's own log is silenced (the library never prints). */
#ifndef TENSORCOOK_VIDEO_H
#define TENSORCOOK_VIDEO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TC_VIDEO_CLIP_FRAMES 16     /* C3D's clip length */
#define TC_VIDEO_MAX_BYTES ((size_t)1 << 30)
/* The largest single block libav may allocate while tensorcook decodes
 * (av_max_alloc, which is libav-wide: set on every decode). Libav's own
 * default is INT_MAX, which a 3 KB damaged MP4 claiming a huge sample table
 * asks for; an 8K frame's planes need far less. */
#define TC_VIDEO_MAX_ALLOC ((size_t)256 << 20)

typedef struct {
    int height, width;     /* output size; 0: the video's own */
    double fps;            /* output rate: frame k is the last one shown at time k/fps; 0: every frame */
    int max_frames;        /* stop after this many output frames; 0: all */
    int min_frames;        /* fewer decodable frames than this is an error (e.g. a clip's 16) */
} tc_video_opts;

/* Frames of the first video stream of a file. */
tc_tensor *tc_video_load(const char *path, const tc_video_opts *o);
/* The same from bytes in memory; name is used in messages only. */
tc_tensor *tc_video_decode(const void *data, size_t size, const char *name, const tc_video_opts *o);
/* A folder of numbered frames (any image.h format, sorted by the number in
 * their names: img_1.jpg < img_2.jpg < img_10.jpg), resized to o's size;
 * o->fps is ignored (every frame is taken), max/min_frames apply. */
tc_tensor *tc_video_load_frames(const char *dir, const tc_video_opts *o);

/* n_clips clips of `length` consecutive frames, spread evenly over the video
 * (first at 0, last ending at T), as a long-lived [n_clips, length, H, W, 3].
 * Fewer than length frames is an error naming `name`. */
tc_tensor *tc_video_clips(const tc_tensor *video, int length, int n_clips, const char *name);

/* Encodes video [T, H, W, 3] (0..255, rounded and clipped) at fps into the
 * container named by path's extension (.mp4, .mkv, .avi...) with the libav
 * encoder `codec` ("mpeg4", "libx264", "ffv1", "png"...; NULL: mpeg4),
 * written atomically. Lossless codecs (png, ffv1) give back the same pixels. */
tc_status tc_video_save(const char *path, const tc_tensor *video, int fps, const char *codec);

#ifdef __cplusplus
}
#endif
#endif
