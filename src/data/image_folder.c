/* Image folders as Keras' flow_from_directory reads them: the subfolders
 * of DIR are the classes, in sorted order; a class's files are those of its
 * folder and every folder below (os.walk sorted by folder path, files
 * sorted within a folder) with a known extension. Only paths are kept; a
 * batcher decodes batch b+1 on a background thread while the caller trains
 * on batch b, so a folder of any size trains in the memory of two batches. */
#include "../core/internal.h"
#include "tensorcook/image.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    char *dir;   /* folder below DIR/<class>, "" for the class folder */
    char *name;
    int label;
} entry;

struct tc_image_folder {
    char *root;
    tc_image_folder_opts o;
    int n_classes;
    char **classes;
    int64_t n;
    char **paths;
    int *labels;
};

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->name, y->name);
}

typedef struct {
    entry *e;
    int64_t n, cap;
    bool oom;
} entries;

static void add_entry(entries *es, const char *dir, const char *name, int label)
{
    if (es->n == es->cap) {
        int64_t cap = es->cap ? es->cap * 2 : 256;
        entry *grown = realloc(es->e, sizeof *grown * (size_t)cap);
        if (!grown) {
            es->oom = true;
            return;
        }
        es->e = grown;
        es->cap = cap;
    }
    char *d = strdup(dir), *n = strdup(name);
    if (!d || !n) {
        free(d);
        free(n);
        es->oom = true;
        return;
    }
    es->e[es->n++] = (entry){d, n, label};
}

/* The files of base/rel and of every folder below it (no symlinked folders,
 * as os.walk(followlinks=False)); depth bounds runaway recursion. */
static void walk(const char *base, const char *rel, int label, entries *es, int depth)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s%s%s", base, rel[0] ? "/" : "", rel) >= (int)sizeof path) return;
    DIR *d = opendir(path);
    if (!d || depth > 32) {
        if (d) closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        char full[8192], sub[4096];
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= (int)sizeof sub) continue;
            walk(base, sub, label, es, depth + 1);
        } else if (image_name(de->d_name) && stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            add_entry(es, rel, de->d_name, label);
        }
    }
    closedir(d);
}

void tc_image_folder_free(tc_image_folder *f)
{
    if (!f) return;
    for (int c = 0; c < f->n_classes; c++) free(f->classes[c]);
    for (int64_t i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->classes);
    free(f->paths);
    free(f->labels);
    free(f->root);
    free(f);
}

tc_image_folder *tc_image_folder_open(const char *dir, const tc_image_folder_opts *o)
{
    if (!dir || !o || o->height < 1 || o->width < 1) {
        tc_error(TC_ERR_ARG, "image folder %s: a target size (height, width >= 1) is required", dir ? dir : "(null)");
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        tc_error(TC_ERR_IO, "image folder %s: cannot open: %s", dir, strerror(errno));
        return NULL;
    }
    tc_image_folder *f = calloc(1, sizeof *f);
    entries es = {0};
    int cap = 0;
    bool oom = !f;
    struct dirent *de;
    while (!oom && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        if (!is_dir(full)) continue;
        if (f->n_classes == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(f->classes, sizeof *grown * (size_t)cap);
            if (!grown) {
                oom = true;
                break;
            }
            f->classes = grown;
        }
        if (!(f->classes[f->n_classes] = strdup(de->d_name))) oom = true;
        else f->n_classes++;
    }
    closedir(d);
    if (oom) goto out_of_memory;
    f->o = *o;
    if (f->o.rescale == 0) f->o.rescale = 1;
    if (f->o.min_classes == 0) f->o.min_classes = 2;
    if (f->n_classes == 0) {
        tc_error(TC_ERR_FORMAT, "image folder %s: no class subfolders (expected DIR/<class>/*.jpg|png)", dir);
        goto fail;
    }
    qsort(f->classes, (size_t)f->n_classes, sizeof *f->classes, cmp_str);
    for (int c = 0; c < f->n_classes; c++) {
        char base[4096];
        if (snprintf(base, sizeof base, "%s/%s", dir, f->classes[c]) >= (int)sizeof base) continue;
        int64_t before = es.n;
        walk(base, "", c, &es, 0);
        if (es.oom) goto out_of_memory;
        if (es.n > before) qsort(es.e + before, (size_t)(es.n - before), sizeof *es.e, cmp_entry);
    }
    if (es.n == 0) {
        tc_error(TC_ERR_FORMAT, "image folder %s: no .jpg, .jpeg or .png images in its %d class folder%s", dir,
                 f->n_classes, f->n_classes == 1 ? "" : "s");
        goto fail;
    }
    if (f->n_classes < f->o.min_classes) {
        tc_error(TC_ERR_FORMAT, "image folder %s: %d class folder%s (%s); at least %d needed", dir, f->n_classes,
                 f->n_classes == 1 ? "" : "s", f->classes[0], f->o.min_classes);
        goto fail;
    }
    f->paths = calloc((size_t)es.n, sizeof *f->paths);
    f->labels = calloc((size_t)es.n, sizeof *f->labels);
    f->root = strdup(dir);
    if (!f->paths || !f->labels || !f->root) goto out_of_memory;
    for (int64_t i = 0; i < es.n; i++) {
        const entry *e = &es.e[i];
        size_t len = strlen(dir) + strlen(f->classes[e->label]) + strlen(e->dir) + strlen(e->name) + 4;
        if (!(f->paths[i] = malloc(len))) goto out_of_memory;
        snprintf(f->paths[i], len, "%s/%s/%s%s%s", dir, f->classes[e->label], e->dir, e->dir[0] ? "/" : "", e->name);
        f->labels[i] = e->label;
        f->n++;
    }
    for (int64_t i = 0; i < es.n; i++) free(es.e[i].dir), free(es.e[i].name);
    free(es.e);
    return f;
out_of_memory:
    tc_error(TC_ERR_MEMORY, "image folder %s: out of memory", dir);
fail:
    for (int64_t i = 0; i < es.n; i++) free(es.e[i].dir), free(es.e[i].name);
    free(es.e);
    tc_image_folder_free(f);
    return NULL;
}

