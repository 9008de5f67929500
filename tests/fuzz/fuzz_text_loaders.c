/* libFuzzer target: the text loaders of src/data (CSV and bitcoin-price JSON
 * series, UTF-8 text with its vocabulary and sequences) must reject any byte
 * string cleanly or return data that holds together. The loaders read
 * files, so each input is written to a temporary file first.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tensorcook/tensorcook.h"

static void check_series(tc_series *s)
{
    if (!s) return;
    if (s->steps < 1 || s->series < 1 || s->series > TC_SERIES_MAX) abort();
    for (int64_t i = 0; i < s->steps * s->series; i++)
        if (!isfinite(s->v[i])) abort();
    tc_tensor *x, *y;
    if (tc_series_windows(s, 3, 2, 2.5, &x, &y) == TC_OK) tc_tensor_free(x), tc_tensor_free(y);
    tc_series_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_text_%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    check_series(tc_load_series_csv(path));
    check_series(tc_load_series_bpi_json(path));
    uint32_t *cp;
    size_t n;
    if (tc_load_utf8_text(path, &cp, &n) == TC_OK) {
        tc_char_vocab *v = tc_char_vocab_of_text(cp, n);
        tc_dataset *tr, *va;
        if (v && tc_char_sequences(cp, n, v, 4, 2, 0.2, &tr, &va) == TC_OK) tc_dataset_free(tr), tc_dataset_free(va);
        for (size_t i = 0; v && i < n; i++)
            if (tc_char_vocab_id(v, cp[i]) < 0) abort();
        tc_char_vocab_free(v);
        free(cp);
    }
    remove(path);
    tc_step_reset();
    return 0;
}
