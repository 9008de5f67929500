/* CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes
 * (1024 red, 1024 green, 1024 blue, rows of 32), converted to HWC in [0, 1]. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/data.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#define RECORD 3073

tc_dataset *tc_load_cifar10_files(int n_files, const char *const *paths)
{
    if (n_files < 1 || !paths) {
        tc_error(TC_ERR_ARG, "load_cifar10: no files");
        return NULL;
    }
    int64_t total = 0;
    for (int i = 0; i < n_files; i++) {
        struct stat st;
        if (!paths[i] || stat(paths[i], &st) != 0) {
            tc_error(TC_ERR_IO, "%s: cannot open: %s", paths[i] ? paths[i] : "(null)", strerror(errno));
            return NULL;
        }
        if (st.st_size == 0 || st.st_size % RECORD != 0) {
            tc_error(TC_ERR_FORMAT, "%s: size %lld is not a multiple of the %d-byte CIFAR-10 record", paths[i],
                     (long long)st.st_size, RECORD);
            return NULL;
        }
        total += st.st_size / RECORD;
    }
    tc_dataset *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->classes = 10;
    d->x = tc_tensor_new(TC_SHAPE(total, 32, 32, 3));
    d->y = tc_tensor_new(TC_SHAPE(total));
    uint8_t *rec = malloc(RECORD);
    if (!d->x || !d->y || !rec) {
        free(rec);
        tc_dataset_free(d);
        return NULL;
    }
    int64_t k = 0;
    for (int i = 0; i < n_files; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            tc_error(TC_ERR_IO, "%s: cannot open: %s", paths[i], strerror(errno));
            goto fail;
        }
        while (fread(rec, 1, RECORD, f) == RECORD) {
            if (rec[0] > 9) {
                tc_error(TC_ERR_FORMAT, "%s: record %lld has label %d (0 to 9)", paths[i], (long long)k, rec[0]);
                fclose(f);
                goto fail;
            }
            d->y->data[k] = rec[0];
            tc_scalar *x = d->x->data + k * 3072;
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 1024; p++) x[p * 3 + c] = rec[1 + c * 1024 + p] * (tc_scalar)(1.0 / 255.0);
            k++;
        }
        fclose(f);
    }
    free(rec);
    if (k != total) {
        tc_error(TC_ERR_IO, "CIFAR-10: read %lld of %lld records", (long long)k, (long long)total);
        tc_dataset_free(d);
        return NULL;
    }
    return d;
fail:
    free(rec);
    tc_dataset_free(d);
    return NULL;
}

static void read_class_names(tc_dataset *d, const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
    FILE *f = fopen(p, "r");
    if (!f) return;
    d->class_names = calloc(10, sizeof(char *));
    char line[256];
    int n = 0;
    while (d->class_names && n < 10 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        d->class_names[n++] = strdup(line);
    }
    fclose(f);
}

tc_dataset *tc_load_cifar10(const char *dir, bool train)
{
    if (!dir) {
        tc_error(TC_ERR_ARG, "load_cifar10: folder is NULL");
        return NULL;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tc_error(TC_ERR_IO, "%s: no such folder", dir);
        return NULL;
    }
    char paths[5][4200];
    const char *ps[5];
    int n = train ? 5 : 1;
    for (int i = 0; i < n; i++) {
        if (train) snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", dir, i + 1);
        else snprintf(paths[i], sizeof paths[i], "%s/test_batch.bin", dir);
        ps[i] = paths[i];
    }
    tc_dataset *d = tc_load_cifar10_files(n, ps);
    if (d) read_class_names(d, dir);
    return d;
}
