/* gettext .mo catalogs as a parallel corpus (English msgid -> translation).
 *
 * The format (GNU gettext manual, "The Format of GNU MO Files"): a header
 * of 32-bit words in the writer's byte order, told by the magic 0x950412de
 * (read swapped: 0xde120495): magic, revision, N, offset of the original
 * strings' table, offset of the translations' table, hash size and offset.
 * Each table holds N (length, offset) pairs; strings are NUL-terminated,
 * a plural msgid is "singular\0plural", its msgstr "form0\0form1\0...", a
 * context is "ctx\x04" before the msgid. */
#include "text_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tc_parallel_free(tc_parallel *p)
{
    if (!p) return;
    for (int64_t i = 0; i < p->n; i++) {
        free(p->src[i]);
        free(p->tgt[i]);
    }
    free(p->src);
    free(p->tgt);
    memset(p, 0, sizeof *p);
}

static uint32_t word(const unsigned char *b, bool swap)
{
    return swap ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* One line of text: white space runs (newlines, tabs) to one space, trimmed. */
static char *normalise(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            space = k > 0;
            continue;
        }
        if (space) d[k++] = ' ';
        space = false;
        d[k++] = c;
    }
    d[k] = '\0';
    return d;
}

/* Whether text has a word to translate: a letter outside printf directives
 * ("%s", "%-10lu", "%1$s", "%.*f") and brace fields ("{0}"). */
static bool has_words(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '%') {
            p++;
            if (*p == '%') continue;
            while (*p && strchr("0123456789$#-+ '.*hlLqjztI", *p)) p++;
            if (!*p) break;
            continue; /* the conversion letter */
        }
        if (*p == '{') {
            const char *q = p + 1;
            while (*q >= '0' && *q <= '9') q++;
            if (*q == '}' && q > p + 1) {
                p = q;
                continue;
            }
        }
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return true;
    }
    return false;
}

typedef struct {
    tc_parallel *out;
    int64_t cap;
    tc_strmap *seen;   /* "src\x01tgt" of the pairs already in out */
} sink;

static tc_status add_pair(sink *k, const char *src, size_t sn, const char *tgt, size_t tn, int64_t *added)
{
    char *s = normalise(src, sn), *t = normalise(tgt, tn), *key = NULL;
    tc_status st = TC_OK;
    if (!s || !t) {
        st = tc_error(TC_ERR_MEMORY, "mo: out of memory");
        goto done;
    }
    if (!*s || !*t || !has_words(s)) goto done; /* empty or format-only */
    size_t a = strlen(s), b = strlen(t);
    key = malloc(a + b + 2);
    if (!key) {
        st = tc_error(TC_ERR_MEMORY, "mo: out of memory");
        goto done;
    }
    memcpy(key, s, a);
    key[a] = '\x01';
    memcpy(key + a + 1, t, b + 1);
    bool ins;
    if (!tc_strmap_put(k->seen, key, 0, &ins)) {
        st = tc_error(TC_ERR_MEMORY, "mo: out of memory");
        goto done;
    }
    if (!ins) goto done; /* a repeat */
    int64_t n = k->out->n, cap = k->cap;
    if ((st = tc_text_push(&k->out->src, &k->out->n, &k->cap, s)) != TC_OK) {
        s = NULL;
        goto done;
    }
    s = NULL;
    if (k->cap != cap) {
        char **nt = realloc(k->out->tgt, sizeof *nt * (size_t)k->cap);
        if (!nt) {
            free(k->out->src[--k->out->n]);
            st = tc_error(TC_ERR_MEMORY, "mo: out of memory");
            goto done;
        }
        k->out->tgt = nt;
    }
    k->out->tgt[n] = t;
    t = NULL;
    (*added)++;
done:
    free(s);
    free(t);
    free(key);
    return st;
}

