/* libFuzzer target: the GloVe / word2vec text reader must reject any byte
 * string cleanly (or read it). Build: see tests/fuzz/README.md. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_wv_%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    tc_word_vectors wv;
    if (tc_word_vectors_read(path, 0, &wv) == TC_OK) {
        if (wv.n > 0) (void)tc_word_vectors_find(&wv, wv.word[wv.n - 1]);
        tc_word_vectors_free(&wv);
    }
    unlink(path);
    return 0;
}