int64_t tc_image_folder_size(const tc_image_folder *f) { return f ? f->n : 0; }
int tc_image_folder_classes(const tc_image_folder *f) { return f ? f->n_classes : 0; }
const char *tc_image_folder_class_name(const tc_image_folder *f, int c)
{
    return f && c >= 0 && c < f->n_classes ? f->classes[c] : NULL;
}
const char *tc_image_folder_path(const tc_image_folder *f, int64_t i) { return f && i >= 0 && i < f->n ? f->paths[i] : NULL; }
int tc_image_folder_label(const tc_image_folder *f, int64_t i) { return f && i >= 0 && i < f->n ? f->labels[i] : -1; }

/* Decoded, resized and rescaled into dst (height*width*3 values). */
static tc_status image_into(const tc_image_folder *f, int64_t i, tc_scalar *dst, bool flip)
{
    tc_tensor *img = tc_image_load_resized(f->paths[i], f->o.height, f->o.width, f->o.interp);
    if (!img) return tc_last_status();
    int64_t h = f->o.height, w = f->o.width;
    tc_scalar s = (tc_scalar)f->o.rescale, off = (tc_scalar)f->o.offset;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const tc_scalar *p = img->data + (y * w + (flip ? w - 1 - x : x)) * 3;
            tc_scalar *q = dst + (y * w + x) * 3;
            for (int c = 0; c < 3; c++) q[c] = p[c] * s + off;
        }
    tc_tensor_free(img);
    return TC_OK;
}

tc_tensor *tc_image_folder_image(const tc_image_folder *f, int64_t i)
{
    if (!f || i < 0 || i >= f->n) {
        tc_error(TC_ERR_ARG, "image_folder_image: index %lld out of range", (long long)i);
        return NULL;
    }
    tc_tensor *t = tc_tensor_new(3, (int64_t[]){f->o.height, f->o.width, 3});
    if (t && image_into(f, i, t->data, false) != TC_OK) {
        tc_tensor_free(t);
        return NULL;
    }
    return t;
}

tc_dataset *tc_image_folder_load_all(const tc_image_folder *f)
{
    if (!f) {
        tc_error(TC_ERR_ARG, "image_folder_load_all: NULL folder");
        return NULL;
    }
    tc_dataset *d = calloc(1, sizeof *d);
    int64_t per = f->o.height * f->o.width * 3;
    if (d) {
        d->x = tc_tensor_new(4, (int64_t[]){f->n, f->o.height, f->o.width, 3});
        d->y = tc_tensor_new(1, (int64_t[]){f->n});
        d->classes = f->n_classes;
        d->class_names = calloc((size_t)f->n_classes, sizeof *d->class_names);
    }
    if (!d || !d->x || !d->y || !d->class_names) {
        tc_dataset_free(d);
        tc_error(TC_ERR_MEMORY, "image folder %s: out of memory for %lld images", f->root, (long long)f->n);
        return NULL;
    }
    for (int c = 0; c < f->n_classes; c++) d->class_names[c] = strdup(f->classes[c]);
    for (int64_t i = 0; i < f->n; i++) {
        if (image_into(f, i, d->x->data + i * per, false) != TC_OK) {
            tc_dataset_free(d);
            return NULL;
        }
        d->y->data[i] = (tc_scalar)f->labels[i];
    }
    return d;
}

/* ---- the background batcher ------------------------------------------------------------ */
struct tc_image_batcher {
    const tc_image_folder *f;
    int64_t batch, nbatches, epoch, next; /* next: the batch handed out by the next call */
    bool shuffle;
    uint64_t seed;
    int64_t *perm;
    tc_tensor *x[2], *y[2];
    int ready;             /* the buffer that holds (or is getting) batch `next` */
    pthread_t worker;
    bool running;
    int64_t job;           /* the batch the worker fills */
    tc_status err;         /* the worker's failure and its message */
    char msg[1024];
};

