/* Class names: Keras' ImageNet index built from Debian darknet's lists
 * (the 1,000 ILSVRC synsets sorted by id, as Keras' imagenet_class_index
 * numbers them), or any list given by the user: one name per line, or
 * Keras' imagenet_class_index.json. */
#include "../core/internal.h"
#include "tensorcook/models.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tc_labels_free(tc_labels *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->ids[i]);
    }
    free(l->names);
    free(l->ids);
    free(l);
}

static tc_labels *labels_new(int n)
{
    tc_labels *l = calloc(1, sizeof *l);
    if (l) {
        l->names = calloc((size_t)n + 1, sizeof *l->names);
        l->ids = calloc((size_t)n + 1, sizeof *l->ids);
    }
    if (!l || !l->names || !l->ids) {
        tc_labels_free(l);
        return NULL;
    }
    return l;
}

/* Reads up to max lines (without their '\n' / '\r\n'); returns the count, -1 on error. */
static int read_lines(const char *path, int max, char ***out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tc_error(TC_ERR_IO, "labels %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char **lines = calloc((size_t)max + 1, sizeof *lines);
    char buf[4096];
    int n = 0;
    while (lines && n < max && fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        if (!(lines[n] = strdup(buf))) break;
        n++;
    }
    bool bad = ferror(f) || !lines || (n < max && !feof(f));
    fclose(f);
    if (bad) {
        for (int i = 0; lines && i < n; i++) free(lines[i]);
        free(lines);
        tc_error(TC_ERR_IO, "labels %s: read error", path);
        return -1;
    }
    *out = lines;
    return n;
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; lines && i < n; i++) free(lines[i]);
    free(lines);
}

typedef struct {
    const char *id;
    int line;
} id_line;
static int by_id(const void *a, const void *b) { return strcmp(((const id_line *)a)->id, ((const id_line *)b)->id); }

tc_labels *tc_imagenet_labels_darknet(const char *dir)
{
    if (!dir) dir = "/usr/share/darknet/data";
    char ids_path[4096], names_path[4096];
    snprintf(ids_path, sizeof ids_path, "%s/imagenet.labels.list", dir);
    snprintf(names_path, sizeof names_path, "%s/imagenet.shortnames.list", dir);
    char **ids = NULL, **names = NULL;
    int ni = read_lines(ids_path, 1000, &ids);
    int nn = ni == 1000 ? read_lines(names_path, 1000, &names) : -1;
    tc_labels *l = NULL;
    if (ni >= 0 && ni < 1000) tc_error(TC_ERR_FORMAT, "labels %s: %d lines, the 1,000 ImageNet synsets expected (Debian package darknet)", ids_path, ni);
    else if (nn >= 0 && nn < 1000) tc_error(TC_ERR_FORMAT, "labels %s: %d lines, 1,000 names expected", names_path, nn);
    if (ni == 1000 && nn == 1000) {
        id_line sorted[1000];
        int order[1000];
        for (int i = 0; i < 1000; i++) sorted[i] = (id_line){ids[i], i};
        qsort(sorted, 1000, sizeof *sorted, by_id);
        for (int i = 0; i < 1000; i++) order[i] = sorted[i].line;
        bool ok = true;
        for (int i = 0; i < 1000 && ok; i++) {
            const char *s = ids[order[i]];
            ok = s[0] == 'n' && strlen(s) == 9 && (i == 0 || strcmp(ids[order[i - 1]], s) < 0);
        }
        if (!ok) tc_error(TC_ERR_FORMAT, "labels %s: the first 1,000 lines are not 1,000 distinct synset ids (nXXXXXXXX)", ids_path);
        else if ((l = labels_new(1000))) {
            for (int i = 0; i < 1000; i++) {
                l->ids[i] = strdup(ids[order[i]]);
                l->names[i] = strdup(names[order[i]]);
                l->n++;
                if (!l->ids[i] || !l->names[i]) {
                    tc_labels_free(l);
                    l = NULL;
                    tc_error(TC_ERR_MEMORY, "labels: out of memory");
                    break;
                }
            }
        } else {
            tc_error(TC_ERR_MEMORY, "labels: out of memory");
        }
    }
    free_lines(ids, ni);
    free_lines(names, nn);
    return l;
}

/* ---- Keras' imagenet_class_index.json: {"0": ["n01440764", "tench"], ...} ---- */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

