/* Characters as the char-RNN reads them: UTF-8 text decoded to code points,
 * a vocabulary of the distinct characters, and the sequences of seq_len ids
 * taken every `step` characters, each labelled with the next character. */
#include "../core/internal.h"
#include "tensorcook/data.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

tc_status tc_utf8_decode(const char *what, const unsigned char *s, size_t n, uint32_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    uint32_t *cp = malloc(sizeof(uint32_t) * (n + 1));
    if (!cp) return tc_error(TC_ERR_MEMORY, "%s: out of memory decoding %zu bytes", what, n);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t v = len == 1 ? c : len == 2 ? c & 31 : len == 3 ? c & 15 : c & 7;
        bool ok = len && i + (size_t)len <= n;
        for (int j = 1; ok && j < len; j++) {
            ok = (s[i + j] & 0xC0) == 0x80;
            v = v << 6 | (s[i + j] & 63);
        }
        /* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
        if (ok && ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
                   (v >= 0xD800 && v <= 0xDFFF)))
            ok = false;
        if (!ok) {
            free(cp);
            return tc_error(TC_ERR_FORMAT, "%s: not UTF-8 (invalid byte sequence at byte %zu)", what, i);
        }
        cp[k++] = v;
        i += (size_t)len;
    }
    *out = cp;
    *count = k;
    return TC_OK;
}

int tc_utf8_encode(uint32_t v, char out[4])
{
    if (v < 0x80) return out[0] = (char)v, 1;
    if (v < 0x800) return out[0] = (char)(0xC0 | v >> 6), out[1] = (char)(0x80 | (v & 63)), 2;
    if (v < 0x10000)
        return out[0] = (char)(0xE0 | v >> 12), out[1] = (char)(0x80 | ((v >> 6) & 63)), out[2] = (char)(0x80 | (v & 63)), 3;
    out[0] = (char)(0xF0 | v >> 18), out[1] = (char)(0x80 | ((v >> 12) & 63));
    out[2] = (char)(0x80 | ((v >> 6) & 63)), out[3] = (char)(0x80 | (v & 63));
    return 4;
}

tc_status tc_load_utf8_text(const char *path, uint32_t **cp, size_t *count)
{
    *cp = NULL;
    *count = 0;
    unsigned char *raw;
    size_t n;
    if (tc_read_file(path, 0, &raw, &n) != TC_OK) return tc_last_status();
    tc_status s = tc_utf8_decode(path, raw, n, cp, count);
    free(raw);
    return s;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

tc_status tc_load_utf8_folder(const char *dir, uint32_t **cp, size_t *count)
{
    *cp = NULL;
    *count = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) return tc_error(TC_ERR_IO, "%s: cannot read: %s", dir ? dir : "(NULL)", strerror(errno));
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    tc_status s = TC_OK;
    for (struct dirent *e; s == TC_OK && (e = readdir(d));) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || (dot && (!strcmp(dot, ".dat") || !strcmp(dot, ".u8")))) continue;
        if (n_names == cap) {
            char **g = realloc(names, sizeof *names * (cap = cap ? cap * 2 : 64));
            if (!g) s = tc_error(TC_ERR_MEMORY, "%s: out of memory", dir);
            else names = g;
        }
        if (s == TC_OK && !(names[n_names++] = strdup(e->d_name))) s = tc_error(TC_ERR_MEMORY, "%s: out of memory", dir);
    }
    closedir(d);
    if (s == TC_OK && n_names) qsort(names, n_names, sizeof *names, by_name); /* a fixed order, whatever the folder's */
    uint32_t *all = NULL;
    size_t total = 0;
    for (size_t i = 0; s == TC_OK && i < n_names; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            s = tc_error(TC_ERR_MEMORY, "%s: out of memory", dir);
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        uint32_t *t;
        size_t cnt;
        /* a file that cannot be read or is not UTF-8 (a binary, another encoding) is left out */
        if (tc_load_utf8_text(path, &t, &cnt) == TC_OK) {
            uint32_t *g = realloc(all, sizeof(uint32_t) * (total + cnt + 1));
            if (!g) s = tc_error(TC_ERR_MEMORY, "%s: out of memory", dir);
            else {
                all = g;
                memcpy(all + total, t, sizeof(uint32_t) * cnt);
                total += cnt;
            }
            free(t);
        }
        free(path);
    }
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    if (s == TC_OK && !all) s = tc_error(TC_ERR_FORMAT, "%s: no UTF-8 text file in it", dir);
    if (s != TC_OK) {
        free(all);
        return s;
    }
    *cp = all;
    *count = total;
    return TC_OK;
}

