/* Helpers shared by the recipes. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool opt_str(int argc, char **argv, int *i, const char *name, const char **value)
{
    if (strcmp(argv[*i], name)) return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", name);
        *value = NULL;
        return true;
    }
    *value = argv[++*i];
    return true;
}

bool opt_str_any(int argc, char **argv, int *i, int n, const char *const *names, const char **const *values, bool *bad)
{
    for (int k = 0; k < n; k++) {
        const char *val;
        if (!opt_str(argc, argv, i, names[k], &val)) continue;
        if (val) *values[k] = val;
        else *bad = true;
        return true;
    }
    return false;
}

bool opt_int(int argc, char **argv, int *i, const char *name, long long *value, bool *bad)
{
    const char *s;
    if (!opt_str(argc, argv, i, name, &s)) return false;
    char *end = NULL;
    if (s) *value = strtoll(s, &end, 10);
    if (!s || !end || *end) {
        fprintf(stderr, "%s: '%s' is not a whole number\n", name, s ? s : "");
        *bad = true;
    }
    return true;
}

bool opt_double(int argc, char **argv, int *i, const char *name, double *value, bool *bad)
{
    const char *s;
    if (!opt_str(argc, argv, i, name, &s)) return false;
    char *end = NULL;
    if (s) *value = strtod(s, &end);
    if (!s || !end || *end || !isfinite(*value)) {
        fprintf(stderr, "%s: '%s' is not a number\n", name, s ? s : "");
        *bad = true;
    }
    return true;
}

bool prepare_out_dir(const char *cmd, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "tensorcook %s: cannot create %s: %s\n", cmd, path, strerror(errno));
            return false;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tensorcook %s: cannot create %s: %s\n", cmd, dir, strerror(errno));
        return false;
    }
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "tensorcook %s: output folder %s is not writable: %s\n", cmd, dir, strerror(errno));
        return false;
    }
    return true;
}

static bool summary_json(const char *cmd, const char *path, int n, const char *const *keys, const double *values,
                         const char *skey, const char *sval)
{
    char buf[4096];
    size_t used = (size_t)snprintf(buf, sizeof buf, "{");
    for (int i = 0; i < n && used < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s\"%s\": %.6g", i ? ", " : "", keys[i],
                                 isfinite(values[i]) ? values[i] : 0.0);
    if (skey && used < sizeof buf)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s\"%s\": \"%s\"", n ? ", " : "", skey, sval);
    if (used < sizeof buf) used += (size_t)snprintf(buf + used, sizeof buf - used, "}\n");
    if (tc_write_file_atomic(path, buf, strlen(buf)) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        return false;
    }
    return true;
}

bool write_summary_json(const char *cmd, const char *path, int n, const char *const *keys, const double *values)
{
    return summary_json(cmd, path, n, keys, values, NULL, NULL);
}

bool write_summary_json_conv(const char *cmd, const char *path, int n, const char *const *keys, const double *values)
{
    /* the setting, then how many convolutions it ran as Winograd (auto and
     * winograd both leave small or training convolutions direct) */
    const char *k2[16];
    double v2[16];
    if (n > 15) return summary_json(cmd, path, n, keys, values, "conv", tc_conv_algorithm_name(tc_conv_get_algorithm()));
    for (int i = 0; i < n; i++) k2[i] = keys[i], v2[i] = values[i];
    k2[n] = "winograd_convs", v2[n] = (double)tc_conv_winograd_runs();
    return summary_json(cmd, path, n + 1, k2, v2, "conv", tc_conv_algorithm_name(tc_conv_get_algorithm()));
}

bool opt_conv(int argc, char **argv, int *i, bool *bad)
{
    const char *v = NULL;
    if (!opt_str(argc, argv, i, "--conv", &v)) return false;
    if (v && !strcmp(v, "direct")) tc_conv_set_algorithm(TC_CONV_DIRECT);
    else if (v && !strcmp(v, "auto")) tc_conv_set_algorithm(TC_CONV_AUTO);
    else if (v && !strcmp(v, "winograd")) tc_conv_set_algorithm(TC_CONV_WINOGRAD);
    else *bad = true;
    return true;
}

void set_threads(const char *cmd, long long threads)
{
    if (threads > 0 && tc_set_num_threads((int)threads) != TC_OK)
        fprintf(stderr, "tensorcook %s: %s (keeping %d)\n", cmd, tc_last_error(), tc_num_threads());
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int *row = malloc(sizeof *row * (lb + 1));
    if (!row) return 1 << 20;
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up, row[j] = best;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

void nearest_names(const char *name, int n, const char *const *names, char *out, size_t size)
{
    const char *near[3] = {0};
    int dist[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int i = 0; i < n; i++) {
        if (!names[i]) continue;
        int d = edit_distance(name, names[i]);
        for (int k = 0; k < 3; k++)
            if (d < dist[k]) {
                for (int j = 2; j > k; j--) dist[j] = dist[j - 1], near[j] = near[j - 1];
                dist[k] = d, near[k] = names[i];
                break;
            }
    }
    snprintf(out, size, "%s, %s, %s", near[0] ? near[0] : "-", near[1] ? near[1] : "-", near[2] ? near[2] : "-");
}

double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
