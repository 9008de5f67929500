/* Visual QA folders: answers.txt and questions.tsv read strictly (every
 * error names file:line), questions turned into word-vector sequences. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tensorcook/qa.h"

#define QA_MAX_FILE ((size_t)1 << 30)

void tc_qa_answers_free(int n, char **answers)
{
    for (int i = 0; i < n; i++) free(answers[i]);
    free(answers);
}

void tc_qa_set_free(tc_qa_set *s)
{
    if (!s) return;
    tc_qa_answers_free(s->n_answers, s->answers);
    for (int64_t i = 0; i < s->n_images; i++) free(s->images[i]);
    for (int64_t i = 0; i < s->n; i++) free(s->questions[i]);
    free(s->images);
    free(s->questions);
    free(s->image);
    free(s->answer);
    free(s);
}

/* Splits a whole file into lines in place (\n or \r\n); a NUL byte is an error. */
static tc_status file_lines(const char *path, unsigned char **data, int64_t *n, char ***lines)
{
    size_t size;
    if (tc_read_file(path, QA_MAX_FILE, data, &size) != TC_OK) return tc_last_status();
    if (memchr(*data, 0, size)) {
        free(*data);
        return tc_error(TC_ERR_FORMAT, "%s: not a text file (NUL byte)", path);
    }
    int64_t cap = 1;
    for (size_t i = 0; i < size; i++) cap += (*data)[i] == '\n';
    char **l = malloc((size_t)cap * sizeof *l);
    int64_t k = 0;
    char *s = (char *)*data, *end = s + size;
    while (s < end) {
        char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e) e = end;
        if (e > s && e[-1] == '\r') e[-1] = 0;
        *e = 0;
        l[k++] = s;
        s = e + 1;
    }
    *n = k;
    *lines = l;
    return TC_OK;
}

tc_status tc_qa_answers_load(const char *path, int *n, char ***answers)
{
    unsigned char *data;
    char **lines;
    int64_t nl;
    if (file_lines(path, &data, &nl, &lines) != TC_OK) return tc_last_status();
    tc_status st = TC_OK;
    if (nl == 0) st = tc_error(TC_ERR_FORMAT, "%s: no answers", path);
    for (int64_t i = 0; i < nl && st == TC_OK; i++) {
        const char *p = lines[i];
        while (isspace((unsigned char)*p)) p++;
        if (!*p) st = tc_error(TC_ERR_FORMAT, "%s:%lld: empty answer", path, (long long)i + 1);
        else if (strchr(lines[i], '\t')) st = tc_error(TC_ERR_FORMAT, "%s:%lld: a tab inside an answer", path, (long long)i + 1);
    }
    if (st == TC_OK && nl > 1000000) st = tc_error(TC_ERR_FORMAT, "%s: more than 1000000 answers", path);
    if (st == TC_OK) {
        *answers = malloc((size_t)nl * sizeof **answers);
        for (int64_t i = 0; i < nl; i++) (*answers)[i] = strdup(lines[i]);
        *n = (int)nl;
    }
    free(lines);
    free(data);
    return st;
}

