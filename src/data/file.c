/* Whole-file reads for the text loaders (chars.c, series.c). */
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

tc_status tc_data_read_file(const char *path, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (!path) return tc_error(TC_ERR_ARG, "read_file: NULL path");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return tc_error(TC_ERR_IO, "%s: cannot read: is a folder", path);
    FILE *f = fopen(path, "rb");
    if (!f) return tc_error(TC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    /* grown as it is read: sizes from ftell lie for pipes and /proc files */
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used + 1 >= cap) {
            size_t want = cap ? cap * 2 : 1 << 16;
            unsigned char *g = realloc(buf, want);
            if (!g) {
                free(buf);
                fclose(f);
                return tc_error(TC_ERR_MEMORY, "%s: out of memory reading it", path);
            }
            buf = g, cap = want;
        }
        size_t got = fread(buf + used, 1, cap - used - 1, f);
        used += got;
        if (!got) break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return tc_error(TC_ERR_IO, "%s: cannot read: read error", path);
    }
    buf[used] = '\0';
    *data = buf;
    *size = used;
    return TC_OK;
}
