/* Text basics: strict UTF-8 validation, reading a file as lines, the
 * tokenizer. */
#include "text_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int64_t tc_utf8_invalid_at(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
        else return (int64_t)i; /* continuation byte, overlong lead C0/C1, or F5.. */
        if (i + len > n) return (int64_t)i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return (int64_t)i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return (int64_t)i;
        i += len;
    }
    return -1;
}

tc_status tc_text_read_file(const char *path, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = cap > ((size_t)1 << 40) ? NULL : realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf) return tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    if (err) {
        free(buf);
        return tc_error(TC_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return TC_OK;
}

/* Line number (1-based) of byte offset off. */
static int64_t line_of(const char *s, int64_t off)
{
    int64_t line = 1;
    for (int64_t i = 0; i < off; i++) line += s[i] == '\n';
    return line;
}

tc_status tc_text_check(const char *path, const char *s, size_t n)
{
    if (n == 0) return tc_error(TC_ERR_FORMAT, "%s: empty file", path);
    const char *nul = memchr(s, '\0', n);
    if (nul) return tc_error(TC_ERR_FORMAT, "%s:%lld: NUL byte: not a text file", path, (long long)line_of(s, nul - s));
    int64_t bad = tc_utf8_invalid_at(s, n);
    if (bad >= 0)
        return tc_error(TC_ERR_FORMAT, "%s:%lld: invalid UTF-8 (byte 0x%02x at offset %lld)", path,
                        (long long)line_of(s, bad), (unsigned)(unsigned char)s[bad], (long long)bad);
    return TC_OK;
}

tc_status tc_text_push(char ***items, int64_t *n, int64_t *cap, char *item)
{
    if (!item) return tc_error(TC_ERR_MEMORY, "text: out of memory");
    if (*n == *cap) {
        int64_t nc = *cap ? *cap * 2 : 16;
        char **ni = realloc(*items, sizeof *ni * (size_t)nc);
        if (!ni) {
            free(item);
            return tc_error(TC_ERR_MEMORY, "text: out of memory");
        }
        *items = ni;
        *cap = nc;
    }
    (*items)[(*n)++] = item;
    return TC_OK;
}

char *tc_text_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

tc_status tc_read_lines(const char *path, tc_lines *out)
{
    if (!out || !path) return tc_error(TC_ERR_ARG, "read_lines: NULL argument");
    memset(out, 0, sizeof *out);
    char *s;
    size_t n;
    tc_status st = tc_text_read_file(path, &s, &n);
    if (st != TC_OK) return st;
    if ((st = tc_text_check(path, s, n)) != TC_OK) {
        free(s);
        return st;
    }
    int64_t cap = 0;
    size_t i = 0;
    while (i < n && st == TC_OK) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n, len = end - i;
        if (len > 0 && s[i + len - 1] == '\r') len--;
        st = tc_text_push(&out->line, &out->n, &cap, tc_text_dup(s + i, len));
        i = end + 1;
    }
    free(s);
    if (st != TC_OK) tc_lines_free(out);
    return st;
}

void tc_lines_free(tc_lines *l)
{
    if (!l) return;
    for (int64_t i = 0; i < l->n; i++) free(l->line[i]);
    free(l->line);
    l->line = NULL;
    l->n = 0;
}

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_punct(unsigned char c)
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

static tc_status split(const char *text, bool lower, bool punct, tc_tokens *out)
{
    if (!out || !text) return tc_error(TC_ERR_ARG, "tokenize: NULL argument");
    memset(out, 0, sizeof *out);
    int64_t cap = 0;
    const unsigned char *s = (const unsigned char *)text;
    tc_status st = TC_OK;
    size_t i = 0;
    while (s[i] && st == TC_OK) {
        if (is_space(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (punct && is_punct(s[i])) j = i + 1;
        else
            while (s[j] && !is_space(s[j]) && !(punct && is_punct(s[j]))) j++;
        char *t = tc_text_dup(text + i, j - i);
        if (t && lower)
            for (char *c = t; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        st = tc_text_push(&out->tok, &out->n, &cap, t);
        i = j;
    }
    if (st != TC_OK) tc_tokens_free(out);
    return st;
}

tc_status tc_tokenize(const char *text, bool lower, tc_tokens *out) { return split(text, lower, true, out); }
tc_status tc_split_spaces(const char *text, tc_tokens *out) { return split(text, false, false, out); }

void tc_tokens_free(tc_tokens *t)
{
    if (!t) return;
    for (int64_t i = 0; i < t->n; i++) free(t->tok[i]);
    free(t->tok);
    t->tok = NULL;
    t->n = 0;
}
