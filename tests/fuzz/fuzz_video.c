/* libFuzzer target: the video reader (libavformat/libavcodec on memory, then
 * swscale) must reject any byte string cleanly. Inputs are capped at 64 KiB
 * and the output at a few small frames so libav's decoders stay fast.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    tc_tensor *x = tc_video_decode(data, size, "fuzz.mp4", &(tc_video_opts){.height = 16, .width = 16, .max_frames = 8});
    tc_tensor_free(x);
    return 0;
}
