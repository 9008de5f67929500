/* Checkpoint files (format version 2, little-endian):
 *   "TCCK", u32 version, u32 count,
 *   per entry: u32 name length, name bytes, u32 dtype (0: float32 tensor,
 *              1: float64 scalar), u32 ndim, i64 shape[ndim], data,
 *   u32 CRC-32 (zlib) of every byte before it.
 * Version 1 files (no dtype field, float32 only) are still read.
 * Every read is checked against the file's size; writes go to a temporary
 * file in the same folder that is fsynced and renamed over the target, so a
 * crash or a full disk never leaves a half-written checkpoint. Scalars (epoch,
 * step, learning rate) are float64 so that counters survive exactly. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/io.h"
#include "mismatch_list.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#define CK_VERSION 2
#define CK_MAX_NAME 4096
enum { CK_F32 = 0, CK_F64 = 1 };

typedef struct {
    char *name;
    tc_tensor *t;  /* long-lived, contiguous (a rank-0 copy for scalars) */
    bool is_f64;   /* a float64 scalar: value is exact */
    double value;
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
static tc_status put_owned(tc_checkpoint *ck, const char *name, tc_tensor *t, bool is_f64, double value)
{
    int i = find(ck, name);
    if (i < 0) {
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
        char *copy = strdup(name);
        if (!copy) {
            tc_tensor_free(t);
            return tc_error(TC_ERR_MEMORY, "checkpoint: out of memory");
        }
        i = ck->n++;
        ck->e[i].name = copy;
    } else {
        tc_tensor_free(ck->e[i].t);
    }
    ck->e[i].t = t;
    ck->e[i].is_f64 = is_f64;
    ck->e[i].value = value;
    return TC_OK;
}

static tc_status check_name(const char *what, const char *name)
{
    if (!name || !name[0]) return tc_error(TC_ERR_ARG, "%s: empty or NULL name", what);
    if (strlen(name) > CK_MAX_NAME) return tc_error(TC_ERR_ARG, "%s: name longer than %d bytes", what, CK_MAX_NAME);
    return TC_OK;
}

tc_status tc_checkpoint_put(tc_checkpoint *ck, const char *name, const tc_tensor *t)
{
    if (!ck || !t) return tc_error(TC_ERR_ARG, "checkpoint_put: NULL %s", ck ? "tensor" : "checkpoint");
    if (check_name("checkpoint_put", name)) return tc_last_status();
    tc_tensor *copy = tc_tensor_keep(t);
    return copy ? put_owned(ck, name, copy, false, 0) : tc_last_status();
}

tc_status tc_checkpoint_put_scalar(tc_checkpoint *ck, const char *name, double v)
{
    if (!ck) return tc_error(TC_ERR_ARG, "checkpoint_put_scalar: NULL checkpoint");
    if (check_name("checkpoint_put_scalar", name)) return tc_last_status();
    tc_scalar s = (tc_scalar)v;
    tc_tensor *t = tc_tensor_from(0, NULL, &s);
    return t ? put_owned(ck, name, t, true, v) : tc_last_status();
}

const tc_tensor *tc_checkpoint_get(const tc_checkpoint *ck, const char *name)
{
    int i = find(ck, name);
    return i >= 0 ? ck->e[i].t : NULL;
}

bool tc_checkpoint_get_scalar(const tc_checkpoint *ck, const char *name, double *v)
{
    int i = find(ck, name);
    if (i < 0 || tc_numel(ck->e[i].t) != 1) return false;
    if (v) *v = ck->e[i].is_f64 ? ck->e[i].value : (double)ck->e[i].t->data[0];
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
    if (!w->ok || n == 0) return;
    w->ok = fwrite(p, 1, n, w->f) == n;
    w->crc = crc32_z(w->crc, p, n);
}
static void put_u32(writer *w, uint32_t v) { put_bytes(w, &v, 4); }

