/* Sequences of token ids: token-id files, encoding, padding/truncation,
 * and length buckets for batching. */
#include "text_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tc_id_seqs_free(tc_id_seqs *s)
{
    if (!s) return;
    for (int64_t i = 0; i < s->n; i++) free(s->ids[i]);
    free(s->ids);
    free(s->len);
    memset(s, 0, sizeof *s);
}

static tc_status seqs_reserve(tc_id_seqs *s, int64_t n)
{
    s->ids = calloc((size_t)(n ? n : 1), sizeof *s->ids);
    s->len = calloc((size_t)(n ? n : 1), sizeof *s->len);
    if (!s->ids || !s->len) {
        free(s->ids);
        free(s->len);
        s->ids = NULL;
        s->len = NULL;
        return tc_error(TC_ERR_MEMORY, "id sequences: out of memory");
    }
    return TC_OK;
}

tc_status tc_read_id_file(const char *path, int64_t vocab_size, tc_id_seqs *out)
{
    if (!out || !path) return tc_error(TC_ERR_ARG, "read_id_file: NULL argument");
    memset(out, 0, sizeof *out);
    tc_lines l;
    tc_status st = tc_read_lines(path, &l);
    if (st != TC_OK) return st;
    if ((st = seqs_reserve(out, l.n)) != TC_OK) {
        tc_lines_free(&l);
        return st;
    }
    for (int64_t i = 0; i < l.n && st == TC_OK; i++) {
        tc_tokens t;
        if ((st = tc_split_spaces(l.line[i], &t)) != TC_OK) break;
        out->ids[i] = malloc(sizeof(int32_t) * (size_t)(t.n ? t.n : 1));
        out->len[i] = t.n;
        out->n = i + 1;
        if (!out->ids[i]) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        for (int64_t k = 0; k < t.n && st == TC_OK; k++) {
            char *end;
            errno = 0;
            long long v = strtoll(t.tok[k], &end, 10);
            if (*end || errno || v < 0 || v > INT32_MAX)
                st = tc_error(TC_ERR_FORMAT, "%s:%lld: '%.40s' is not a token id (a non-negative integer)", path,
                              (long long)i + 1, t.tok[k]);
            else if (vocab_size > 0 && v >= vocab_size)
                st = tc_error(TC_ERR_FORMAT, "%s:%lld: id %lld is outside the vocabulary of %lld tokens", path,
                              (long long)i + 1, v, (long long)vocab_size);
            else
                out->ids[i][k] = (int32_t)v;
        }
        tc_tokens_free(&t);
    }
    tc_lines_free(&l);
    if (st != TC_OK) tc_id_seqs_free(out);
    return st;
}

tc_status tc_encode_tokens(const tc_vocab *v, const tc_tokens *t, int32_t **ids, int64_t *len)
{
    if (!v || !t || !ids || !len) return tc_error(TC_ERR_ARG, "encode_tokens: NULL argument");
    *ids = malloc(sizeof(int32_t) * (size_t)(t->n ? t->n : 1));
    *len = 0;
    if (!*ids) return tc_error(TC_ERR_MEMORY, "encode_tokens: out of memory");
    for (int64_t i = 0; i < t->n; i++) {
        int64_t id = tc_vocab_id(v, t->tok[i]);
        if (id < 0) {
            free(*ids);
            *ids = NULL;
            return tc_error(TC_ERR_ARG, "encode_tokens: '%.40s' is not in the vocabulary (which has no unknown token)", t->tok[i]);
        }
        (*ids)[i] = (int32_t)id;
    }
    *len = t->n;
    return TC_OK;
}

