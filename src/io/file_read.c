/* The one whole-file reader: every loader that parses a file from memory
 * (ONNX models and tensors, checkpoints, text corpora) reads it here, so a
 * missing, unreadable or oversized file gives the same one-line error
 * naming the file. */
#include "tensorcook/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_status tc_read_whole_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size)
{
    if (!data || !size) return tc_error(TC_ERR_ARG, "read_whole_file: NULL output pointer");
    *data = NULL;
    *size = 0;
    if (!path) return tc_error(TC_ERR_ARG, "read_whole_file: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* grow by doubling rather than trusting a size from fseek: pipes and
     * files that change while being read work the same way */
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t next = cap ? cap * 2 : (size_t)1 << 16;
            if (max_bytes && next > max_bytes + 1) next = max_bytes + 1;
            if (next <= cap) { /* n == max_bytes + 1: over the limit */
                free(buf);
                fclose(f);
                return tc_error(TC_ERR_FORMAT, "%s: larger than the limit of %zu bytes", path, max_bytes);
            }
            unsigned char *g = realloc(buf, next);
            if (!g) {
                free(buf);
                fclose(f);
                return tc_error(TC_ERR_MEMORY, "%s: out of memory reading the file", path);
            }
            buf = g;
            cap = next;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (err) {
        free(buf);
        return tc_error(TC_ERR_IO, "%s: read error", path);
    }
    if (max_bytes && n > max_bytes) {
        free(buf);
        return tc_error(TC_ERR_FORMAT, "%s: larger than the limit of %zu bytes", path, max_bytes);
    }
    *data = buf;
    *size = n;
    return TC_OK;
}