static void permute(tc_image_batcher *b)
{
    for (int64_t i = 0; i < b->f->n; i++) b->perm[i] = i;
    if (b->shuffle) {
        tc_rng r = tc_rng_new(b->seed * 1000003u + (uint64_t)b->epoch);
        tc_rng_shuffle(&r, b->perm, b->f->n);
    }
}

static int64_t rows_of(const tc_image_batcher *b, int64_t k)
{
    int64_t start = k * b->batch;
    return b->f->n - start < b->batch ? b->f->n - start : b->batch;
}

/* Fills buffer buf with batch k of the current epoch; flips depend only on
 * the seed, the epoch and the image's place, not on timing. */
static void fill(tc_image_batcher *b, int buf, int64_t k)
{
    int64_t rows = rows_of(b, k), per = b->f->o.height * b->f->o.width * 3;
    b->x[buf]->shape[0] = rows;
    b->y[buf]->shape[0] = rows;
    for (int64_t r = 0; r < rows && b->err == TC_OK; r++) {
        int64_t src = b->perm[k * b->batch + r];
        bool flip = false;
        if (b->f->o.flip_lr) {
            tc_rng g = tc_rng_new((b->seed ^ 0x5DEECE66Dull) + (uint64_t)b->epoch * 7919u);
            g.counter = (uint64_t)(k * b->batch + r);
            flip = tc_rng_u32(&g) & 1;
        }
        if (image_into(b->f, src, b->x[buf]->data + r * per, flip) != TC_OK) {
            b->err = tc_last_status();
            snprintf(b->msg, sizeof b->msg, "%s", tc_last_error());
        }
        b->y[buf]->data[r] = (tc_scalar)b->f->labels[src];
    }
}

static void *worker_main(void *arg)
{
    tc_image_batcher *b = arg;
    fill(b, b->ready, b->job);
    return NULL;
}

tc_image_batcher *tc_image_batcher_new(const tc_image_folder *f, int64_t batch, bool shuffle, uint64_t seed)
{
    if (!f || batch < 1) {
        tc_error(TC_ERR_ARG, "image_batcher: %s", f ? "batch size must be at least 1" : "NULL folder");
        return NULL;
    }
    tc_image_batcher *b = calloc(1, sizeof *b);
    if (!b) goto oom;
    b->f = f;
    b->batch = batch < f->n ? batch : f->n;
    b->nbatches = (f->n + b->batch - 1) / b->batch;
    b->shuffle = shuffle;
    b->seed = seed;
    b->perm = malloc(sizeof *b->perm * (size_t)f->n);
    for (int i = 0; i < 2; i++) {
        b->x[i] = tc_tensor_new(4, (int64_t[]){b->batch, f->o.height, f->o.width, 3});
        b->y[i] = tc_tensor_new(1, (int64_t[]){b->batch});
        if (!b->x[i] || !b->y[i]) goto oom;
    }
    if (!b->perm) goto oom;
    permute(b);
    fill(b, 0, 0); /* the first batch now, synchronously */
    return b;
oom:
    tc_image_batcher_free(b);
    tc_error(TC_ERR_MEMORY, "image_batcher: out of memory for batches of %lld", (long long)batch);
    return NULL;
}

int64_t tc_image_batcher_batches_per_epoch(const tc_image_batcher *b) { return b ? b->nbatches : 0; }

int tc_image_batcher_next(tc_image_batcher *b, tc_tensor **x, tc_tensor **y)
{
    if (!b) return tc_error(TC_ERR_ARG, "image_batcher_next: NULL batcher"), -1;
    if (b->running) {
        pthread_join(b->worker, NULL);
        b->running = false;
    }
    if (b->err != TC_OK) {
        tc_error(b->err, "%s", b->msg);
        return -1;
    }
    if (b->next >= b->nbatches) { /* the epoch is over: a new order, its first batch */
        b->epoch++;
        b->next = 0;
        permute(b);
        fill(b, b->ready, 0);
        return 0;
    }
    int cur = b->ready;
    if (x) *x = b->x[cur];
    if (y) *y = b->y[cur];
    b->next++;
    b->ready = 1 - cur;
    if (b->next < b->nbatches) {
        b->job = b->next;
        b->running = pthread_create(&b->worker, NULL, worker_main, b) == 0;
        if (!b->running) fill(b, b->ready, b->job);
    }
    return 1;
}

void tc_image_batcher_free(tc_image_batcher *b)
{
    if (!b) return;
    if (b->running) pthread_join(b->worker, NULL);
    for (int i = 0; i < 2; i++) {
        tc_tensor_free(b->x[i]);
        tc_tensor_free(b->y[i]);
    }
    free(b->perm);
    free(b);
}
