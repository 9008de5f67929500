/* A generated visual-QA set: coloured shapes, one per quadrant, with
 * questions whose answers can be read off the picture. Drawn by hand (a
 * point-in-shape test per pixel), so the pictures depend on nothing but the
 * seed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensorcook/image.h"
#include "tensorcook/qa.h"

enum { N_COLORS = 4, N_SHAPES = 3, MAX_OBJ = 3 };
static const char *COLOR[N_COLORS] = {"red", "green", "blue", "yellow"};
static const double RGB[N_COLORS][3] = {{220, 40, 40}, {40, 180, 60}, {40, 70, 220}, {230, 210, 40}};
static const char *SHAPE[N_SHAPES] = {"circle", "square", "triangle"};
static const char *COUNT[MAX_OBJ + 1] = {"zero", "one", "two", "three"};
/* answers.txt: the order of the classes */
static const char *ANSWERS[] = {"red", "green", "blue", "yellow", "circle", "square", "triangle",
                                "one", "two", "three", "left", "right", "yes", "no"};

typedef struct {
    int shape, color, quadrant; /* quadrant: 0 top left, 1 top right, 2 bottom left, 3 bottom right */
    double cx, cy, r;
} object;

static bool inside(const object *o, double x, double y)
{
    double dx = x - o->cx, dy = y - o->cy;
    if (o->shape == 0) return dx * dx + dy * dy <= o->r * o->r;
    if (o->shape == 1) return fabs(dx) <= o->r * 0.85 && fabs(dy) <= o->r * 0.85;
    /* triangle pointing up: apex (0, -r), base at y = r/2 */
    if (dy < -o->r || dy > o->r * 0.5) return false;
    double half = (dy + o->r) / (1.5 * o->r) * o->r * 0.95;
    return fabs(dx) <= half;
}

static double uni(tc_rng *r) { return tc_rng_double(r); }