static tc_status read_mo(const char *path, sink *k, int64_t *added)
{
    *added = 0;
    char *data;
    size_t size;
    tc_status st = tc_text_read_file(path, &data, &size);
    if (st != TC_OK) return st;
    const unsigned char *b = (const unsigned char *)data;
    bool swap = false;
    if (size < 28) {
        st = tc_error(TC_ERR_FORMAT, "%s: %s", path, size ? "truncated .mo file (shorter than its header)" : "empty file");
        goto done;
    }
    uint32_t magic = word(b, false);
    if (magic == 0xde120495u) swap = true;
    else if (magic != 0x950412deu) {
        st = tc_error(TC_ERR_FORMAT, "%s: not a gettext .mo file (magic 0x%08x)", path, magic);
        goto done;
    }
    uint32_t rev = word(b + 4, swap), n = word(b + 8, swap), orig = word(b + 12, swap), trans = word(b + 16, swap);
    if (rev >> 16 > 1) {
        st = tc_error(TC_ERR_UNSUPPORTED, "%s: .mo revision %u.%u is not supported", path, rev >> 16, rev & 0xffff);
        goto done;
    }
    if ((uint64_t)orig + (uint64_t)n * 8 > size || (uint64_t)trans + (uint64_t)n * 8 > size) {
        st = tc_error(TC_ERR_FORMAT, "%s: truncated .mo file (%u entries do not fit in %zu bytes)", path, n, size);
        goto done;
    }
    for (uint32_t i = 0; i < n && st == TC_OK; i++) {
        uint32_t ol = word(b + orig + 8 * i, swap), oo = word(b + orig + 8 * i + 4, swap);
        uint32_t tl = word(b + trans + 8 * i, swap), to = word(b + trans + 8 * i + 4, swap);
        if ((uint64_t)oo + ol >= size || (uint64_t)to + tl >= size || b[oo + ol] || b[to + tl]) {
            st = tc_error(TC_ERR_FORMAT, "%s: entry %u: string outside the file or not NUL-terminated (truncated .mo)", path, i);
            break;
        }
        const char *id = data + oo, *str = data + to;
        if (tc_utf8_invalid_at(id, ol) >= 0 || tc_utf8_invalid_at(str, tl) >= 0) {
            st = tc_error(TC_ERR_FORMAT, "%s: entry %u: invalid UTF-8", path, i);
            break;
        }
        if (ol == 0) continue; /* the header */
        const char *ctx = memchr(id, '\x04', ol);
        if (ctx) ol -= (uint32_t)(ctx + 1 - id), id = ctx + 1;
        /* singular/plural ids and forms, separated by NUL */
        const char *id2 = memchr(id, '\0', ol), *str2 = memchr(str, '\0', tl);
        size_t l1 = id2 ? (size_t)(id2 - id) : ol, t1 = str2 ? (size_t)(str2 - str) : tl;
        st = add_pair(k, id, l1, str, t1, added);
        if (st == TC_OK && id2 && str2) {
            const char *form1 = str2 + 1, *end = str + tl, *form1_end = memchr(form1, '\0', (size_t)(end - form1));
            size_t f1 = form1_end ? (size_t)(form1_end - form1) : (size_t)(end - form1);
            st = add_pair(k, id2 + 1, ol - l1 - 1, form1, f1, added);
        }
    }
done:
    free(data);
    return st;
}

static tc_status seen_of(const tc_parallel *p, tc_strmap *m)
{
    for (int64_t i = 0; i < p->n; i++) {
        size_t a = strlen(p->src[i]), b = strlen(p->tgt[i]);
        char *key = malloc(a + b + 2);
        if (!key) return tc_error(TC_ERR_MEMORY, "mo: out of memory");
        memcpy(key, p->src[i], a);
        key[a] = '\x01';
        memcpy(key + a + 1, p->tgt[i], b + 1);
        bool ok = tc_strmap_put(m, key, 0, NULL) != NULL;
        free(key);
        if (!ok) return tc_error(TC_ERR_MEMORY, "mo: out of memory");
    }
    return TC_OK;
}

