/* Metric logs: CSV and TensorBoard event files (written atomically by tc_write_file_atomic). */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

tc_status tc_write_metrics_csv(const char *path, int n, const tc_metrics *rows)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    fprintf(f, "step,epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for (int i = 0; i < n; i++) {
        const tc_metrics *r = &rows[i];
        fprintf(f, "%lld,%d,%.6g,%.6g,", (long long)r->step, r->epoch, r->loss, r->accuracy);
        if (isnan(r->val_loss)) fprintf(f, ",,");
        else fprintf(f, "%.6g,%.6g,", r->val_loss, r->val_accuracy);
        fprintf(f, "%.3f\n", r->seconds);
    }
    fclose(f);
    tc_status s = tc_write_file_atomic(path, buf, len);
    free(buf);
    return s;
}

/* ---- TensorBoard: TFRecord-framed Event protobufs ---------------------------------------
 * record: u64 length, u32 masked crc32c(length), data, u32 masked crc32c(data)
 * Event { double wall_time = 1; int64 step = 2; string file_version = 3;
 *         Summary summary = 5 }  Summary { repeated Value value = 1 }
 * Value { string tag = 1; float simple_value = 2 } */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}
static uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool failed; /* a realloc failed: the buffer is incomplete */
} bytes;

static void put(bytes *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        uint8_t *g = realloc(b->p, cap);
        if (!g) {
            b->failed = true;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void varint(bytes *b, uint64_t v)
{
    uint8_t t[10];
    int k = 0;
    do {
        t[k++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, t, (size_t)k);
}
static void key(bytes *b, int field, int wire) { varint(b, (uint64_t)(field << 3 | wire)); }

static void record(bytes *file, const bytes *ev)
{
    if (ev->failed) file->failed = true;
    uint64_t len = ev->n;
    uint32_t lc = masked(crc32c((const uint8_t *)&len, 8)), dc = masked(crc32c(ev->p, ev->n));
    put(file, &len, 8);
    put(file, &lc, 4);
    put(file, ev->p, ev->n);
    put(file, &dc, 4);
}

static void scalar_event(bytes *file, double wall, int64_t step, const char *tag, float v)
{
    bytes value = {0}, summary = {0}, ev = {0};
    key(&value, 1, 2);
    varint(&value, strlen(tag));
    put(&value, tag, strlen(tag));
    key(&value, 2, 5);
    put(&value, &v, 4);
    key(&summary, 1, 2);
    varint(&summary, value.n);
    put(&summary, value.p, value.n);
    key(&ev, 1, 1);
    put(&ev, &wall, 8);
    key(&ev, 2, 0);
    varint(&ev, (uint64_t)step);
    key(&ev, 5, 2);
    varint(&ev, summary.n);
    put(&ev, summary.p, summary.n);
    ev.failed |= value.failed || summary.failed;
    record(file, &ev);
    free(value.p);
    free(summary.p);
    free(ev.p);
}

tc_status tc_write_tensorboard(const char *dir, int n, const tc_metrics *rows)
{
    if (!dir) return tc_error(TC_ERR_ARG, "tensorboard: folder is NULL");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return tc_error(TC_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    double wall = (double)time(NULL);
    bytes file = {0}, ev = {0};
    key(&ev, 1, 1);
    put(&ev, &wall, 8);
    key(&ev, 3, 2);
    varint(&ev, 13);
    put(&ev, "brain.Event:2", 13);
    record(&file, &ev);
    free(ev.p);
    for (int i = 0; i < n; i++) {
        double w = wall + rows[i].seconds;
        scalar_event(&file, w, rows[i].step, "loss", (float)rows[i].loss);
        scalar_event(&file, w, rows[i].step, "accuracy", (float)rows[i].accuracy);
        if (!isnan(rows[i].val_loss)) {
            scalar_event(&file, w, rows[i].step, "val_loss", (float)rows[i].val_loss);
            scalar_event(&file, w, rows[i].step, "val_accuracy", (float)rows[i].val_accuracy);
        }
    }
    char host[64] = "localhost", path[4400];
    gethostname(host, sizeof host - 1);
    snprintf(path, sizeof path, "%s/events.out.tfevents.%lld.%s", dir, (long long)wall, host);
    tc_status s = file.p && !file.failed ? tc_write_file_atomic(path, file.p, file.n) : tc_error(TC_ERR_MEMORY, "tensorboard: out of memory");
    free(file.p);
    return s;
}