static void write_entry(writer *w, const ck_entry *e)
{
    const tc_tensor *t = e->t;
    put_u32(w, (uint32_t)strlen(e->name));
    put_bytes(w, e->name, strlen(e->name));
    put_u32(w, e->is_f64 ? CK_F64 : CK_F32);
    put_u32(w, e->is_f64 ? 0 : (uint32_t)t->ndim);
    if (e->is_f64) {
        put_bytes(w, &e->value, 8);
        return;
    }
    put_bytes(w, t->shape, 8 * (size_t)t->ndim);
    int64_t n = tc_numel(t);
    float buf[4096];
    for (int64_t k = 0; k < n && w->ok; k += 4096) { /* float32 on disk in every build */
        int64_t m = n - k < 4096 ? n - k : 4096;
        for (int64_t j = 0; j < m; j++) buf[j] = (float)t->data[k + j];
        put_bytes(w, buf, sizeof(float) * (size_t)m);
    }
}

tc_status tc_checkpoint_save(const tc_checkpoint *ck, const char *path)
{
    if (!ck || !path || !path[0]) return tc_error(TC_ERR_ARG, "checkpoint_save: NULL %s", ck ? "path" : "checkpoint");
    tc_atomic_file *af = tc_atomic_begin(path);
    if (!af) return tc_error(tc_last_status(), "checkpoint %s", tc_last_error());
    FILE *f = tc_atomic_stream(af);
    writer w = {f, crc32(0, NULL, 0), true};
    put_bytes(&w, "TCCK", 4);
    put_u32(&w, CK_VERSION);
    put_u32(&w, (uint32_t)ck->n);
    for (int i = 0; i < ck->n && w.ok; i++) write_entry(&w, &ck->e[i]);
    uint32_t crc = (uint32_t)w.crc;
    if (w.ok) w.ok = fwrite(&crc, 1, 4, f) == 4;
    if (!w.ok) {
        int err = errno;
        tc_atomic_abort(af); /* never leave a partial file behind */
        return tc_error(TC_ERR_IO, "checkpoint %s: write failed: %s", path, strerror(err ? err : EIO));
    }
    if (tc_atomic_commit(af) != TC_OK) return tc_error(tc_last_status(), "checkpoint %s", tc_last_error());
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

static uint8_t *read_all(const char *path, size_t *size)
{
    unsigned char *buf;
    if (tc_read_file(path, 0, &buf, size) != TC_OK) {
        tc_error(tc_last_status(), "checkpoint %s", tc_last_error());
        return NULL;
    }
    return buf;
}

/* Parses one entry into ck; returns a description of the problem or NULL. */
static const char *read_entry(reader *r, uint32_t version, tc_checkpoint *ck)
{
    uint32_t len, nd, dtype = CK_F32;
    int64_t shape[TC_MAX_DIMS];
    char name[CK_MAX_NAME + 1];
    if (!take(r, &len, 4) || len == 0 || len > CK_MAX_NAME || !take(r, name, len)) return "bad entry name";
    name[len] = '\0';
    if (version >= 2 && (!take(r, &dtype, 4) || (dtype != CK_F32 && dtype != CK_F64))) return "bad entry type";
    if (!take(r, &nd, 4) || nd > TC_MAX_DIMS || (dtype == CK_F64 && nd != 0)) return "bad entry rank";
    if (!take(r, shape, 8 * (size_t)nd)) return "truncated entry";
    if (dtype == CK_F64) {
        double v;
        if (!take(r, &v, 8)) return "truncated entry";
        return tc_checkpoint_put_scalar(ck, name, v) ? "out of memory" : NULL;
    }
    uint64_t n = 1;
    for (uint32_t d = 0; d < nd; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && n > (r->left / 4) / (uint64_t)shape[d])) return "entry larger than the file";
        n *= (uint64_t)shape[d];
    }
    if (n * 4 > r->left) return "entry larger than the file";
    tc_tensor *t = tc_tensor_new((int)nd, shape);
    if (!t) return "out of memory";
    for (uint64_t k = 0; k < n; k++) {
        float v;
        memcpy(&v, r->p + 4 * k, 4);
        t->data[k] = v;
    }
    r->p += 4 * n;
    r->left -= 4 * (size_t)n;
    return put_owned(ck, name, t, false, 0) ? "out of memory" : NULL;
}