tc_tensor *tc_pad_sequences(const tc_id_seqs *s, int64_t maxlen, const tc_pad_opts *o)
{
    static const tc_pad_opts defaults = {0};
    if (!o) o = &defaults;
    if (!s || maxlen < 1) {
        tc_error(TC_ERR_ARG, "pad_sequences: maxlen %lld must be >= 1", (long long)maxlen);
        return NULL;
    }
    tc_tensor *x = tc_tensor_new(TC_SHAPE(s->n, maxlen));
    if (!x) return NULL;
    for (int64_t i = 0; i < s->n; i++) {
        tc_scalar *row = x->data + i * maxlen;
        int64_t len = s->len[i], keep = len < maxlen ? len : maxlen;
        const int32_t *src = s->ids[i] + (o->truncate_pre ? len - keep : 0);
        int64_t at = o->pad_pre ? maxlen - keep : 0;
        for (int64_t t = 0; t < maxlen; t++) row[t] = (tc_scalar)o->value;
        for (int64_t t = 0; t < keep; t++) row[at + t] = (tc_scalar)src[t];
    }
    return x;
}

int tc_length_bucket(int64_t src_len, int64_t tgt_len, int n_buckets, int64_t max_len)
{
    if (n_buckets < 1) return 0;
    int64_t width = max_len > 0 ? (max_len + n_buckets - 1) / n_buckets : 10;
    int64_t b = src_len / width > tgt_len / width ? src_len / width : tgt_len / width;
    return (int)(b < n_buckets ? b : n_buckets);
}

tc_status tc_bucket_batches(int64_t n, const int *bucket, int n_buckets, int64_t batch, bool shuffle, tc_rng *rng,
                            int64_t **order, int64_t **starts, int64_t *n_batches)
{
    if (!order || !starts || !n_batches || (n && !bucket) || batch < 1 || n_buckets < 0 || (shuffle && !rng))
        return tc_error(TC_ERR_ARG, "bucket_batches: bad arguments");
    *order = NULL;
    *starts = NULL;
    *n_batches = 0;
    int nb = n_buckets + 1;
    int64_t *count = calloc((size_t)nb + 1, sizeof *count), *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
    int64_t *st = malloc(sizeof *st * (size_t)(n + 2)), *out = malloc(sizeof *out * (size_t)(n ? n : 1));
    int64_t *perm = malloc(sizeof *perm * (size_t)(n + 1));
    tc_status s = TC_OK;
    if (!count || !idx || !st || !out || !perm) s = tc_error(TC_ERR_MEMORY, "bucket_batches: out of memory");
    for (int64_t i = 0; i < n && s == TC_OK; i++)
        if (bucket[i] < 0 || bucket[i] > n_buckets)
            s = tc_error(TC_ERR_ARG, "bucket_batches: bucket %d of example %lld is outside [0, %d]", bucket[i], (long long)i,
                         n_buckets);
        else
            count[bucket[i] + 1]++;
    if (s != TC_OK) goto fail;
    for (int b = 0; b < nb; b++) count[b + 1] += count[b];
    /* idx: examples grouped by bucket, in order (a stable counting sort) */
    {
        int64_t *fill = calloc((size_t)nb, sizeof *fill);
        if (!fill) {
            s = tc_error(TC_ERR_MEMORY, "bucket_batches: out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < n; i++) idx[count[bucket[i]] + fill[bucket[i]]++] = i;
        free(fill);
    }
    int64_t k = 0; /* batches made */
    int64_t *bstart = malloc(sizeof *bstart * (size_t)(n + 1));
    if (!bstart) {
        s = tc_error(TC_ERR_MEMORY, "bucket_batches: out of memory");
        goto fail;
    }
    for (int b = 0; b < nb; b++) {
        if (shuffle) tc_rng_shuffle(rng, idx + count[b], count[b + 1] - count[b]);
        for (int64_t at = count[b]; at < count[b + 1]; at += batch) bstart[k++] = at;
    }
    bstart[k] = n;
    for (int64_t i = 0; i < k; i++) perm[i] = i;
    if (shuffle) tc_rng_shuffle(rng, perm, k);
    int64_t pos = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t from = bstart[perm[i]], b = bucket[idx[from]], to = from + batch;
        if (to > count[b + 1]) to = count[b + 1];
        st[i] = pos;
        for (int64_t j = from; j < to; j++) out[pos++] = idx[j];
    }
    st[k] = pos;
    free(bstart);
    free(count);
    free(idx);
    free(perm);
    *order = out;
    *starts = st;
    *n_batches = k;
    return TC_OK;
fail:
    free(count);
    free(idx);
    free(st);
    free(out);
    free(perm);
    return s;
}