tc_status tc_read_mo(const char *path, tc_parallel *out, int64_t *added)
{
    if (!path || !out) return tc_error(TC_ERR_ARG, "read_mo: NULL argument");
    tc_strmap seen = {0};
    sink k = {out, out->n, &seen};
    int64_t got = 0, n0 = out->n;
    bool had_arrays = out->src != NULL;
    tc_status st = seen_of(out, &seen);
    if (st == TC_OK) st = read_mo(path, &k, &got);
    tc_strmap_free(&seen);
    if (st != TC_OK) { /* nothing added on error */
        for (int64_t i = n0; i < out->n; i++) {
            free(out->src[i]);
            free(out->tgt[i]);
        }
        out->n = n0;
        got = 0;
        if (!had_arrays) { /* leave out as it was: empty, nothing to free */
            free(out->src);
            free(out->tgt);
            out->src = out->tgt = NULL;
        }
    }
    if (added) *added = got;
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the pairs of from whose source is not in `taken` to to, then adds
 * their sources to taken (later splits skip them; pairs within a split may
 * share a source). */
static tc_status move_new(tc_parallel *from, tc_parallel *to, tc_strmap *taken)
{
    int64_t cap = to->n, n0 = to->n;
    for (int64_t i = 0; i < from->n; i++) {
        if (tc_strmap_get(taken, from->src[i])) continue;
        int64_t n = to->n, oc = cap;
        if (tc_text_push(&to->src, &to->n, &cap, from->src[i]) != TC_OK) return tc_last_status();
        from->src[i] = NULL;
        if (cap != oc) {
            char **nt = realloc(to->tgt, sizeof *nt * (size_t)cap);
            if (!nt) {
                free(to->src[--to->n]);
                return tc_error(TC_ERR_MEMORY, "mo: out of memory");
            }
            to->tgt = nt;
        }
        to->tgt[n] = from->tgt[i];
        from->tgt[i] = NULL;
    }
    for (int64_t i = n0; i < to->n; i++)
        if (!tc_strmap_put(taken, to->src[i], 0, NULL)) return tc_error(TC_ERR_MEMORY, "mo: out of memory");
    return TC_OK;
}

tc_status tc_read_mo_dir(const char *dir, double dev_fraction, double test_fraction, tc_parallel *train, tc_parallel *dev,
                         tc_parallel *test)
{
    if (!dir || !train || !dev || !test || dev_fraction < 0 || test_fraction < 0 || dev_fraction + test_fraction >= 1)
        return tc_error(TC_ERR_ARG, "read_mo_dir: bad arguments");
    memset(train, 0, sizeof *train);
    memset(dev, 0, sizeof *dev);
    memset(test, 0, sizeof *test);
    DIR *d = opendir(dir);
    if (!d) return tc_error(TC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int64_t nf = 0, ncap = 0;
    tc_status st = TC_OK;
    struct dirent *e;
    while (st == TC_OK && (e = readdir(d)) != NULL) {
        size_t k = strlen(e->d_name);
        if (k > 3 && !strcmp(e->d_name + k - 3, ".mo")) st = tc_text_push(&names, &nf, &ncap, tc_text_dup(e->d_name, k));
    }
    closedir(d);
    if (st == TC_OK && nf == 0) st = tc_error(TC_ERR_FORMAT, "%s: no .mo files", dir);
    if (st == TC_OK) qsort(names, (size_t)nf, sizeof(char *), cmp_str);
    tc_parallel *per = st == TC_OK ? calloc((size_t)nf, sizeof *per) : NULL;
    if (st == TC_OK && !per) st = tc_error(TC_ERR_MEMORY, "read_mo_dir: out of memory");
    int64_t total = 0;
    for (int64_t i = 0; i < nf && st == TC_OK; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen);
        if (!path) {
            st = tc_error(TC_ERR_MEMORY, "read_mo_dir: out of memory");
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        int64_t got;
        st = tc_read_mo(path, &per[i], &got);
        free(path);
        total += got;
    }
    if (st == TC_OK && total == 0) st = tc_error(TC_ERR_FORMAT, "%s: the .mo files hold no translated sentences", dir);
    if (st == TC_OK) {
        /* files in an order fixed by their names' hashes (not alphabetical, so
         * test and dev are not all from one family of packages); each goes to
         * test, then dev, while it fits in what that split still needs (half a
         * split's size of slack), else to train */
        int64_t *ord = malloc(sizeof *ord * (size_t)nf);
        int *split = calloc((size_t)nf, sizeof *split);
        if (!ord || !split) st = tc_error(TC_ERR_MEMORY, "read_mo_dir: out of memory");
        for (int64_t i = 0; ord && i < nf; i++) ord[i] = i;
        for (int64_t i = 1; st == TC_OK && i < nf; i++) /* insertion sort by hash */
            for (int64_t j = i; j > 0 && tc_str_hash(names[ord[j]]) < tc_str_hash(names[ord[j - 1]]); j--) {
                int64_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        double want[3] = {0, dev_fraction * (double)total, test_fraction * (double)total};
        int64_t have[3] = {0};
        for (int64_t i = 0; st == TC_OK && i < nf; i++) {
            int64_t f = ord[i], size = per[f].n;
            for (int s = 2; s >= 1; s--)
                if (have[s] < want[s] && (double)(have[s] + size) <= want[s] * 1.5) {
                    split[f] = s;
                    break;
                }
            have[split[f]] += size;
        }
        tc_strmap taken = {0};
        tc_parallel *to[3] = {train, dev, test};
        for (int s = 0; s < 3 && st == TC_OK; s++)
            for (int64_t f = 0; f < nf && st == TC_OK; f++)
                if (split[f] == s) st = move_new(&per[f], to[s], &taken);
        tc_strmap_free(&taken);
        free(ord);
        free(split);
    }
    for (int64_t i = 0; per && i < nf; i++) tc_parallel_free(&per[i]);
    free(per);
    for (int64_t i = 0; i < nf; i++) free(names[i]);
    free(names);
    if (st != TC_OK) {
        tc_parallel_free(train);
        tc_parallel_free(dev);
        tc_parallel_free(test);
    }
    return st;
}