static tc_tensor *render(const object *obj, int n, int size, tc_rng *rng)
{
    tc_tensor *img = tc_tensor_new(3, (int64_t[]){size, size, 3});
    double jitter[MAX_OBJ][3];
    for (int k = 0; k < n; k++)
        for (int c = 0; c < 3; c++) jitter[k][c] = 30 * (uni(rng) - 0.5);
    double bg = 150 + 60 * uni(rng);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tc_scalar *p = img->data + ((int64_t)y * size + x) * 3;
            int hit = -1;
            for (int k = 0; k < n && hit < 0; k++)
                if (inside(&obj[k], x + 0.5, y + 0.5)) hit = k;
            double noise = 16 * (uni(rng) - 0.5);
            for (int c = 0; c < 3; c++) {
                double v = hit >= 0 ? RGB[obj[hit].color][c] + jitter[hit][c] : bg + noise;
                p[c] = (tc_scalar)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    return img;
}

static int count_shape(const object *o, int n, int shape)
{
    int c = 0;
    for (int k = 0; k < n; k++) c += o[k].shape == shape;
    return c;
}

static int count_color(const object *o, int n, int color)
{
    int c = 0;
    for (int k = 0; k < n; k++) c += o[k].color == color;
    return c;
}

/* One question about the scene (type t), or false when t has no unique answer. */
static bool ask(int t, const object *o, int n, tc_rng *rng, char *q, size_t qn, const char **a)
{
    int k = (int)tc_rng_below(rng, (uint64_t)n);
    switch (t) {
    case 0: /* colour of a shape that occurs once */
        if (count_shape(o, n, o[k].shape) != 1) return false;
        snprintf(q, qn, "what color is the %s?", SHAPE[o[k].shape]);
        *a = COLOR[o[k].color];
        return true;
    case 1: /* shape of a colour that occurs once */
        if (count_color(o, n, o[k].color) != 1) return false;
        snprintf(q, qn, "what shape is the %s object?", COLOR[o[k].color]);
        *a = SHAPE[o[k].shape];
        return true;
    case 2:
        snprintf(q, qn, "how many shapes are there?");
        *a = COUNT[n];
        return true;
    case 3: /* side of a shape that occurs once */
        if (count_shape(o, n, o[k].shape) != 1) return false;
        snprintf(q, qn, "is the %s on the left or on the right?", SHAPE[o[k].shape]);
        *a = o[k].quadrant % 2 ? "right" : "left";
        return true;
    default: { /* presence: half the time an object of the scene, else a random pair */
        int c, s;
        if (uni(rng) < 0.5) {
            c = o[k].color;
            s = o[k].shape;
        } else {
            c = (int)tc_rng_below(rng, N_COLORS);
            s = (int)tc_rng_below(rng, N_SHAPES);
        }
        bool yes = false;
        for (int j = 0; j < n; j++) yes |= o[j].color == c && o[j].shape == s;
        snprintf(q, qn, "is there a %s %s?", COLOR[c], SHAPE[s]);
        *a = yes ? "yes" : "no";
        return true;
    }
    }
}

tc_status tc_shapes_qa_generate(const char *dir, const tc_shapes_qa_opts *opts)
{
    tc_shapes_qa_opts o = opts ? *opts : (tc_shapes_qa_opts){0};
    int64_t n_img = o.images > 0 ? o.images : 400;
    int qpi = o.questions_per_image > 0 ? o.questions_per_image : 3, size = o.size > 0 ? o.size : 224;
    if (size < 16 || qpi > 20) return tc_error(TC_ERR_ARG, "shapes_qa: size at least 16 and at most 20 questions an image");
    char path[4400];
    snprintf(path, sizeof path, "%s/images", dir);
    if ((mkdir(dir, 0755) && errno != EEXIST) || (mkdir(path, 0755) && errno != EEXIST))
        return tc_error(TC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    tc_rng rng = tc_rng_new(o.seed);
    size_t cap = 1 << 16, used = 0;
    char *tsv = malloc(cap);
    tc_status st = TC_OK;
    for (int64_t i = 0; i < n_img && st == TC_OK; i++) {
        object obj[MAX_OBJ];
        int n = 1 + (int)tc_rng_below(&rng, MAX_OBJ);
        int64_t quads[4] = {0, 1, 2, 3};
        tc_rng_shuffle(&rng, quads, 4);
        for (int k = 0; k < n; k++) {
            object *b = &obj[k];
            b->shape = (int)tc_rng_below(&rng, N_SHAPES);
            b->color = (int)tc_rng_below(&rng, N_COLORS);
            b->quadrant = (int)quads[k];
            b->r = size * (0.12 + 0.08 * uni(&rng));
            double margin = b->r + 2, lo_x = b->quadrant % 2 ? size / 2.0 : 0, lo_y = b->quadrant / 2 ? size / 2.0 : 0;
            b->cx = lo_x + margin + (size / 2.0 - 2 * margin) * uni(&rng);
            b->cy = lo_y + margin + (size / 2.0 - 2 * margin) * uni(&rng);
        }
        tc_tensor *img = render(obj, n, size, &rng);
        char rel[64];
        snprintf(rel, sizeof rel, "images/%05lld.png", (long long)i);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        st = tc_image_save_png(path, img);
        tc_tensor_free(img);
        for (int q = 0, tries = 0; q < qpi && st == TC_OK && tries < 100; tries++) {
            char text[128];
            const char *a;
            if (!ask((int)tc_rng_below(&rng, 5), obj, n, &rng, text, sizeof text, &a)) continue;
            if (used + 256 > cap) tsv = realloc(tsv, cap *= 2);
            used += (size_t)snprintf(tsv + used, cap - used, "%s\t%s\t%s\n", rel, text, a);
            q++;
        }
    }
    if (st == TC_OK) {
        snprintf(path, sizeof path, "%s/questions.tsv", dir);
        st = tc_write_file_atomic(path, tsv, used);
    }
    if (st == TC_OK) {
        char ans[512];
        size_t k = 0;
        for (size_t i = 0; i < sizeof ANSWERS / sizeof *ANSWERS; i++) k += (size_t)snprintf(ans + k, sizeof ans - k, "%s\n", ANSWERS[i]);
        snprintf(path, sizeof path, "%s/answers.txt", dir);
        st = tc_write_file_atomic(path, ans, k);
    }
    free(tsv);
    return st;
}
