/* Time series as the seq2seq forecaster reads them: CSV rows of
 * date,value[,value...], the bitcoin price API's {"bpi": {date: value}}, or
 * a generator of noisy sines; and the windows of past -> future steps, each
 * normalised by its own past. */
#include "../core/internal.h"
#include "tensorcook/data.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void tc_series_free(tc_series *s)
{
    if (!s) return;
    free(s->v);
    free(s);
}

static bool push(tc_series *s, const double *row, int64_t *cap)
{
    if (s->steps == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        double *g = realloc(s->v, sizeof(double) * (size_t)*cap * (size_t)s->series);
        if (!g) return false;
        s->v = g;
    }
    memcpy(s->v + (size_t)s->steps * (size_t)s->series, row, sizeof(double) * (size_t)s->series);
    s->steps++;
    return true;
}

/* Parses one CSV line (NUL-terminated, no newline): the values after the
 * first field; false when a field is not a finite number. */
static bool csv_values(const char *ln, double *row, int *k)
{
    *k = 0;
    const char *comma = strchr(ln, ',');
    if (!comma) return false;
    for (const char *p = comma; p; p = strchr(p + 1, ',')) {
        char *end;
        double v = strtod(p + 1, &end);
        if (end == p + 1 || (*end && *end != ',') || !isfinite(v) || *k == TC_SERIES_MAX) return false;
        row[(*k)++] = v;
    }
    return true;
}

tc_series *tc_load_series_csv(const char *path)
{
    unsigned char *text;
    size_t len;
    if (tc_read_file(path, 0, &text, &len) != TC_OK) return NULL;
    tc_series *s = calloc(1, sizeof *s);
    if (!s) {
        free(text);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", path), NULL;
    }
    int64_t cap = 0;
    bool ok = true;
    char *p = (char *)text;
    for (long line = 1; ok && p < (char *)text + len; line++) {
        char *ln = p, *eol = memchr(p, '\n', (size_t)((char *)text + len - p));
        if (!eol) eol = (char *)text + len;
        p = eol + 1;
        *eol = '\0';
        size_t L = (size_t)(eol - ln);
        bool binary = strlen(ln) != L; /* a NUL byte inside the line: not text */
        if (L && ln[L - 1] == '\r') ln[--L] = '\0';
        if (!L) continue;
        double row[TC_SERIES_MAX];
        int k = 0;
        bool good = !binary && csv_values(ln, row, &k);
        if (!good && line == 1) continue; /* a header */
        if (!good || (s->series && k != s->series)) {
            tc_error(TC_ERR_FORMAT, "%s: line %ld: expected date,value%s with %d number(s)", path, line,
                     s->series > 1 ? ",…" : "", s->series ? s->series : 1);
            ok = false;
            break;
        }
        s->series = k;
        if (!push(s, row, &cap)) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
            ok = false;
        }
    }
    free(text);
    if (ok && s->steps == 0) ok = !tc_error(TC_ERR_FORMAT, "%s: no date,value lines", path);
    if (!ok) {
        tc_series_free(s);
        return NULL;
    }
    return s;
}

/* {"bpi": {"2017-01-01": 997.6888, ...}} */
tc_series *tc_load_series_bpi_json(const char *path)
{
    unsigned char *raw;
    size_t len;
    if (tc_read_file(path, 0, &raw, &len) != TC_OK) return NULL;
    const char *text = (const char *)raw;
    tc_series *s = calloc(1, sizeof *s);
    if (!s) {
        free(raw);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", path), NULL;
    }
    s->series = 1;
    const char *p = strstr(text, "\"bpi\"");
    p = p ? strchr(p, '{') : NULL;
    bool ok = p != NULL;
    if (!ok) tc_error(TC_ERR_FORMAT, "%s: no \"bpi\" object", path);
    int64_t cap = 0;
    for (p = ok ? p + 1 : NULL; ok;) {
        while (isspace((unsigned char)*p) || *p == ',') p++;
        if (*p == '}') break;
        const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
        const char *colon = q ? strchr(q, ':') : NULL;
        char *end = NULL;
        double v = colon ? strtod(colon + 1, &end) : NAN;
        if (!colon || end == colon + 1 || !isfinite(v)) {
            ok = !tc_error(TC_ERR_FORMAT, "%s: malformed \"bpi\" entry at byte %ld", path, (long)(p - text));
            break;
        }
        if (!push(s, &v, &cap)) ok = !tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        p = end;
    }
    free(raw);
    if (ok && s->steps == 0) ok = !tc_error(TC_ERR_FORMAT, "%s: the \"bpi\" object is empty", path);
    if (!ok) {
        tc_series_free(s);
        return NULL;
    }
    return s;
}

