/* GloVe / word2vec text word vectors: a strict line reader. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensorcook/word_vectors.h"

#define TC_WV_MAX_DIM 100000

void tc_word_vectors_free(tc_word_vectors *wv)
{
    if (!wv) return;
    for (int64_t i = 0; i < wv->n; i++) free(wv->word[i]);
    free(wv->word);
    free(wv->vec);
    memset(wv, 0, sizeof *wv);
}

int64_t tc_word_vectors_find(const tc_word_vectors *wv, const char *word)
{
    for (int64_t i = 0; i < wv->n; i++)
        if (strcmp(wv->word[i], word) == 0) return i;
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Count the space-separated fields of [s, e). */
static int count_fields(const char *s, const char *e)
{
    int n = 0;
    while (s < e) {
        while (s < e && is_space(*s)) s++;
        if (s >= e) break;
        n++;
        while (s < e && !is_space(*s)) s++;
    }
    return n;
}

/* A word2vec header is exactly two positive integers. */
static int parse_header(const char *s, const char *e, long long *count, long long *dim)
{
    if (count_fields(s, e) != 2) return 0;
    char buf[64];
    size_t len = (size_t)(e - s);
    if (len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *p = buf, *q;
    errno = 0;
    *count = strtoll(p, &q, 10);
    if (q == p || errno) return 0;
    p = q;
    *dim = strtoll(p, &q, 10);
    if (q == p || errno) return 0;
    while (is_space(*q)) q++;
    return *q == 0 && *count > 0 && *dim > 0;
}

tc_status tc_word_vectors_read(const char *path, int64_t max_words, tc_word_vectors *out)
{
    if (!path || !out) return tc_error(TC_ERR_ARG, "tc_word_vectors_read: null argument");
    memset(out, 0, sizeof *out);
    unsigned char *data;
    size_t size;
    tc_status st = tc_read_file(path, 0, &data, &size);
    if (st) return st;
    if (size == 0) {
        free(data);
        return tc_error(TC_ERR_FORMAT, "%s: empty word-vector file", path);
    }
    tc_word_vectors wv = {0};
    int64_t cap = 0;
    const char *p = (const char *)data, *end = p + size;
    long long line = 0;
    int dim = 0;
    while (p < end && (max_words <= 0 || wv.n < max_words)) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        line++;
        if (memchr(p, 0, (size_t)(e - p))) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: NUL byte", path, line);
            goto fail;
        }
        int fields = count_fields(p, e);
        if (fields == 0) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: empty line", path, line);
            goto fail;
        }
        long long hc, hd;
        if (line == 1 && parse_header(p, e, &hc, &hd)) {
            if (hd > TC_WV_MAX_DIM) {
                st = tc_error(TC_ERR_FORMAT, "%s:1: dimension %lld is too large", path, hd);
                goto fail;
            }
            dim = (int)hd;
            p = e + (e < end);
            continue;
        }
        if (fields < 2) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: a word without a vector", path, line);
            goto fail;
        }
        if (fields - 1 > TC_WV_MAX_DIM) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: %d values is too many", path, line, fields - 1);
            goto fail;
        }
        if (dim == 0) dim = fields - 1;
        if (fields - 1 != dim) {
            st = tc_error(TC_ERR_FORMAT, "%s:%lld: %d values where every vector has %d", path,
                          line, fields - 1, dim);
            goto fail;
        }
        if (wv.n == cap) {
            int64_t nc = cap ? cap * 2 : 1024;
            char **nw = realloc(wv.word, (size_t)nc * sizeof *nw);
            if (!nw) { st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path); goto fail; }
            wv.word = nw;
            float *nv = realloc(wv.vec, (size_t)nc * (size_t)dim * sizeof *nv);
            if (!nv) { st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path); goto fail; }
            wv.vec = nv;
            cap = nc;
        }
        const char *s = p;
        while (is_space(*s)) s++;
        const char *w = s;
        while (s < e && !is_space(*s)) s++;
        char *word = malloc((size_t)(s - w) + 1);
        if (!word) { st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path); goto fail; }
        memcpy(word, w, (size_t)(s - w));
        word[s - w] = 0;
        float *v = wv.vec + wv.n * dim;
        for (int k = 0; k < dim; k++) {
            while (s < e && is_space(*s)) s++;
            char num[64];
            const char *t = s;
            while (s < e && !is_space(*s)) s++;
            size_t len = (size_t)(s - t);
            char *q;
            if (len >= sizeof num) q = num;
            else {
                memcpy(num, t, len);
                num[len] = 0;
                errno = 0;
                v[k] = strtof(num, &q);
            }
            if (len >= sizeof num || q != num + len || len == 0 || !isfinite(v[k])) {
                free(word);
                st = tc_error(TC_ERR_FORMAT, "%s:%lld: value %d is not a finite number", path,
                              line, k + 1);
                goto fail;
            }
        }
        wv.word[wv.n++] = word;
        p = e + (e < end);
    }
    if (wv.n == 0) {
        st = tc_error(TC_ERR_FORMAT, "%s: no word vectors", path);
        goto fail;
    }
    wv.dim = dim;
    free(data);
    *out = wv;
    return TC_OK;
fail:
    free(data);
    tc_word_vectors_free(&wv);
    return st;
}
