/* Reader for TCFX fixture files (written by tests/fixtures/fixture_io.py):
 * "TCFX", u32 version 1, u32 count, then per tensor: u32 name length, name,
 * u32 ndim, i64 shape[ndim], f32 data[numel]; little-endian. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    int ndim;
    int64_t shape[TC_MAX_DIMS];
    float *data;
} entry;

struct tc_fixture {
    entry *e;
    uint32_t n;
};

static bool rd(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

void tc_fixture_free(tc_fixture *fx)
{
    if (!fx) return;
    for (uint32_t i = 0; i < fx->n; i++) {
        free(fx->e[i].name);
        free(fx->e[i].data);
    }
    free(fx->e);
    free(fx);
}

tc_fixture *tc_fixture_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tc_error(TC_ERR_IO, "fixture %s: cannot open", path);
        return NULL;
    }
    char magic[4];
    uint32_t version, count;
    tc_fixture *fx = calloc(1, sizeof *fx);
    if (!rd(f, magic, 4) || memcmp(magic, "TCFX", 4) || !rd(f, &version, 4) || version != 1 || !rd(f, &count, 4) ||
        count > 100000)
        goto bad;
    fx->e = calloc(count ? count : 1, sizeof(entry));
    for (uint32_t i = 0; i < count; i++) {
        entry *e = &fx->e[i];
        uint32_t len, nd;
        if (!rd(f, &len, 4) || len > 4096) goto bad;
        e->name = calloc(len + 1, 1);
        fx->n = i + 1;
        if (!rd(f, e->name, len) || !rd(f, &nd, 4) || nd > TC_MAX_DIMS) goto bad;
        e->ndim = (int)nd;
        if (!rd(f, e->shape, 8 * nd)) goto bad;
        int64_t n = 1;
        for (uint32_t d = 0; d < nd; d++) n *= e->shape[d];
        if (n < 0 || n > ((int64_t)1 << 30)) goto bad;
        e->data = malloc((size_t)(n ? n : 1) * sizeof(float));
        if (!rd(f, e->data, (size_t)n * sizeof(float))) goto bad;
    }
    fclose(f);
    return fx;
bad:
    fclose(f);
    tc_fixture_free(fx);
    tc_error(TC_ERR_FORMAT, "fixture %s: truncated or not a TCFX file", path);
    return NULL;
}

static entry *find(tc_fixture *fx, const char *name)
{
    for (uint32_t i = 0; fx && i < fx->n; i++)
        if (!strcmp(fx->e[i].name, name)) return &fx->e[i];
    return NULL;
}

bool tc_fixture_has(tc_fixture *fx, const char *name) { return find(fx, name) != NULL; }

tc_tensor *tc_fixture_get(tc_fixture *fx, const char *name)
{
    entry *e = find(fx, name);
    if (!e) fail_msg("fixture has no tensor named '%s'", name);
    tc_tensor *t = tc_empty(e->ndim, e->shape);
    if (!t) fail_msg("fixture tensor '%s': %s", name, tc_last_error());
    int64_t n = tc_numel(t);
    for (int64_t i = 0; i < n; i++) t->data[i] = (tc_scalar)e->data[i];
    return t;
}

void tc_check_fixture_case(const char *path, const char *name, int n, const char *const *inputs,
                           tc_tensor *(*build)(tc_tensor **ins, void *ctx), void *ctx, double rtol, double atol)
{
    char key[64], what[128];
    tc_fixture *fx = tc_fixture_load(path);
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *ins[8];
    if (n > 8) fail_msg("%s: at most 8 inputs", name);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "in:%s", inputs[i]);
        ins[i] = tc_fixture_get(fx, key);
        tc_set_requires_grad(ins[i], true);
    }
    tc_tensor *y = build(ins, ctx);
    if (!y) fail_msg("%s: %s", name, tc_last_error());
    snprintf(what, sizeof what, "%s out", name);
    tc_assert_close_(y, tc_fixture_get(fx, "out"), rtol, atol, what, __FILE__, __LINE__);
    if (tc_backward_with(y, tc_fixture_get(fx, "gout")) != TC_OK) fail_msg("%s: %s", name, tc_last_error());
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "grad:%s", inputs[i]);
        snprintf(what, sizeof what, "%s d/d%s", name, inputs[i]);
        tc_assert_close_(ins[i]->grad, tc_fixture_get(fx, key), rtol, atol, what, __FILE__, __LINE__);
    }
    tc_fixture_free(fx);
    tc_step_reset();
}

/* ---- a temporary folder filled by a generator script ---------------------------------- */
#include <stdlib.h>
#include <unistd.h>

static char gen_dir[256];

int tc_test_generate(const char *prefix, const char *script)
{
    snprintf(gen_dir, sizeof gen_dir, "/tmp/tc_%s_XXXXXX", prefix);
    if (!mkdtemp(gen_dir)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/%s %s", TC_FIXTURES, script, gen_dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tc_test_at(const char *file)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", gen_dir, file);
    return buf[k];
}

const char *tc_test_dir(void) { return gen_dir; }

int tc_test_generated_cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", gen_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int tc_test_mkdtemp(char *dir, size_t size, const char *prefix)
{
    if (snprintf(dir, size, "/tmp/tc_%s_XXXXXX", prefix) >= (int)size) return -1;
    return mkdtemp(dir) ? 0 : -1;
}

int tc_test_finish(const char *dir, int rc)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0 && rc == 0) rc = 1;
    tc_shutdown();
    return rc;
}
