/* A video given as a folder of numbered frame images (the layout of UCF-101
 * frame dumps and of the seed's extracted frames). */
#include "tensorcook/image.h"
#include "tensorcook/video.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    unsigned long long number;
} numbered;

/* The last run of digits in the name: img_00012.jpg -> 12. */
static int frame_number(const char *name, unsigned long long *n)
{
    const char *end = NULL;
    for (const char *p = name; *p; p++)
        if (isdigit((unsigned char)*p)) end = p;
    if (!end) return 0;
    const char *start = end;
    while (start > name && isdigit((unsigned char)start[-1])) start--;
    *n = strtoull(start, NULL, 10);
    return 1;
}

static int image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcmp(dot, ext[i])) return 1;
    return 0;
}

static int by_number(const void *a, const void *b)
{
    const numbered *x = a, *y = b;
    if (x->number != y->number) return x->number < y->number ? -1 : 1;
    return strcmp(x->name, y->name);
}

tc_tensor *tc_video_load_frames(const char *dir, const tc_video_opts *opts)
{
    tc_video_opts none = {0};
    const tc_video_opts *o = opts ? opts : &none;
    DIR *d = opendir(dir);
    if (!d) {
        tc_error(TC_ERR_IO, "video %s: cannot open the frame folder", dir);
        return NULL;
    }
    numbered *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    tc_tensor *out = NULL, *img = NULL;
    while ((e = readdir(d))) {
        unsigned long long num;
        if (!image_name(e->d_name) || !frame_number(e->d_name, &num)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            numbered *p = realloc(list, cap * sizeof *p);
            if (!p) goto oom;
            list = p;
        }
        if (!(list[n].name = strdup(e->d_name))) goto oom;
        list[n++].number = num;
    }
    qsort(list, n, sizeof *list, by_number);
    size_t take = o->max_frames > 0 && (size_t)o->max_frames < n ? (size_t)o->max_frames : n;
    if (take == 0) {
        tc_error(TC_ERR_FORMAT, "video %s: no numbered frame images in the folder", dir);
        goto done;
    }
    if (o->min_frames > 0 && take < (size_t)o->min_frames) {
        tc_error(TC_ERR_FORMAT, "video %s: %zu frames, fewer than the %d of a clip", dir, take, o->min_frames);
        goto done;
    }
    for (size_t i = 0; i < take; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
        img = o->height > 0 && o->width > 0 ? tc_image_load_resized(path, o->height, o->width, TC_INTERP_BILINEAR)
                                            : tc_image_load(path);
        if (!img) goto fail;
        if (!out) out = tc_tensor_new(4, (int64_t[]){(int64_t)take, img->shape[0], img->shape[1], 3});
        if (!out) goto fail;
        if (img->shape[0] != out->shape[1] || img->shape[1] != out->shape[2]) {
            tc_error(TC_ERR_FORMAT, "video %s: frame %s is %lldx%lld, the first was %lldx%lld", dir, list[i].name,
                     (long long)img->shape[1], (long long)img->shape[0], (long long)out->shape[2], (long long)out->shape[1]);
            goto fail;
        }
        int64_t fb = img->shape[0] * img->shape[1] * 3;
        memcpy(out->data + (int64_t)i * fb, img->data, (size_t)fb * sizeof(tc_scalar));
        tc_tensor_free(img);
        img = NULL;
    }
    goto done;
oom:
    tc_error(TC_ERR_MEMORY, "video %s: out of memory", dir);
fail:
    tc_tensor_free(out);
    out = NULL;
done:
    tc_tensor_free(img);
    for (size_t i = 0; i < n; i++) free(list[i].name);
    free(list);
    closedir(d);
    return out;
}