/* A JSON string at p (no escapes other than \" \\ \/ and \uXXXX kept as is); returns after it. */
static const char *json_str(const char *p, char *out, size_t size)
{
    if (*p != '"') return NULL;
    size_t k = 0;
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            if (!*p) return NULL;
            c = *p == 'n' ? ' ' : *p;
        }
        if (k + 1 < size) out[k++] = c;
    }
    if (*p != '"') return NULL;
    out[k] = '\0';
    return p + 1;
}

static tc_labels *parse_class_index(const char *path, const char *text)
{
    int cap = 16, max = -1;
    char **ids = calloc((size_t)cap, sizeof *ids), **names = calloc((size_t)cap, sizeof *names);
    const char *p = skip_ws(text);
    bool ok = ids && names && *p == '{';
    if (ok) p = skip_ws(p + 1);
    while (ok && *p != '}') {
        char key[32], id[128], name[512];
        p = json_str(p, key, sizeof key);
        if (p) p = skip_ws(p);
        if (p && *p == ':') p = skip_ws(p + 1);
        else p = NULL;
        if (p && *p == '[') p = skip_ws(p + 1);
        else p = NULL;
        if (p) p = json_str(p, id, sizeof id);
        if (p) p = skip_ws(p);
        if (p && *p == ',') p = skip_ws(p + 1);
        else p = NULL;
        if (p) p = json_str(p, name, sizeof name);
        if (p) p = skip_ws(p);
        if (p && *p == ']') p = skip_ws(p + 1);
        else p = NULL;
        char *end = NULL;
        long k = p ? strtol(key, &end, 10) : -1;
        if (!p || !end || *end || k < 0 || k > 100000) {
            ok = false;
            break;
        }
        while (k >= cap) {
            int nc = cap * 2;
            char **gi = realloc(ids, sizeof *gi * (size_t)nc);
            if (gi) ids = gi;
            char **gn = gi ? realloc(names, sizeof *gn * (size_t)nc) : NULL;
            if (!gi || !gn) {
                ok = false;
                break;
            }
            names = gn;
            memset(ids + cap, 0, sizeof *ids * (size_t)(nc - cap));
            memset(names + cap, 0, sizeof *names * (size_t)(nc - cap));
            cap = nc;
        }
        if (!ok || names[k]) {
            ok = false;
            break;
        }
        ids[k] = strdup(id);
        names[k] = strdup(name);
        if (k > max) max = (int)k;
        if (*p == ',') p = skip_ws(p + 1);
        else if (*p != '}') ok = false;
    }
    for (int i = 0; ok && i <= max; i++) ok = names[i] != NULL;
    tc_labels *l = ok && max >= 0 ? labels_new(max + 1) : NULL;
    if (l) {
        for (int i = 0; i <= max; i++) {
            l->names[i] = names[i];
            l->ids[i] = ids[i];
        }
        l->n = max + 1;
    } else {
        for (int i = 0; i < cap && ids && names; i++) {
            free(ids[i]);
            free(names[i]);
        }
        tc_error(TC_ERR_FORMAT, "labels %s: not a Keras class index ({\"0\": [\"n01440764\", \"tench\"], ...} with keys 0..N-1)",
                 path);
    }
    free(ids);
    free(names);
    return l;
}

tc_labels *tc_labels_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "labels_load: NULL path");
        return NULL;
    }
    char **lines = NULL;
    int n = read_lines(path, 1 << 20, &lines);
    if (n < 0) return NULL;
    /* JSON when the first non-blank character is '{' */
    int first = 0;
    while (first < n && !lines[first][strspn(lines[first], " \t")]) first++;
    tc_labels *l = NULL;
    if (first < n && lines[first][strspn(lines[first], " \t")] == '{') {
        size_t total = 1;
        for (int i = 0; i < n; i++) total += strlen(lines[i]) + 1;
        char *text = malloc(total);
        if (text) {
            size_t k = 0;
            for (int i = 0; i < n; i++) {
                size_t len = strlen(lines[i]);
                memcpy(text + k, lines[i], len);
                k += len;
                text[k++] = '\n';
            }
            text[k] = '\0';
            l = parse_class_index(path, text);
            free(text);
        }
    } else {
        int count = n;
        while (count > 0 && !lines[count - 1][0]) count--; /* trailing blank lines */
        if (count == 0) tc_error(TC_ERR_FORMAT, "labels %s: empty (one class name per line expected)", path);
        else if ((l = labels_new(count))) {
            for (int i = 0; i < count; i++) {
                l->names[i] = lines[i];
                lines[i] = NULL;
            }
            l->n = count;
        }
    }
    free_lines(lines, n);
    return l;
}
