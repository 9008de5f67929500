/* Checkpoint files: "TCCK", u32 version, u32 count, then per tensor u32 name
 * length, name, u32 ndim, i64 shape[ndim], f32 data; then the CRC-32 (zlib)
 * of everything before it. Little-endian. Every read is checked against the
 * file's size; writes go to a temporary file that is fsynced and renamed. */
#include "../core/internal.h"
#include "tensorcook/io.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#define CK_VERSION 1

typedef struct {
    char *name;
    tc_tensor *t; /* long-lived, contiguous */
} ck_entry;

struct tc_checkpoint {
    ck_entry *e;
    int n, cap;
};

tc_checkpoint *tc_checkpoint_new(void)
{
    tc_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) tc_error(TC_ERR_MEMORY, "checkpoint: out of memory");
    return ck;
}

void tc_checkpoint_free(tc_checkpoint *ck)
{
    if (!ck) return;
    for (int i = 0; i < ck->n; i++) {
        free(ck->e[i].name);
        tc_tensor_free(ck->e[i].t);
    }
    free(ck->e);
    free(ck);
}

static int find(const tc_checkpoint *ck, const char *name)
{
    for (int i = 0; ck && name && i < ck->n; i++)
        if (!strcmp(ck->e[i].name, name)) return i;
    return -1;
}

/* takes ownership of t */
static tc_status put_owned(tc_checkpoint *ck, const char *name, tc_tensor *t)
{
    int i = find(ck, name);
    if (i >= 0) {
        tc_tensor_free(ck->e[i].t);
        ck->e[i].t = t;
        return TC_OK;
    }
    if (ck->n == ck->cap) {
        int cap = ck->cap ? ck->cap * 2 : 32;
        ck_entry *g = realloc(ck->e, sizeof *g * (size_t)cap);
        if (!g) {
            tc_tensor_free(t);
            return tc_error(TC_ERR_MEMORY, "checkpoint: out of memory");
        }
        ck->e = g;
        ck->cap = cap;
    }
    ck->e[ck->n].name = strdup(name);
    ck->e[ck->n].t = t;
    ck->n++;
    return TC_OK;
}

tc_status tc_checkpoint_put(tc_checkpoint *ck, const char *name, const tc_tensor *t)
{
    if (!ck || !name || !t) return tc_error(TC_ERR_ARG, "checkpoint_put: NULL argument");
    if (strlen(name) > 4096) return tc_error(TC_ERR_ARG, "checkpoint_put: name too long");
    tc_tensor *copy = tc_tensor_keep(t);
    return copy ? put_owned(ck, name, copy) : tc_last_status();
}

tc_status tc_checkpoint_put_scalar(tc_checkpoint *ck, const char *name, double v)
{
    tc_scalar s = (tc_scalar)v;
    tc_tensor *t = tc_tensor_from(0, NULL, &s);
    if (!ck || !name || !t) {
        tc_tensor_free(t);
        return tc_error(TC_ERR_ARG, "checkpoint_put_scalar: NULL argument");
    }
    return put_owned(ck, name, t);
}

const tc_tensor *tc_checkpoint_get(const tc_checkpoint *ck, const char *name)
{
    int i = find(ck, name);
    return i >= 0 ? ck->e[i].t : NULL;
}

bool tc_checkpoint_get_scalar(const tc_checkpoint *ck, const char *name, double *v)
{
    const tc_tensor *t = tc_checkpoint_get(ck, name);
    if (!t || tc_numel(t) != 1) return false;
    if (v) *v = t->data[0];
    return true;
}

int tc_checkpoint_count(const tc_checkpoint *ck) { return ck ? ck->n : 0; }
const char *tc_checkpoint_name(const tc_checkpoint *ck, int i) { return ck && i >= 0 && i < ck->n ? ck->e[i].name : NULL; }

/* ---- writing ---------------------------------------------------------------------- */
typedef struct {
    FILE *f;
    uLong crc;
    bool ok;
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (!w->ok) return;
    w->ok = fwrite(p, 1, n, w->f) == n;
    w->crc = crc32(w->crc, p, (uInt)n);
}