static int find_str(char **list, int64_t n, const char *s)
{
    for (int64_t i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return (int)i;
    return -1;
}

tc_qa_set *tc_qa_set_load(const char *dir)
{
    char path[4200];
    tc_qa_set *s = calloc(1, sizeof *s);
    snprintf(path, sizeof path, "%s/answers.txt", dir);
    if (tc_qa_answers_load(path, &s->n_answers, &s->answers) != TC_OK) {
        free(s);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/questions.tsv", dir);
    unsigned char *data;
    char **lines;
    int64_t nl;
    if (file_lines(path, &data, &nl, &lines) != TC_OK) {
        tc_qa_set_free(s);
        return NULL;
    }
    s->questions = malloc((size_t)(nl + 1) * sizeof(char *));
    s->image = malloc((size_t)(nl + 1) * sizeof(int64_t));
    s->answer = malloc((size_t)(nl + 1) * sizeof(int));
    s->images = malloc((size_t)(nl + 1) * sizeof(char *));
    bool ok = true;
    for (int64_t i = 0; i < nl && ok; i++) {
        char *img = lines[i], *q = strchr(img, '\t'), *a = q ? strchr(q + 1, '\t') : NULL;
        if (!q || !a || strchr(a + 1, '\t') || q == img || a == q + 1) {
            tc_error(TC_ERR_FORMAT, "%s:%lld: expected IMAGE<TAB>QUESTION<TAB>ANSWER", path, (long long)i + 1);
            ok = false;
            break;
        }
        *q++ = 0;
        *a++ = 0;
        int ans = find_str(s->answers, s->n_answers, a);
        if (ans < 0) {
            tc_error(TC_ERR_FORMAT, "%s:%lld: answer '%s' is not in answers.txt", path, (long long)i + 1, a);
            ok = false;
            break;
        }
        char full[4400];
        snprintf(full, sizeof full, "%s/%s", dir, img);
        /* images are few and reused: look back from the newest */
        int64_t k = s->n_images - 1;
        while (k >= 0 && strcmp(s->images[k], full)) k--;
        if (k < 0) {
            k = s->n_images;
            s->images[s->n_images++] = strdup(full);
        }
        s->questions[s->n] = strdup(q);
        s->image[s->n] = k;
        s->answer[s->n++] = ans;
    }
    if (ok && s->n == 0) {
        tc_error(TC_ERR_FORMAT, "%s: no questions", path);
        ok = false;
    }
    free(lines);
    free(data);
    if (!ok) {
        tc_qa_set_free(s);
        return NULL;
    }
    return s;
}

int tc_question_tokens(const char *text, int max, char **tokens)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n < max) {
        while (*p && !(isalnum(*p) || *p == '\'' || *p >= 0x80)) p++;
        if (!*p) break;
        const unsigned char *b = p;
        while (*p && (isalnum(*p) || *p == '\'' || *p >= 0x80)) p++;
        char *t = malloc((size_t)(p - b) + 1);
        for (const unsigned char *c = b; c < p; c++) t[c - b] = (char)tolower(*c);
        t[p - b] = 0;
        tokens[n++] = t;
    }
    return n;
}

tc_status tc_question_vectors(const tc_word_vectors *wv, const char *text, int max_words, bool pre_pad, tc_scalar *out,
                              int *unknown)
{
    if (!wv || !text || !out || max_words < 1) return tc_error(TC_ERR_ARG, "question_vectors: needs vectors, a question and max_words >= 1");
    char **tok = malloc((size_t)max_words * sizeof *tok);
    int n = tc_question_tokens(text, max_words, tok), unk = 0;
    memset(out, 0, sizeof(tc_scalar) * (size_t)max_words * (size_t)wv->dim);
    int first = pre_pad ? max_words - n : 0;
    for (int t = 0; t < n; t++) {
        int64_t k = tc_word_vectors_find(wv, tok[t]);
        if (k < 0) unk++;
        size_t row = (size_t)(first + t) * (size_t)wv->dim;
        for (int d = 0; k >= 0 && d < wv->dim; d++) out[row + (size_t)d] = (tc_scalar)wv->vec[k * wv->dim + d];
        free(tok[t]);
    }
    free(tok);
    if (unknown) *unknown = unk;
    return TC_OK;
}

static tc_status table_of(int64_t n, const char *const *words, int dim, tc_word_vectors *out)
{
    if (n < 0 || dim < 1 || (n > 0 && !words)) return tc_error(TC_ERR_ARG, "word_vectors: needs n >= 0 words and dim >= 1");
    out->n = n;
    out->dim = dim;
    out->word = malloc((size_t)(n ? n : 1) * sizeof(char *));
    out->vec = calloc((size_t)(n ? n : 1) * (size_t)dim, sizeof(float));
    for (int64_t i = 0; i < n; i++) out->word[i] = strdup(words[i]);
    return TC_OK;
}

tc_status tc_word_vectors_random(int64_t n, const char *const *words, int dim, uint64_t seed, tc_word_vectors *out)
{
    if (table_of(n, words, dim, out) != TC_OK) return tc_last_status();
    tc_rng r = tc_rng_new(seed);
    tc_scalar v[256];
    for (int64_t i = 0; i < n * dim; i += 256) {
        int64_t m = n * dim - i < 256 ? n * dim - i : 256;
        tc_rng_normal(&r, v, m, 0, (tc_scalar)0.4);
        for (int64_t k = 0; k < m; k++) out->vec[i + k] = (float)v[k];
    }
    return TC_OK;
}

tc_status tc_word_vectors_subset(const tc_word_vectors *wv, int64_t n, const char *const *words, tc_word_vectors *out,
                                 int64_t *unknown)
{
    if (!wv || table_of(n, words, wv ? wv->dim : 0, out) != TC_OK) return tc_last_status();
    int64_t unk = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = tc_word_vectors_find(wv, words[i]);
        if (k < 0) unk++;
        else memcpy(out->vec + i * wv->dim, wv->vec + k * wv->dim, sizeof(float) * (size_t)wv->dim);
    }
    if (unknown) *unknown = unk;
    return TC_OK;
}