tc_checkpoint *tc_checkpoint_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "checkpoint_load: path is NULL");
        return NULL;
    }
    size_t size = 0;
    uint8_t *buf = read_all(path, &size);
    if (!buf) return NULL;
    tc_checkpoint *ck = NULL;
    const char *problem = NULL;
    uint32_t version = 0, count = 0, stored;
    if (size < 4 || memcmp(buf, "TCCK", 4)) {
        problem = "not a tensorcook checkpoint (bad magic)";
        goto done;
    }
    if (size < 16) {
        problem = "truncated (shorter than the header)";
        goto done;
    }
    memcpy(&version, buf + 4, 4);
    if (version < 1 || version > CK_VERSION) {
        problem = "unsupported format version";
        goto done;
    }
    memcpy(&stored, buf + size - 4, 4);
    if ((uint32_t)crc32_z(crc32(0, NULL, 0), buf, size - 4) != stored) {
        problem = "checksum mismatch (truncated or corrupt)";
        goto done;
    }
    reader r = {buf + 12, size - 16};
    memcpy(&count, buf + 8, 4);
    ck = tc_checkpoint_new();
    if (!ck) {
        problem = "out of memory";
        goto done;
    }
    for (uint32_t i = 0; i < count && !problem; i++) problem = read_entry(&r, version, ck);
    if (!problem && r.left != 0) problem = "trailing bytes after the last entry";
done:
    free(buf);
    if (problem) {
        tc_checkpoint_free(ck);
        if (version > CK_VERSION)
            tc_error(TC_ERR_FORMAT, "checkpoint %s: %s %u (this build reads 1 to %d)", path, problem, version, CK_VERSION);
        else
            tc_error(TC_ERR_FORMAT, "checkpoint %s: %s", path, problem);
        return NULL;
    }
    return ck;
}

/* ---- models ------------------------------------------------------------------------ */
/* Names under which state other than the parameters is stored. */
#define OPT_PREFIX "optimizer/"
#define STATE_PREFIX "state/"
#define EXTRA_PREFIX "extra/"

static bool has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static void slot_key(char *key, size_t size, const tc_model *m, int i, const tc_optimizer *opt, int s)
{
    snprintf(key, size, OPT_PREFIX "%s/%s", tc_model_param_name(m, i), tc_optimizer_slot_name(opt, s));
}

/* Dropout layers draw their masks from a generator whose position is part of
 * the training state: storing it makes a resumed run draw the same masks. */
static tc_rng *layer_rng(tc_layer *l) { return !strcmp(tc_layer_type(l), "Dropout") ? tc_layer_rng(l) : NULL; }

/* A generator's two 64-bit words as four 32-bit halves (exact in float64). */
static const char *rng_parts[4] = {"rng_seed_hi", "rng_seed_lo", "rng_counter_hi", "rng_counter_lo"};
static uint32_t rng_part(const tc_rng *r, int k)
{
    uint64_t w = k < 2 ? r->seed : r->counter;
    return (uint32_t)(k % 2 ? w : w >> 32);
}

static tc_status put_rng(tc_checkpoint *ck, const tc_layer *l, const tc_rng *r)
{
    char key[CK_MAX_NAME];
    for (int k = 0; k < 4; k++) {
        snprintf(key, sizeof key, STATE_PREFIX "%s/%s", tc_layer_name(l), rng_parts[k]);
        if (tc_checkpoint_put_scalar(ck, key, (double)rng_part(r, k)) != TC_OK) return tc_last_status();
    }
    return TC_OK;
}

