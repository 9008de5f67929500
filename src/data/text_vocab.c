/* Vocabularies: a string map from tokens to ids, built from counts or read
 * from a tensorflow/nmt vocab file. */
#include "text_internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t tc_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int64_t slot_of(const tc_strmap *m, const char *key)
{
    uint64_t mask = (uint64_t)m->cap - 1, i = tc_str_hash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & mask;
    return (int64_t)i;
}

static bool grow(tc_strmap *m)
{
    int64_t nc = m->cap ? m->cap * 2 : 64;
    tc_strmap g = {calloc((size_t)nc, sizeof(char *)), calloc((size_t)nc, sizeof(int64_t)), nc, m->n};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return false;
    }
    for (int64_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            int64_t s = slot_of(&g, m->keys[i]);
            g.keys[s] = m->keys[i];
            g.vals[s] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = g;
    return true;
}

int64_t *tc_strmap_put(tc_strmap *m, const char *key, int64_t init, bool *inserted)
{
    if (inserted) *inserted = false;
    if ((m->n + 1) * 2 > m->cap && !grow(m)) return NULL;
    int64_t s = slot_of(m, key);
    if (!m->keys[s]) {
        if (!(m->keys[s] = tc_text_dup(key, strlen(key)))) return NULL;
        m->vals[s] = init;
        m->n++;
        if (inserted) *inserted = true;
    }
    return &m->vals[s];
}

const int64_t *tc_strmap_get(const tc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    int64_t s = slot_of(m, key);
    return m->keys[s] ? &m->vals[s] : NULL;
}

void tc_strmap_free(tc_strmap *m)
{
    for (int64_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

struct tc_vocab {
    tc_strmap ids;      /* token -> id (while counting: token -> count) */
    char **tokens;      /* id -> token */
    int64_t n, cap;
    int n_specials;
    int64_t unk_id;
    bool counting;      /* tc_vocab_finish not yet called */
};

tc_vocab *tc_vocab_new(int n_specials, const char *const *specials, int64_t unk_id)
{
    if (n_specials < 0 || (n_specials && !specials) || unk_id >= n_specials) {
        tc_error(TC_ERR_ARG, "vocab: unknown id %lld must be one of the %d special tokens (or -1)", (long long)unk_id,
                 n_specials);
        return NULL;
    }
    tc_vocab *v = calloc(1, sizeof *v);
    if (!v) {
        tc_error(TC_ERR_MEMORY, "vocab: out of memory");
        return NULL;
    }
    v->n_specials = n_specials;
    v->unk_id = unk_id < 0 ? -1 : unk_id;
    v->counting = true;
    for (int i = 0; i < n_specials; i++) {
        bool ins;
        if (!specials[i] || !*specials[i]) {
            tc_error(TC_ERR_ARG, "vocab: special token %d is empty", i);
            tc_vocab_free(v);
            return NULL;
        }
        if (tc_text_push(&v->tokens, &v->n, &v->cap, tc_text_dup(specials[i], strlen(specials[i]))) != TC_OK ||
            !tc_strmap_put(&v->ids, specials[i], -1, &ins)) {
            tc_vocab_free(v);
            tc_error(TC_ERR_MEMORY, "vocab: out of memory");
            return NULL;
        }
        if (!ins) {
            tc_error(TC_ERR_ARG, "vocab: special token '%s' given twice", specials[i]);
            tc_vocab_free(v);
            return NULL;
        }
    }
    return v;
}

tc_status tc_vocab_count(tc_vocab *v, const char *token)
{
    if (!v || !token) return tc_error(TC_ERR_ARG, "vocab_count: NULL argument");
    if (!v->counting) return tc_error(TC_ERR_STATE, "vocab_count: the vocabulary is finished");
    int64_t *c = tc_strmap_put(&v->ids, token, 0, NULL);
    if (!c) return tc_error(TC_ERR_MEMORY, "vocab_count: out of memory");
    if (*c >= 0) (*c)++; /* specials hold -1 and stay */
    return TC_OK;
}

typedef struct {
    const char *tok;
    int64_t count;
} entry;

static int by_count(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->tok, y->tok);
}

tc_status tc_vocab_finish(tc_vocab *v, int64_t max_size, int64_t min_count)
{
    if (!v) return tc_error(TC_ERR_ARG, "vocab_finish: NULL vocabulary");
    if (!v->counting) return tc_error(TC_ERR_STATE, "vocab_finish: called twice");
    if (max_size < 0 || min_count < 0) return tc_error(TC_ERR_ARG, "vocab_finish: negative size or count");
    if (min_count < 1) min_count = 1;
    entry *e = malloc(sizeof *e * (size_t)(v->ids.n + 1));
    if (!e) return tc_error(TC_ERR_MEMORY, "vocab_finish: out of memory");
    int64_t k = 0;
    for (int64_t i = 0; i < v->ids.cap; i++)
        if (v->ids.keys[i] && v->ids.vals[i] >= min_count) e[k++] = (entry){v->ids.keys[i], v->ids.vals[i]};
    qsort(e, (size_t)k, sizeof *e, by_count);
    if (max_size > 0 && k > max_size - v->n_specials) k = max_size > v->n_specials ? max_size - v->n_specials : 0;
    tc_status st = TC_OK;
    for (int64_t i = 0; i < k && st == TC_OK; i++) st = tc_text_push(&v->tokens, &v->n, &v->cap, tc_text_dup(e[i].tok, strlen(e[i].tok)));
    free(e);
    if (st != TC_OK) return st;
    tc_strmap_free(&v->ids);
    for (int64_t i = 0; i < v->n; i++) {
        int64_t *id = tc_strmap_put(&v->ids, v->tokens[i], i, NULL);
        if (!id) return tc_error(TC_ERR_MEMORY, "vocab_finish: out of memory");
    }
    v->counting = false;
    return TC_OK;
}

tc_vocab *tc_vocab_load(const char *path)
{
    tc_lines l;
    if (tc_read_lines(path, &l) != TC_OK) return NULL;
    static const char *const specials[] = {TC_UNK, TC_SOS, TC_EOS};
    for (int i = 0; i < 3; i++)
        if (l.n <= i || strcmp(l.line[i], specials[i])) {
            tc_error(TC_ERR_FORMAT, "%s:%d: a vocabulary file starts with <unk>, <s>, </s> (one a line); line %d is '%.40s'",
                     path, i + 1, i + 1, l.n > i ? l.line[i] : "(end of file)");
            tc_lines_free(&l);
            return NULL;
        }
    tc_vocab *v = tc_vocab_new(0, NULL, -1);
    if (!v) {
        tc_lines_free(&l);
        return NULL;
    }
    v->counting = false;
    v->unk_id = 0;
    v->n_specials = 3;
    for (int64_t i = 0; i < l.n; i++) {
        const char *t = l.line[i];
        bool ins = false;
        int64_t *id = NULL;
        if (!*t || strpbrk(t, " \t")) {
            tc_error(TC_ERR_FORMAT, "%s:%lld: %s", path, (long long)i + 1,
                     *t ? "a token with white space" : "empty line (one token a line)");
        } else if (!(id = tc_strmap_put(&v->ids, t, v->n, &ins))) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        } else if (!ins) {
            tc_error(TC_ERR_FORMAT, "%s:%lld: token '%.40s' repeats line %lld", path, (long long)i + 1, t, (long long)*id + 1);
        } else if (tc_text_push(&v->tokens, &v->n, &v->cap, l.line[i]) == TC_OK) {
            l.line[i] = NULL;
            continue;
        }
        tc_lines_free(&l);
        tc_vocab_free(v);
        return NULL;
    }
    tc_lines_free(&l);
    return v;
}

