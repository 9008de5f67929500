/* Whole files: the one home for reading a file into memory and for writing
 * one atomically. Every writer of the library (checkpoints, plots, logs,
 * model exports) goes through tc_atomic_*, so every output file has one
 * guarantee: it is either the complete new file or whatever was there
 * before, never a partial one, even when the process is killed. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

tc_status tc_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size)
{
    if (!path || !data || !size) return tc_error(TC_ERR_ARG, "read_file: NULL argument");
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return tc_error(TC_ERR_IO, "%s: is a folder, not a file", path);
    }
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? cap * 2 : (size_t)1 << 16;
            unsigned char *g = realloc(buf, cap + 1); /* +1: room for a terminating NUL */
            if (!g) {
                free(buf);
                fclose(f);
                return tc_error(TC_ERR_MEMORY, "%s: out of memory reading the file", path);
            }
            buf = g;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (max_bytes && used > max_bytes) {
            free(buf);
            fclose(f);
            return tc_error(TC_ERR_IO, "%s: larger than the limit of %zu bytes", path, max_bytes);
        }
        if (!got) break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return tc_error(TC_ERR_IO, "%s: read error", path);
    }
    buf[used] = 0;
    *data = buf;
    *size = used;
    return TC_OK;
}

struct tc_atomic_file {
    char *path, *tmp;
    FILE *f;
};

tc_atomic_file *tc_atomic_begin(const char *path)
{
    if (!path || !path[0]) {
        tc_error(TC_ERR_ARG, "write: empty path");
        return NULL;
    }
    /* unique per process and per call, so concurrent writers never share a temporary file */
    static unsigned serial;
    unsigned k = __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED);
    tc_atomic_file *a = calloc(1, sizeof *a);
    size_t n = strlen(path) + 48;
    if (a) a->tmp = malloc(n), a->path = strdup(path);
    if (!a || !a->tmp || !a->path) {
        if (a) free(a->tmp), free(a->path), free(a);
        tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        return NULL;
    }
    snprintf(a->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), k);
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        tc_error(TC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        free(a->tmp), free(a->path), free(a);
        return NULL;
    }
    return a;
}

FILE *tc_atomic_stream(tc_atomic_file *a) { return a ? a->f : NULL; }

static void release(tc_atomic_file *a)
{
    free(a->tmp);
    free(a->path);
    free(a);
}

void tc_atomic_abort(tc_atomic_file *a)
{
    if (!a) return;
    if (a->f) fclose(a->f);
    remove(a->tmp);
    release(a);
}

/* Makes the rename durable; not every file system supports it, so failure is ignored. */
static void sync_folder(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

tc_status tc_atomic_commit(tc_atomic_file *a)
{
    if (!a) return tc_error(TC_ERR_ARG, "write: no file to commit");
    bool ok = !ferror(a->f) && fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    int err = ok ? 0 : errno;
    if (fclose(a->f) != 0 && ok) ok = false, err = errno;
    a->f = NULL;
    if (ok && rename(a->tmp, a->path) != 0) ok = false, err = errno;
    if (!ok) {
        tc_status s = tc_error(TC_ERR_IO, "%s: write failed: %s", a->path, strerror(err ? err : EIO));
        remove(a->tmp); /* never leave a partial file behind */
        release(a);
        return s;
    }
    sync_folder(a->path);
    release(a);
    return TC_OK;
}

tc_status tc_write_file_atomic(const char *path, const void *data, size_t size)
{
    if (!path || (!data && size)) return tc_error(TC_ERR_ARG, "write_file: NULL argument");
    tc_atomic_file *a = tc_atomic_begin(path);
    if (!a) return tc_last_status();
    if (fwrite(data, 1, size, a->f) != size) {
        int err = errno;
        tc_atomic_abort(a);
        return tc_error(TC_ERR_IO, "%s: cannot write: %s", path, strerror(err ? err : EIO));
    }
    return tc_atomic_commit(a);
}