/* Restores the generator when the file has all four parts. */
static void get_rng(const tc_checkpoint *ck, const tc_layer *l, tc_rng *r)
{
    char key[CK_MAX_NAME];
    double v[4];
    for (int k = 0; k < 4; k++) {
        snprintf(key, sizeof key, STATE_PREFIX "%s/%s", tc_layer_name(l), rng_parts[k]);
        if (!tc_checkpoint_get_scalar(ck, key, &v[k]) || !(v[k] >= 0 && v[k] <= 4294967295.0)) return;
    }
    r->seed = (uint64_t)v[0] << 32 | (uint64_t)v[1];
    r->counter = (uint64_t)v[2] << 32 | (uint64_t)v[3];
}

tc_status tc_checkpoint_put_model(tc_checkpoint *ck, const tc_model *m, tc_optimizer *opt)
{
    if (!ck || !m) return tc_error(TC_ERR_ARG, "checkpoint_put_model: NULL %s", ck ? "model" : "checkpoint");
    char key[CK_MAX_NAME];
    for (int i = 0; i < tc_model_param_count(m); i++) {
        tc_tensor *p = tc_model_param(m, i);
        if (tc_checkpoint_put(ck, tc_model_param_name(m, i), p) != TC_OK) return tc_last_status();
        if (!opt || !tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            slot_key(key, sizeof key, m, i, opt, s);
            tc_tensor *slot = tc_optimizer_slot(opt, p, s);
            if (!slot || tc_checkpoint_put(ck, key, slot) != TC_OK) return tc_last_status();
        }
    }
    for (int i = 0; i < tc_model_layer_count(m); i++) {
        tc_rng *r = layer_rng(tc_model_layer_at(m, i));
        if (r && put_rng(ck, tc_model_layer_at(m, i), r) != TC_OK) return tc_last_status();
    }
    if (opt) return tc_checkpoint_put_scalar(ck, OPT_PREFIX "steps", (double)tc_optimizer_steps(opt));
    return TC_OK;
}

tc_status tc_checkpoint_get_model(const tc_checkpoint *ck, tc_model *m, tc_optimizer *opt)
{
    if (!ck || !m) return tc_error(TC_ERR_ARG, "checkpoint_get_model: NULL %s", ck ? "model" : "checkpoint");
    /* first list every mismatch, then change nothing unless there is none */
    tc_mismatches mm = {0};
    char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX], key[CK_MAX_NAME];
    for (int i = 0; i < tc_model_param_count(m); i++) {
        const char *name = tc_model_param_name(m, i);
        const tc_tensor *t = tc_checkpoint_get(ck, name);
        tc_tensor *p = tc_model_param(m, i);
        if (!t) tc_mismatch(&mm, "missing %s %s", name, tc_shape_str(p, a, sizeof a));
        else if (!tc_same_shape(t, p))
            tc_mismatch(&mm, "%s is %s in the file but %s in the model", name, tc_shape_str(t, a, sizeof a), tc_shape_str(p, b, sizeof b));
    }
    for (int i = 0; i < tc_checkpoint_count(ck); i++) {
        const char *name = tc_checkpoint_name(ck, i);
        if (has_prefix(name, OPT_PREFIX) || has_prefix(name, STATE_PREFIX) || has_prefix(name, EXTRA_PREFIX) ||
            tc_model_param_by_name(m, name))
            continue;
        tc_mismatch(&mm, "unexpected %s %s", name, tc_shape_str(tc_checkpoint_get(ck, name), a, sizeof a));
    }
    /* optimizer slots: check shapes too, so a resumed run never starts half-restored */
    for (int i = 0; opt && i < tc_model_param_count(m); i++) {
        if (!tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            slot_key(key, sizeof key, m, i, opt, s);
            const tc_tensor *st = tc_checkpoint_get(ck, key);
            if (st && !tc_same_shape(st, tc_model_param(m, i)))
                tc_mismatch(&mm, "%s is %s in the file but the parameter is %s", key, tc_shape_str(st, a, sizeof a),
                         tc_shape_str(tc_model_param(m, i), b, sizeof b));
        }
    }
    if (mm.n) {
        return tc_error(TC_ERR_SHAPE, "checkpoint does not fit model '%s' (%d mismatch%s)%s", tc_model_name(m), mm.n,
                        mm.n == 1 ? "" : "es", tc_mismatches_text(&mm));
    }
    for (int i = 0; i < tc_model_param_count(m); i++) {
        const tc_tensor *t = tc_checkpoint_get(ck, tc_model_param_name(m, i));
        tc_tensor *p = tc_model_param(m, i);
        memcpy(p->data, t->data, sizeof(tc_scalar) * (size_t)tc_numel(p));
        if (!opt || !tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            slot_key(key, sizeof key, m, i, opt, s);
            const tc_tensor *st = tc_checkpoint_get(ck, key);
            /* a checkpoint written without this optimizer: its state starts afresh */
            if (!st) continue;
            tc_tensor *slot = tc_optimizer_slot(opt, p, s);
            if (!slot) return tc_last_status();
            memcpy(slot->data, st->data, sizeof(tc_scalar) * (size_t)tc_numel(slot));
        }
    }
    for (int i = 0; i < tc_model_layer_count(m); i++) {
        tc_rng *r = layer_rng(tc_model_layer_at(m, i));
        if (r) get_rng(ck, tc_model_layer_at(m, i), r);
    }
    double steps;
    if (opt && tc_checkpoint_get_scalar(ck, OPT_PREFIX "steps", &steps)) tc_optimizer_set_steps(opt, (int64_t)steps);
    return TC_OK;
}

