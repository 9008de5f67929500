/* Labelled text: "label TAB text" files, aclImdb folders, Debian package
 * descriptions, and their conversion into a data set of padded ids. */
#include "text_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tc_text_corpus_free(tc_text_corpus *c)
{
    if (!c) return;
    for (int64_t i = 0; i < c->n; i++) free(c->text[i]);
    free(c->text);
    free(c->label);
    for (int i = 0; i < c->classes; i++) free(c->class_names[i]);
    free(c->class_names);
    memset(c, 0, sizeof *c);
}

/* Adds (text, label); text is taken over. */
static tc_status corpus_add(tc_text_corpus *c, int64_t *cap, char *text, int32_t label)
{
    int64_t old_cap = *cap;
    tc_status st = tc_text_push(&c->text, &c->n, cap, text);
    if (st != TC_OK) return st;
    if (*cap != old_cap) {
        int32_t *nl = realloc(c->label, sizeof *nl * (size_t)*cap);
        if (!nl) {
            free(c->text[--c->n]);
            return tc_error(TC_ERR_MEMORY, "text corpus: out of memory");
        }
        c->label = nl;
    }
    c->label[c->n - 1] = label;
    return TC_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

tc_status tc_read_labelled_tsv(const char *path, tc_text_corpus *out)
{
    if (!out || !path) return tc_error(TC_ERR_ARG, "read_labelled_tsv: NULL argument");
    memset(out, 0, sizeof *out);
    tc_lines l;
    tc_status st = tc_read_lines(path, &l);
    if (st != TC_OK) return st;
    tc_strmap names = {0};
    int64_t cap = 0;
    for (int64_t i = 0; i < l.n && st == TC_OK; i++) {
        char *line = l.line[i], *tab = strchr(line, '\t');
        if (!*line) continue; /* blank lines separate nothing; skip them */
        if (!tab || tab == line || !tab[1]) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: expected 'label<TAB>text'%s", path, (long long)i + 1,
                          !tab ? " (no tab)" : tab == line ? " (empty label)" : " (empty text)");
            break;
        }
        *tab = '\0';
        if (!tc_strmap_put(&names, line, 0, NULL)) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        else st = corpus_add(out, &cap, tc_text_dup(tab + 1, strlen(tab + 1)), -1);
    }
    if (st == TC_OK && out->n == 0) st = tc_error(TC_ERR_FORMAT, "%s: no labelled lines", path);
    /* class ids: names in byte order, so the ids do not depend on line order */
    if (st == TC_OK) {
        out->class_names = malloc(sizeof(char *) * (size_t)names.n);
        if (!out->class_names) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        for (int64_t i = 0; i < names.cap && st == TC_OK; i++)
            if (names.keys[i]) out->class_names[out->classes++] = names.keys[i], names.keys[i] = NULL;
    }
    if (st == TC_OK) {
        qsort(out->class_names, (size_t)out->classes, sizeof(char *), cmp_str);
        tc_strmap ids = {0};
        for (int c = 0; c < out->classes && st == TC_OK; c++)
            if (!tc_strmap_put(&ids, out->class_names[c], c, NULL)) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        int64_t k = 0;
        for (int64_t i = 0; i < l.n && st == TC_OK; i++)
            if (*l.line[i]) out->label[k++] = (int32_t)*tc_strmap_get(&ids, l.line[i]); /* the label, cut at the tab */
        tc_strmap_free(&ids);
    }
    tc_strmap_free(&names);
    tc_lines_free(&l);
    if (st != TC_OK) tc_text_corpus_free(out);
    return st;
}

/* "<br />" (the aclImdb reviews' line breaks) to spaces, in place. */
static void drop_br(char *s)
{
    for (char *p = s; (p = strstr(p, "<br />")) != NULL; p += 6) memset(p, ' ', 6);
}

