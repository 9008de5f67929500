/* libFuzzer target: the .npy reader must reject any byte string cleanly.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_tensor *t = tc_npy_parse(data, size, "fuzz.npy");
    tc_tensor_free(t);
    return 0;
}
