/* libFuzzer target: the JPEG reader (tc_image_decode, which picks the
 * decoder by signature) must reject any byte string cleanly; accepted
 * images are also resized both ways. Build and run: tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_tensor *img = tc_image_decode(data, size, "/nonexistent/fuzz.jpeg");
    if (img) {
        tc_tensor *a = tc_image_resize(img, 7, 5, TC_INTERP_BILINEAR);
        tc_tensor *b = tc_image_resize(img, 3, 11, TC_INTERP_NEAREST);
        tc_tensor_free(a);
        tc_tensor_free(b);
        tc_tensor_free(img);
    }
    return 0;
}