tc_status tc_checkpoint_save_model(const tc_model *m, tc_optimizer *opt, const char *path, const tc_checkpoint *extra)
{
    if (!m || !path) return tc_error(TC_ERR_ARG, "checkpoint_save_model: NULL %s", m ? "path" : "model");
    tc_checkpoint *ck = tc_checkpoint_new();
    tc_status s = ck ? tc_checkpoint_put_model(ck, m, opt) : tc_last_status();
    char key[CK_MAX_NAME + 16];
    for (int i = 0; s == TC_OK && i < tc_checkpoint_count(extra); i++) {
        const ck_entry *e = &extra->e[i];
        snprintf(key, sizeof key, EXTRA_PREFIX "%s", e->name);
        s = e->is_f64 ? tc_checkpoint_put_scalar(ck, key, e->value) : tc_checkpoint_put(ck, key, e->t);
    }
    if (s == TC_OK) s = tc_checkpoint_save(ck, path);
    tc_checkpoint_free(ck);
    return s;
}

tc_status tc_checkpoint_load_model(tc_model *m, tc_optimizer *opt, const char *path, tc_checkpoint **extra)
{
    if (extra) *extra = NULL;
    if (!m || !path) return tc_error(TC_ERR_ARG, "checkpoint_load_model: NULL %s", m ? "path" : "model");
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return tc_last_status();
    tc_status s = tc_checkpoint_get_model(ck, m, opt);
    if (s != TC_OK) {
        /* name the file too: the mismatch list alone does not say which one */
        char inner[1024];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_error(s, "checkpoint %s: %s", path, inner);
    }
    tc_checkpoint *out = NULL;
    if (s == TC_OK && extra) {
        out = tc_checkpoint_new();
        s = out ? TC_OK : tc_last_status();
        size_t plen = strlen(EXTRA_PREFIX);
        for (int i = 0; s == TC_OK && i < ck->n; i++) {
            ck_entry *e = &ck->e[i];
            if (!has_prefix(e->name, EXTRA_PREFIX)) continue;
            s = e->is_f64 ? tc_checkpoint_put_scalar(out, e->name + plen, e->value) : tc_checkpoint_put(out, e->name + plen, e->t);
        }
        if (s == TC_OK) *extra = out;
        else tc_checkpoint_free(out);
    }
    tc_checkpoint_free(ck);
    return s;
}

tc_status tc_save_model(const char *path, const tc_model *m, tc_optimizer *opt)
{
    return tc_checkpoint_save_model(m, opt, path, NULL);
}

tc_status tc_load_model(const char *path, tc_model *m, tc_optimizer *opt)
{
    return tc_checkpoint_load_model(m, opt, path, NULL);
}