static tc_status read_class_dir(const char *dir, int32_t label, tc_text_corpus *out, int64_t *cap)
{
    DIR *d = opendir(dir);
    if (!d) return tc_error(TC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int64_t n = 0, ncap = 0;
    tc_status st = TC_OK;
    struct dirent *e;
    while (st == TC_OK && (e = readdir(d)) != NULL) {
        size_t k = strlen(e->d_name);
        if (k > 4 && !strcmp(e->d_name + k - 4, ".txt")) st = tc_text_push(&names, &n, &ncap, tc_text_dup(e->d_name, k));
    }
    closedir(d);
    if (st == TC_OK && n == 0) st = tc_error(TC_ERR_FORMAT, "%s: no *.txt files (aclImdb layout: SPLIT/neg, SPLIT/pos)", dir);
    if (st == TC_OK) qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int64_t i = 0; i < n && st == TC_OK; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen), *text = NULL;
        size_t size;
        if (!path) {
            st = tc_error(TC_ERR_MEMORY, "%s: out of memory", dir);
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        st = tc_text_read_file(path, &text, &size);
        if (st == TC_OK) st = tc_text_check(path, text, size);
        free(path);
        if (st != TC_OK) {
            free(text);
            break;
        }
        drop_br(text);
        st = corpus_add(out, cap, text, label);
    }
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

tc_status tc_read_aclimdb(const char *dir, const char *split, tc_text_corpus *out)
{
    if (!out || !dir || !split) return tc_error(TC_ERR_ARG, "read_aclimdb: NULL argument");
    memset(out, 0, sizeof *out);
    static const char *const classes[] = {"neg", "pos"};
    int64_t cap = 0;
    tc_status st = TC_OK;
    for (int c = 0; c < 2 && st == TC_OK; c++) {
        size_t plen = strlen(dir) + strlen(split) + 8;
        char *path = malloc(plen);
        if (!path) return tc_error(TC_ERR_MEMORY, "read_aclimdb: out of memory");
        snprintf(path, plen, "%s/%s/%s", dir, split, classes[c]);
        st = read_class_dir(path, c, out, &cap);
        free(path);
    }
    if (st == TC_OK) {
        out->class_names = calloc(2, sizeof(char *));
        if (out->class_names) {
            out->classes = 2;
            out->class_names[0] = tc_text_dup("neg", 3);
            out->class_names[1] = tc_text_dup("pos", 3);
        }
        if (!out->class_names || !out->class_names[0] || !out->class_names[1])
            st = tc_error(TC_ERR_MEMORY, "read_aclimdb: out of memory");
    }
    if (st != TC_OK) tc_text_corpus_free(out);
    return st;
}

/* ---- Debian package lists ------------------------------------------------------------ */
typedef struct {
    char *desc;
    size_t len, cap;
    int section;      /* index in sections, -1: not wanted or none */
    bool in_desc;     /* continuation lines belong to Description */
} stanza;

static bool desc_append(stanza *s, const char *text, size_t n)
{
    while (n && (*text == ' ' || *text == '\t')) text++, n--;
    if (n == 1 && *text == '.') return true; /* an empty paragraph line */
    if (s->len + n + 2 > s->cap) {
        size_t nc = (s->len + n + 2) * 2;
        char *d = realloc(s->desc, nc);
        if (!d) return false;
        s->desc = d;
        s->cap = nc;
    }
    if (s->len) s->desc[s->len++] = ' ';
    memcpy(s->desc + s->len, text, n);
    s->len += n;
    s->desc[s->len] = '\0';
    return true;
}

tc_status tc_read_package_descriptions(FILE *f, const char *name, int n_sections, const char *const *sections,
                                       tc_text_corpus *out)
{
    if (!out || !f || !name || n_sections < 1 || !sections) return tc_error(TC_ERR_ARG, "read_package_descriptions: bad arguments");
    memset(out, 0, sizeof *out);
    tc_strmap seen = {0};
    stanza s = {0};
    s.section = -1;
    int64_t cap = 0, line_no = 0;
    tc_status st = TC_OK;
    char *line = NULL;
    size_t lcap = 0;
    bool any = false;
    for (;;) {
        ssize_t got = getline(&line, &lcap, f);
        bool end = got < 0;
        if (!end) {
            line_no++;
            any = true;
            size_t n = (size_t)got;
            if (memchr(line, '\0', n)) {
                st = tc_error(TC_ERR_FORMAT, "%s:%lld: NUL byte: not a package list", name, (long long)line_no);
                break;
            }
            if (tc_utf8_invalid_at(line, n) >= 0) {
                st = tc_error(TC_ERR_FORMAT, "%s:%lld: invalid UTF-8", name, (long long)line_no);
                break;
            }
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
            if (n > 0) {
                if (line[0] == ' ' || line[0] == '\t') {
                    if (s.in_desc && !desc_append(&s, line, n)) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", name);
                } else {
                    char *colon = strchr(line, ':');
                    if (!colon) {
                        st = tc_error(TC_ERR_FORMAT, "%s:%lld: not a 'Field: value' line of a package list", name,
                                      (long long)line_no);
                        break;
                    }
                    *colon = '\0';
                    const char *v = colon + 1;
                    while (*v == ' ' || *v == '\t') v++;
                    s.in_desc = !strcmp(line, "Description");
                    if (s.in_desc) {
                        s.len = 0;
                        if (!desc_append(&s, v, strlen(v))) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", name);
                    } else if (!strcmp(line, "Section")) {
                        const char *slash = strrchr(v, '/'); /* "contrib/utils" is utils */
                        if (slash) v = slash + 1;
                        s.section = -1;
                        for (int k = 0; k < n_sections; k++)
                            if (!strcmp(v, sections[k])) s.section = k;
                    }
                }
                if (st != TC_OK) break;
                continue;
            }
        }
        /* end of a stanza */
        if (s.section >= 0 && s.len > 0) {
            bool ins;
            if (!tc_strmap_put(&seen, s.desc, 0, &ins)) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", name);
            else if (ins) st = corpus_add(out, &cap, tc_text_dup(s.desc, s.len), s.section);
        }
        s.len = 0;
        s.section = -1;
        s.in_desc = false;
        if (end || st != TC_OK) break;
    }
    free(line);
    free(s.desc);
    tc_strmap_free(&seen);
    if (st == TC_OK && ferror(f)) st = tc_error(TC_ERR_IO, "%s: read error", name);
    if (st == TC_OK && !any) st = tc_error(TC_ERR_FORMAT, "%s: empty package list", name);
    if (st == TC_OK && out->n == 0) st = tc_error(TC_ERR_FORMAT, "%s: no package of the chosen sections", name);
    if (st == TC_OK) {
        out->class_names = calloc((size_t)n_sections, sizeof(char *));
        if (!out->class_names) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", name);
        for (int k = 0; k < n_sections && st == TC_OK; k++) {
            out->class_names[k] = tc_text_dup(sections[k], strlen(sections[k]));
            out->classes = k + 1;
            if (!out->class_names[k]) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", name);
        }
    }
    if (st != TC_OK) tc_text_corpus_free(out);
    return st;
}

/* ---- to a data set ---------------------------------------------------------------------- */
tc_status tc_vocab_count_corpus(tc_vocab *v, const tc_text_corpus *c)
{
    if (!v || !c) return tc_error(TC_ERR_ARG, "vocab_count_corpus: NULL argument");
    tc_status st = TC_OK;
    for (int64_t i = 0; i < c->n && st == TC_OK; i++) {
        tc_tokens t;
        if ((st = tc_tokenize(c->text[i], true, &t)) != TC_OK) break;
        for (int64_t k = 0; k < t.n && st == TC_OK; k++) st = tc_vocab_count(v, t.tok[k]);
        tc_tokens_free(&t);
    }
    return st;
}

tc_dataset *tc_text_dataset(const tc_text_corpus *c, const tc_vocab *v, int64_t maxlen, const tc_pad_opts *o)
{
    if (!c || !v || c->n < 1) {
        tc_error(TC_ERR_ARG, "text_dataset: empty corpus");
        return NULL;
    }
    tc_id_seqs s = {0};
    tc_dataset *d = NULL;
    s.ids = calloc((size_t)c->n, sizeof *s.ids);
    s.len = calloc((size_t)c->n, sizeof *s.len);
    tc_status st = s.ids && s.len ? TC_OK : tc_error(TC_ERR_MEMORY, "text_dataset: out of memory");
    for (int64_t i = 0; i < c->n && st == TC_OK; i++) {
        tc_tokens t;
        if ((st = tc_tokenize(c->text[i], true, &t)) != TC_OK) break;
        st = tc_encode_tokens(v, &t, &s.ids[i], &s.len[i]);
        s.n = i + 1;
        tc_tokens_free(&t);
    }
    if (st == TC_OK) {
        d = calloc(1, sizeof *d);
        if (d) {
            d->x = tc_pad_sequences(&s, maxlen, o);
            d->y = tc_tensor_new(TC_SHAPE(c->n));
            d->classes = c->classes;
        }
        if (!d || !d->x || !d->y) {
            if (d && d->x && !d->y) tc_error(TC_ERR_MEMORY, "text_dataset: out of memory");
            tc_dataset_free(d);
            d = NULL;
        } else {
            for (int64_t i = 0; i < c->n; i++) d->y->data[i] = (tc_scalar)c->label[i];
            d->class_names = calloc((size_t)c->classes, sizeof(char *));
            for (int k = 0; d->class_names && k < c->classes; k++)
                d->class_names[k] = tc_text_dup(c->class_names[k], strlen(c->class_names[k]));
        }
    }
    s.n = s.ids && s.len ? c->n : 0; /* free every row allocated (the rest are NULL) */
    tc_id_seqs_free(&s);
    return d;
}