static int by_code(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

tc_char_vocab *tc_char_vocab_of_text(const uint32_t *cp, size_t n)
{
    if (!cp && n) return tc_error(TC_ERR_ARG, "char_vocab: NULL text"), NULL;
    tc_char_vocab *v = calloc(1, sizeof *v);
    uint32_t *sorted = malloc(sizeof(uint32_t) * (n + 1));
    if (!v || !sorted) {
        free(v), free(sorted);
        return tc_error(TC_ERR_MEMORY, "char_vocab: out of memory"), NULL;
    }
    if (n) memcpy(sorted, cp, sizeof(uint32_t) * n);
    qsort(sorted, n, sizeof(uint32_t), by_code);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || sorted[k - 1] != sorted[i]) sorted[k++] = sorted[i];
    v->size = (int)k;
    v->chars = sorted;
    return v;
}

tc_char_vocab *tc_char_vocab_new(int size, const uint32_t *chars)
{
    if (size < 1 || !chars) return tc_error(TC_ERR_ARG, "char_vocab: needs at least one character"), NULL;
    for (int i = 0; i < size; i++)
        if (chars[i] > 0x10FFFF || (i && chars[i] <= chars[i - 1]))
            return tc_error(TC_ERR_FORMAT, "char_vocab: entry %d (%u) is not a code point in ascending order", i, (unsigned)chars[i]),
                   NULL;
    tc_char_vocab *v = calloc(1, sizeof *v);
    if (v) v->chars = malloc(sizeof(uint32_t) * (size_t)size);
    if (!v || !v->chars) {
        free(v);
        return tc_error(TC_ERR_MEMORY, "char_vocab: out of memory"), NULL;
    }
    memcpy(v->chars, chars, sizeof(uint32_t) * (size_t)size);
    v->size = size;
    return v;
}

int64_t tc_char_vocab_id(const tc_char_vocab *v, uint32_t c)
{
    int lo = 0, hi = v ? v->size - 1 : -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->chars[mid] == c) return mid;
        if (v->chars[mid] < c) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

bool tc_char_vocab_equal(const tc_char_vocab *a, const tc_char_vocab *b)
{
    return a && b && a->size == b->size && !memcmp(a->chars, b->chars, sizeof(uint32_t) * (size_t)a->size);
}

void tc_char_vocab_free(tc_char_vocab *v)
{
    if (!v) return;
    free(v->chars);
    free(v);
}

static tc_dataset *sequence_set(int64_t n, int seq_len, int classes)
{
    tc_dataset *d = calloc(1, sizeof *d);
    if (!d) return tc_error(TC_ERR_MEMORY, "char_sequences: out of memory"), NULL;
    d->x = tc_tensor_new(TC_SHAPE(n, seq_len));
    d->y = d->x ? tc_tensor_new(TC_SHAPE(n)) : NULL;
    d->classes = classes;
    if (!d->y) {
        tc_dataset_free(d);
        return NULL;
    }
    return d;
}

tc_status tc_char_sequences(const uint32_t *cp, size_t n, const tc_char_vocab *v, int seq_len, int step,
                            double val_fraction, tc_dataset **train, tc_dataset **val)
{
    if (train) *train = NULL;
    if (val) *val = NULL;
    if ((!cp && n) || !v || !train || !val || seq_len < 1 || step < 1 || !(val_fraction >= 0 && val_fraction < 1))
        return tc_error(TC_ERR_ARG, "char_sequences: needs text, a vocabulary, seq_len and step >= 1, val_fraction in [0, 1)");
    if (n < (size_t)seq_len + 1)
        return tc_error(TC_ERR_ARG, "%zu characters; need at least %d for one sequence", n, seq_len + 1);
    int64_t nseq = (int64_t)((n - (size_t)seq_len - 1) / (size_t)step) + 1;
    int64_t nval = (int64_t)((double)nseq * val_fraction), ntrain = nseq - nval;
    if (ntrain < 1) return tc_error(TC_ERR_ARG, "the text gives %lld sequences; too few to train", (long long)nseq);
    tc_dataset *t = sequence_set(ntrain, seq_len, v->size), *w = nval > 0 && t ? sequence_set(nval, seq_len, v->size) : NULL;
    if (!t || (nval > 0 && !w)) {
        tc_dataset_free(t);
        return tc_last_status();
    }
    for (int64_t s = 0; s < nseq; s++) {
        tc_dataset *d = s < ntrain ? t : w;
        int64_t row = s < ntrain ? s : s - ntrain;
        for (int k = 0; k <= seq_len; k++) {
            size_t at = (size_t)s * (size_t)step + (size_t)k;
            int64_t id = tc_char_vocab_id(v, cp[at]);
            if (id < 0) {
                tc_dataset_free(t);
                tc_dataset_free(w);
                return tc_error(TC_ERR_ARG, "char_sequences: character U+%04X at %zu is not in the vocabulary", (unsigned)cp[at], at);
            }
            if (k < seq_len) d->x->data[row * seq_len + k] = (tc_scalar)id;
            else d->y->data[row] = (tc_scalar)id;
        }
    }
    *train = t;
    *val = w;
    return TC_OK;
}
