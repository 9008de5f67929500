/* Audio: read any file libsndfile reads (WAV, FLAC, Ogg/Vorbis, AIFF...) to
 * mono float samples, resample with libsamplerate, write 16-bit PCM WAV
 * atomically, and mu-law companding to 256 classes (WaveNet's input and
 * output alphabet). Every error names the file and the problem in one line. */
#ifndef TENSORCOOK_AUDIO_H
#define TENSORCOOK_AUDIO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TC_AUDIO_DEFAULT_RATE 16000

/* Samples of a sound as a long-lived tensor [n] in [-1, 1] (caller frees),
 * channels averaged to mono. target_rate > 0 resamples to that rate
 * (libsamplerate's best sinc converter); 0 keeps the file's rate. *file_rate
 * (may be NULL) receives the file's own rate. An empty, truncated or
 * non-audio file is an error. */
tc_tensor *tc_audio_load(const char *path, int target_rate, int *file_rate);
/* The same from bytes in memory; name is used in messages only. */
tc_tensor *tc_audio_decode(const void *data, size_t size, const char *name, int target_rate, int *file_rate);

/* x (any shape, read as a flat sequence) clipped to [-1, 1] and written as
 * mono 16-bit PCM WAV at rate, atomically (temporary file + rename). */
tc_status tc_audio_save_wav16(const char *path, const tc_tensor *x, int rate);

/* Resample n samples from rate `from` to rate `to` (long-lived result). */
tc_tensor *tc_audio_resample(const tc_tensor *x, int from, int to);

/* mu-law with 256 levels: y = sign(x) ln(1 + 255|x|) / ln(256) in [-1, 1],
 * class = round((y + 1) / 2 * 255) in [0, 255]. The inverse maps a class
 * to the centre of its level: y = 2 c / 255 - 1, x = sign(y) (256^|y| - 1) / 255. */
int tc_mulaw_encode_sample(float x);
float tc_mulaw_decode_sample(int c);
/* Element-wise on tensors (long-lived results of x's shape; classes as whole-number values). */
tc_tensor *tc_mulaw_encode(const tc_tensor *x);
tc_tensor *tc_mulaw_decode(const tc_tensor *classes);

#ifdef __cplusplus
}
#endif
#endif
