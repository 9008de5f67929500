/* libFuzzer target: the gettext .mo reader must reject any byte string
 * cleanly (truncated tables, offsets past the end, missing NULs, bad
 * UTF-8). Build: see tests/fuzz/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tensorcook/tensorcook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_mo_%d.mo", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    tc_parallel p = {0};
    int64_t added;
    if (tc_read_mo(path, &p, &added) == TC_OK) tc_read_mo(path, &p, &added); /* the second time: all repeats */
    tc_parallel_free(&p);
    unlink(path);
    return 0;
}
