/* A list of named long-lived parameters: creation, look-up, checkpoints,
 * initialisation. Shared by the WaveNet and its encoder. */
#include "wavenet_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_tensor *tc_param_list_add(tc_param_list *l, const char *name, int ndim, const int64_t *shape)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        tc_tensor **t = realloc(l->t, sizeof *t * (size_t)cap);
        if (!t) return NULL;
        l->t = t;
        char **names = realloc(l->names, sizeof *names * (size_t)cap);
        if (!names) return NULL;
        l->names = names;
        l->cap = cap;
    }
    tc_tensor *t = tc_tensor_new(ndim, shape);
    char *nm = strdup(name);
    if (!t || !nm) {
        tc_tensor_free(t);
        free(nm);
        tc_error(TC_ERR_MEMORY, "wavenet: out of memory for %s", name);
        return NULL;
    }
    tc_set_requires_grad(t, true);
    t->name = nm;
    l->t[l->n] = t;
    l->names[l->n] = nm;
    l->n++;
    return t;
}

void tc_param_list_free(tc_param_list *l)
{
    for (int i = 0; i < l->n; i++) {
        tc_tensor_free(l->t[i]);
        free(l->names[i]);
    }
    free(l->t);
    free(l->names);
    memset(l, 0, sizeof *l);
}

int tc_param_list_find(const tc_param_list *l, const char *name)
{
    for (int i = 0; name && i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) return i;
    return -1;
}

int64_t tc_param_list_numel(const tc_param_list *l)
{
    int64_t n = 0;
    for (int i = 0; i < l->n; i++) n += tc_numel(l->t[i]);
    return n;
}

static void full_name(char *buf, size_t size, const char *prefix, const char *name)
{
    snprintf(buf, size, "%s%s", prefix ? prefix : "", name);
}

tc_status tc_param_list_put(tc_checkpoint *ck, const tc_param_list *l, const char *prefix)
{
    char name[512];
    for (int i = 0; i < l->n; i++) {
        full_name(name, sizeof name, prefix, l->names[i]);
        tc_status s = tc_checkpoint_put(ck, name, l->t[i]);
        if (s != TC_OK) return s;
    }
    return TC_OK;
}

tc_status tc_param_list_get(const tc_checkpoint *ck, tc_param_list *l, const char *prefix, const char *what)
{
    char name[512], msg[2048] = "";
    int bad = 0;
    size_t used = 0;
    for (int i = 0; i < l->n; i++) {
        full_name(name, sizeof name, prefix, l->names[i]);
        const tc_tensor *t = tc_checkpoint_get(ck, name);
        if (!t || !tc_same_shape(t, l->t[i])) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            bad++;
            if (used >= sizeof msg - 1) continue;
            if (t)
                used += (size_t)snprintf(msg + used, sizeof msg - used, "; %s is %s in the file but %s in the model",
                                         name, tc_shape_str(t, a, sizeof a), tc_shape_str(l->t[i], b, sizeof b));
            else
                used += (size_t)snprintf(msg + used, sizeof msg - used, "; missing %s", name);
        }
    }
    if (bad) return tc_error(TC_ERR_FORMAT, "checkpoint does not fit the %s (%d mismatches)%s", what, bad, msg);
    for (int i = 0; i < l->n; i++) {
        full_name(name, sizeof name, prefix, l->names[i]);
        const tc_tensor *t = tc_checkpoint_get(ck, name);
        tc_read_values(t, l->t[i]->data);
    }
    return TC_OK;
}

void tc_wavenet_glorot(tc_rng *r, tc_tensor *t, int64_t fan_in, int64_t fan_out)
{
    tc_scalar a = (tc_scalar)sqrt(6.0 / (double)(fan_in + fan_out));
    tc_rng_uniform(r, t->data, tc_numel(t), -a, a);
}
