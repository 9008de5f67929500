/* libFuzzer target: the MatConvNet .mat reader (libmatio underneath) must
 * reject any byte string with an error, never crash. libmatio reads from a
 * path, so each input goes through a temporary file.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tc_model *m;
    static char path[64];
    if (!m) {
        m = tc_zoo_model(TC_ZOO_VGG19, &(tc_zoo_opts){.include_top = false, .height = 32, .width = 32, .width_div = 8});
        snprintf(path, sizeof path, "/tmp/fuzz-matconvnet-%d.mat", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    double mean[3];
    (void)tc_load_matconvnet_weights(m, path);
    (void)tc_matconvnet_mean(path, mean);
    unlink(path);
    return 0;
}