tc_status tc_checkpoint_save(const tc_checkpoint *ck, const char *path)
{
    if (!ck || !path) return tc_error(TC_ERR_ARG, "checkpoint_save: NULL argument");
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return tc_error(TC_ERR_ARG, "checkpoint %s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return tc_error(TC_ERR_IO, "checkpoint %s: cannot write: %s", path, strerror(errno));
    writer w = {f, crc32(0, NULL, 0), true};
    uint32_t version = CK_VERSION, count = (uint32_t)ck->n;
    put_bytes(&w, "TCCK", 4);
    put_bytes(&w, &version, 4);
    put_bytes(&w, &count, 4);
    for (int i = 0; i < ck->n && w.ok; i++) {
        const tc_tensor *t = ck->e[i].t;
        uint32_t len = (uint32_t)strlen(ck->e[i].name), nd = (uint32_t)t->ndim;
        put_bytes(&w, &len, 4);
        put_bytes(&w, ck->e[i].name, len);
        put_bytes(&w, &nd, 4);
        put_bytes(&w, t->shape, 8 * nd);
        int64_t n = tc_numel(t);
        for (int64_t k = 0; k < n && w.ok; k += 4096) { /* float32 on disk in every build */
            float buf[4096];
            int64_t m = n - k < 4096 ? n - k : 4096;
            for (int64_t j = 0; j < m; j++) buf[j] = (float)t->data[k + j];
            put_bytes(&w, buf, sizeof(float) * (size_t)m);
        }
    }
    uint32_t crc = (uint32_t)w.crc;
    if (w.ok) w.ok = fwrite(&crc, 1, 4, f) == 4;
    if (w.ok) w.ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0) w.ok = false;
    if (!w.ok || rename(tmp, path) != 0) {
        if (w.ok) err = errno;
        remove(tmp);
        return tc_error(TC_ERR_IO, "checkpoint %s: write failed: %s", path, strerror(err));
    }
    return TC_OK;
}

/* ---- reading ---------------------------------------------------------------------- */
typedef struct {
    const uint8_t *p;
    size_t left;
} reader;

static bool take(reader *r, void *dst, size_t n)
{
    if (r->left < n) return false;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

tc_checkpoint *tc_checkpoint_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "checkpoint_load: path is NULL");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        tc_error(TC_ERR_IO, "checkpoint %s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *g = realloc(buf, cap);
            if (!g) {
                free(buf);
                fclose(f);
                tc_error(TC_ERR_MEMORY, "checkpoint %s: out of memory", path);
                return NULL;
            }
            buf = g;
        }
        size_t got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (!got) break;
    }
    fclose(f);
    tc_checkpoint *ck = NULL;
    const char *problem = NULL;
    if (size < 16 || memcmp(buf, "TCCK", 4)) {
        problem = "not a tensorcook checkpoint";
        goto done;
    }
    uint32_t stored;
    memcpy(&stored, buf + size - 4, 4);
    if ((uint32_t)crc32(crc32(0, NULL, 0), buf, (uInt)(size - 4)) != stored) {
        problem = "checksum mismatch (truncated or corrupt)";
        goto done;
    }
    reader r = {buf + 4, size - 8};
    uint32_t version, count;
    take(&r, &version, 4);
    take(&r, &count, 4);
    if (version != CK_VERSION) {
        problem = "unsupported version";
        goto done;
    }
    ck = tc_checkpoint_new();
    for (uint32_t i = 0; ck && i < count; i++) {
        uint32_t len, nd;
        int64_t shape[TC_MAX_DIMS];
        char name[4097];
        if (!take(&r, &len, 4) || len > 4096 || !take(&r, name, len) || !take(&r, &nd, 4) || nd > TC_MAX_DIMS ||
            !take(&r, shape, 8 * nd)) {
            problem = "truncated entry";
            goto done;
        }
        name[len] = '\0';
        int64_t n = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (shape[d] < 0 || (shape[d] && n > (int64_t)(r.left / 4) / shape[d] + 1)) {
                problem = "entry larger than the file";
                goto done;
            }
            n *= shape[d];
        }
        if ((size_t)n * 4 > r.left) {
            problem = "entry larger than the file";
            goto done;
        }
        tc_tensor *t = tc_tensor_new((int)nd, shape);
        if (!t) {
            problem = "out of memory";
            goto done;
        }
        for (int64_t k = 0; k < n; k++) {
            float v;
            memcpy(&v, r.p + 4 * k, 4);
            t->data[k] = v;
        }
        r.p += 4 * n;
        r.left -= 4 * (size_t)n;
        if (put_owned(ck, name, t) != TC_OK) {
            problem = "out of memory";
            goto done;
        }
    }
    if (r.left != 0) problem = "trailing bytes";
done:
    free(buf);
    if (problem || !ck) {
        tc_checkpoint_free(ck);
        if (problem) tc_error(TC_ERR_FORMAT, "checkpoint %s: %s", path, problem);
        return NULL;
    }
    return ck;
}

