/* libFuzzer target: the audio reader (libsndfile on memory, then mixing and
 * resampling) must reject any byte string cleanly.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 8 kHz: resampling runs on every accepted file, cheap for most rates */
    tc_tensor *x = tc_audio_decode(data, size, "fuzz.wav", 8000, NULL);
    tc_tensor_free(x);
    return 0;
}