tc_status tc_vocab_save(const tc_vocab *v, const char *path)
{
    if (!v || !path || v->counting) return tc_error(TC_ERR_ARG, "vocab_save: no finished vocabulary");
    size_t size = 0;
    for (int64_t i = 0; i < v->n; i++) size += strlen(v->tokens[i]) + 1;
    char *buf = malloc(size + 1), *p = buf;
    if (!buf) return tc_error(TC_ERR_MEMORY, "vocab_save: out of memory");
    for (int64_t i = 0; i < v->n; i++) {
        size_t k = strlen(v->tokens[i]);
        memcpy(p, v->tokens[i], k);
        p[k] = '\n';
        p += k + 1;
    }
    tc_status st = tc_write_file_atomic(path, buf, size);
    free(buf);
    return st;
}

int64_t tc_vocab_size(const tc_vocab *v) { return v ? v->n : 0; }

int64_t tc_vocab_id(const tc_vocab *v, const char *token)
{
    if (!v || !token || v->counting) return -1;
    const int64_t *id = tc_strmap_get(&v->ids, token);
    return id ? *id : v->unk_id;
}

bool tc_vocab_contains(const tc_vocab *v, const char *token)
{
    return v && token && !v->counting && tc_strmap_get(&v->ids, token) != NULL;
}

const char *tc_vocab_token(const tc_vocab *v, int64_t id) { return v && id >= 0 && id < v->n ? v->tokens[id] : NULL; }

void tc_vocab_free(tc_vocab *v)
{
    if (!v) return;
    tc_strmap_free(&v->ids);
    for (int64_t i = 0; i < v->n; i++) free(v->tokens[i]);
    free(v->tokens);
    free(v);
}
