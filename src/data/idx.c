/* MNIST's IDX files (http://yann.lecun.com/exdb/mnist/ layout): big-endian
 * magic 0x0000080D (unsigned bytes, D dimensions), D big-endian sizes, data.
 * Read through zlib, which also reads uncompressed files. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/data.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

static bool read_exact(gzFile f, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = gzread(f, (char *)p + got, (unsigned)((n - got) > (1u << 30) ? (1u << 30) : (n - got)));
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

/* Reads an IDX file of unsigned bytes with `want` dimensions. */
static uint8_t *read_idx(const char *path, int want, int64_t *dims)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    gzFile f = gzopen(path, "rb");
    if (!f) {
        tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t head[4];
    uint8_t *data = NULL;
    if (!read_exact(f, head, 4)) {
        tc_error(TC_ERR_FORMAT, "%s: truncated (no IDX header)", path);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != want) {
        tc_error(TC_ERR_FORMAT, "%s: wrong magic number %02x%02x%02x%02x (expected 000008%02x: unsigned bytes, %d dimensions)",
                 path, head[0], head[1], head[2], head[3], want, want);
        goto fail;
    }
    int64_t total = 1;
    for (int d = 0; d < want; d++) {
        uint8_t b[4];
        if (!read_exact(f, b, 4)) {
            tc_error(TC_ERR_FORMAT, "%s: truncated header", path);
            goto fail;
        }
        dims[d] = ((int64_t)b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        if (dims[d] <= 0 || dims[d] > (1 << 28) || total > ((int64_t)1 << 34) / dims[d]) {
            tc_error(TC_ERR_FORMAT, "%s: invalid dimension %lld", path, (long long)dims[d]);
            goto fail;
        }
        total *= dims[d];
    }
    data = malloc((size_t)total);
    if (!data) {
        tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    if (!read_exact(f, data, (size_t)total)) {
        tc_error(TC_ERR_FORMAT, "%s: truncated: the header promises %lld bytes of data", path, (long long)total);
        goto fail;
    }
    uint8_t extra;
    if (gzread(f, &extra, 1) > 0) { /* more data than the dimensions say: wrong sizes or two files in one */
        tc_error(TC_ERR_FORMAT, "%s: longer than its header's %lld bytes of data", path, (long long)total);
        goto fail;
    }
    gzclose(f);
    return data;
fail:
    free(data);
    gzclose(f);
    return NULL;
}

tc_dataset *tc_load_idx(const char *images_path, const char *labels_path)
{
    if (!images_path || !labels_path) {
        tc_error(TC_ERR_ARG, "load_idx: NULL path");
        return NULL;
    }
    int64_t idim[3], ldim[1];
    uint8_t *img = read_idx(images_path, 3, idim);
    if (!img) return NULL;
    uint8_t *lab = read_idx(labels_path, 1, ldim);
    if (!lab) {
        free(img);
        return NULL;
    }
    tc_dataset *d = NULL;
    if (idim[0] != ldim[0]) {
        tc_error(TC_ERR_FORMAT, "%s has %lld images but %s has %lld labels", images_path, (long long)idim[0], labels_path,
                 (long long)ldim[0]);
        goto done;
    }
    d = calloc(1, sizeof *d);
    if (!d) goto done;
    d->x = tc_tensor_new(TC_SHAPE(idim[0], idim[1], idim[2], 1));
    d->y = tc_tensor_new(TC_SHAPE(ldim[0]));
    if (!d->x || !d->y) {
        tc_dataset_free(d);
        d = NULL;
        goto done;
    }
    int64_t n = idim[0] * idim[1] * idim[2];
    for (int64_t i = 0; i < n; i++) d->x->data[i] = img[i] * (tc_scalar)(1.0 / 255.0);
    int maxl = 0;
    for (int64_t i = 0; i < ldim[0]; i++) {
        d->y->data[i] = lab[i];
        if (lab[i] > maxl) maxl = lab[i];
    }
    d->classes = maxl < 9 ? 10 : maxl + 1;
done:
    free(img);
    free(lab);
    return d;
}

tc_dataset *tc_load_mnist(const char *dir, const char *split)
{
    if (!dir || !split) {
        tc_error(TC_ERR_ARG, "load_mnist: NULL argument");
        return NULL;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tc_error(TC_ERR_IO, "%s: no such folder", dir);
        return NULL;
    }
    char img[4200], lab[4200];
    const char *exts[2] = {".gz", ""};
    for (int e = 0; e < 2; e++) {
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte%s", dir, split, exts[e]);
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte%s", dir, split, exts[e]);
        if (stat(img, &st) == 0) break;
    }
    if (stat(lab, &st) != 0) { /* images gz, labels raw or the other way */
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, split);
        if (stat(lab, &st) != 0) snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", dir, split);
    }
    return tc_load_idx(img, lab);
}