/* ---- models ------------------------------------------------------------------------ */
tc_status tc_checkpoint_put_model(tc_checkpoint *ck, const tc_model *m, tc_optimizer *opt)
{
    if (!ck || !m) return tc_error(TC_ERR_ARG, "checkpoint_put_model: NULL argument");
    for (int i = 0; i < tc_model_param_count(m); i++) {
        tc_tensor *p = tc_model_param(m, i);
        if (tc_checkpoint_put(ck, tc_model_param_name(m, i), p) != TC_OK) return tc_last_status();
        if (!opt || !tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            char key[300];
            snprintf(key, sizeof key, "optimizer/%s/%s", tc_model_param_name(m, i), tc_optimizer_slot_name(opt, s));
            tc_tensor *slot = tc_optimizer_slot(opt, p, s);
            if (!slot || tc_checkpoint_put(ck, key, slot) != TC_OK) return tc_last_status();
        }
    }
    if (opt) return tc_checkpoint_put_scalar(ck, "optimizer/steps", (double)tc_optimizer_steps(opt));
    return TC_OK;
}

tc_status tc_checkpoint_get_model(const tc_checkpoint *ck, tc_model *m, tc_optimizer *opt)
{
    if (!ck || !m) return tc_error(TC_ERR_ARG, "checkpoint_get_model: NULL argument");
    /* first list every mismatch, then change nothing unless there is none */
    char msg[2048];
    size_t used = 0;
    int bad = 0;
    for (int i = 0; i < tc_model_param_count(m); i++) {
        const char *name = tc_model_param_name(m, i);
        const tc_tensor *t = tc_checkpoint_get(ck, name);
        tc_tensor *p = tc_model_param(m, i);
        char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
        if (!t) {
            bad++;
            used += (size_t)snprintf(msg + used, used < sizeof msg ? sizeof msg - used : 0, "; missing %s", name);
        } else if (!tc_same_shape(t, p)) {
            bad++;
            used += (size_t)snprintf(msg + used, used < sizeof msg ? sizeof msg - used : 0, "; %s is %s in the file but %s in the model",
                                     name, tc_shape_str(t, a, sizeof a), tc_shape_str(p, b, sizeof b));
        }
    }
    for (int i = 0; i < tc_checkpoint_count(ck); i++) {
        const char *name = tc_checkpoint_name(ck, i);
        if (!strncmp(name, "optimizer/", 10) || tc_model_param_by_name(m, name)) continue;
        bad++;
        used += (size_t)snprintf(msg + used, used < sizeof msg ? sizeof msg - used : 0, "; unexpected %s", name);
    }
    if (bad) return tc_error(TC_ERR_SHAPE, "checkpoint does not fit model '%s' (%d mismatches)%s", tc_model_name(m), bad, msg);
    for (int i = 0; i < tc_model_param_count(m); i++) {
        const tc_tensor *t = tc_checkpoint_get(ck, tc_model_param_name(m, i));
        tc_tensor *p = tc_model_param(m, i);
        memcpy(p->data, t->data, sizeof(tc_scalar) * (size_t)tc_numel(p));
        if (!opt || !tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            char key[300];
            snprintf(key, sizeof key, "optimizer/%s/%s", tc_model_param_name(m, i), tc_optimizer_slot_name(opt, s));
            const tc_tensor *st = tc_checkpoint_get(ck, key);
            tc_tensor *slot = tc_optimizer_slot(opt, p, s);
            if (st && slot && tc_same_shape(st, slot)) memcpy(slot->data, st->data, sizeof(tc_scalar) * (size_t)tc_numel(slot));
        }
    }
    double steps;
    if (opt && tc_checkpoint_get_scalar(ck, "optimizer/steps", &steps)) tc_optimizer_set_steps(opt, (int64_t)steps);
    return TC_OK;
}

tc_status tc_save_model(const char *path, const tc_model *m, tc_optimizer *opt)
{
    tc_checkpoint *ck = tc_checkpoint_new();
    tc_status s = ck ? tc_checkpoint_put_model(ck, m, opt) : tc_last_status();
    if (s == TC_OK) s = tc_checkpoint_save(ck, path);
    tc_checkpoint_free(ck);
    return s;
}

tc_status tc_load_model(const char *path, tc_model *m, tc_optimizer *opt)
{
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return tc_last_status();
    tc_status s = tc_checkpoint_get_model(ck, m, opt);
    tc_checkpoint_free(ck);
    return s;
}