tc_series *tc_series_synthetic(int64_t steps, int series, uint64_t seed)
{
    if (steps < 1 || series < 1 || series > TC_SERIES_MAX)
        return tc_error(TC_ERR_ARG, "series_synthetic: %lld steps of %d series (1 to %d)", (long long)steps, series, TC_SERIES_MAX),
               NULL;
    tc_series *s = calloc(1, sizeof *s);
    if (s) s->v = malloc(sizeof(double) * (size_t)steps * (size_t)series);
    if (!s || !s->v) {
        free(s);
        return tc_error(TC_ERR_MEMORY, "series_synthetic: out of memory"), NULL;
    }
    s->steps = steps, s->series = series;
    tc_rng r = tc_rng_new(seed);
    double ph[TC_SERIES_MAX][3], fr[TC_SERIES_MAX][3];
    for (int k = 0; k < series; k++)
        for (int j = 0; j < 3; j++) ph[k][j] = tc_rng_double(&r) * 6.283, fr[k][j] = 0.01 + 0.1 * tc_rng_double(&r);
    for (int64_t t = 0; t < steps; t++)
        for (int k = 0; k < series; k++) {
            double v = 0;
            for (int j = 0; j < 3; j++) v += sin(fr[k][j] * (double)t + ph[k][j]) / (j + 1);
            s->v[t * series + k] = v + 0.1 * (tc_rng_double(&r) - 0.5);
        }
    return s;
}

tc_status tc_series_windows(const tc_series *s, int past, int future, double scale, tc_tensor **x, tc_tensor **y)
{
    if (x) *x = NULL;
    if (y) *y = NULL;
    if (!s || !x || !y || past < 1 || future < 1 || !(scale > 0))
        return tc_error(TC_ERR_ARG, "series_windows: needs a series, past and future >= 1 and scale > 0");
    int64_t n = s->steps - past - future + 1;
    int F = s->series;
    if (n < 1)
        return tc_error(TC_ERR_ARG, "series_windows: %lld time steps; a window needs %d", (long long)s->steps, past + future);
    tc_tensor *X = tc_tensor_new(TC_SHAPE(n, past, F)), *Y = X ? tc_tensor_new(TC_SHAPE(n, future, F)) : NULL;
    if (!Y) {
        tc_tensor_free(X);
        return tc_last_status();
    }
    for (int64_t w = 0; w < n; w++)
        for (int k = 0; k < F; k++) {
            double m = 0, sd = 0;
            for (int t = 0; t < past; t++) m += s->v[(w + t) * F + k];
            m /= past;
            for (int t = 0; t < past; t++) sd += pow(s->v[(w + t) * F + k] - m, 2);
            sd = scale * sqrt(sd / past) + 1e-8;
            for (int t = 0; t < past; t++) X->data[(w * past + t) * F + k] = (tc_scalar)((s->v[(w + t) * F + k] - m) / sd);
            for (int t = 0; t < future; t++)
                Y->data[(w * future + t) * F + k] = (tc_scalar)((s->v[(w + past + t) * F + k] - m) / sd);
        }
    *x = X;
    *y = Y;
    return TC_OK;
}
