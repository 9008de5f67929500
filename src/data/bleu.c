/* Corpus BLEU as tensorflow/nmt's scripts/bleu.py computes it: per
 * sentence, each hypothesis n-gram counts at most as often as it occurs in
 * the reference (clipping); matches and possible matches (len - n + 1 when
 * positive) are summed over the corpus per order; BLEU is the geometric
 * mean of the precisions (0 when one is 0: no smoothing) times the brevity
 * penalty exp(1 - ref_len / hyp_len) when the hypotheses are shorter. */
#include "text_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local const int64_t *g_ids; /* qsort has no context argument */
static _Thread_local int g_order;

static int cmp_ngram(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    for (int k = 0; k < g_order; k++)
        if (g_ids[i + k] != g_ids[j + k]) return g_ids[i + k] < g_ids[j + k] ? -1 : 1;
    return 0;
}

static int ngram_cmp2(const int64_t *a, const int64_t *b, int order)
{
    for (int k = 0; k < order; k++)
        if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
}

/* Clipped matches of the order-n n-grams of hyp against ref (ids). */
static int64_t clipped_matches(const int64_t *ref, int64_t rn, const int64_t *hyp, int64_t hn, int order, int64_t *rs,
                               int64_t *hs)
{
    int64_t nr = rn - order + 1, nh = hn - order + 1;
    if (nr <= 0 || nh <= 0) return 0;
    for (int64_t i = 0; i < nr; i++) rs[i] = i;
    for (int64_t i = 0; i < nh; i++) hs[i] = i;
    g_order = order;
    g_ids = ref;
    qsort(rs, (size_t)nr, sizeof *rs, cmp_ngram);
    g_ids = hyp;
    qsort(hs, (size_t)nh, sizeof *hs, cmp_ngram);
    /* walk both sorted lists: per distinct n-gram, min(count in hyp, count in ref) */
    int64_t i = 0, j = 0, matches = 0;
    while (i < nr && j < nh) {
        int c = ngram_cmp2(ref + rs[i], hyp + hs[j], order);
        if (c < 0) i++;
        else if (c > 0) j++;
        else {
            int64_t ci = 0, cj = 0;
            const int64_t *g = ref + rs[i];
            while (i < nr && !ngram_cmp2(ref + rs[i], g, order)) i++, ci++;
            while (j < nh && !ngram_cmp2(hyp + hs[j], g, order)) j++, cj++;
            matches += ci < cj ? ci : cj;
        }
    }
    return matches;
}

static tc_status to_ids(tc_strmap *m, const tc_tokens *t, int64_t *ids)
{
    for (int64_t i = 0; i < t->n; i++) {
        int64_t *v = tc_strmap_put(m, t->tok[i], m->n, NULL);
        if (!v) return tc_error(TC_ERR_MEMORY, "bleu: out of memory");
        ids[i] = *v;
    }
    return TC_OK;
}

tc_status tc_corpus_bleu(int64_t n, const tc_tokens *refs, const tc_tokens *hyps, int max_order, tc_bleu_result *r)
{
    if (!r || n < 0 || (n && (!refs || !hyps)) || max_order < 1 || max_order > 4)
        return tc_error(TC_ERR_ARG, "bleu: bad arguments (max_order must be 1..4)");
    memset(r, 0, sizeof *r);
    int64_t matches[4] = {0}, possible[4] = {0}, longest = 1;
    for (int64_t s = 0; s < n; s++) {
        if (refs[s].n > longest) longest = refs[s].n;
        if (hyps[s].n > longest) longest = hyps[s].n;
        r->ref_len += refs[s].n;
        r->hyp_len += hyps[s].n;
    }
    if (r->ref_len == 0) return tc_error(TC_ERR_ARG, "bleu: the references are empty");
    tc_strmap m = {0};
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)longest * 4);
    tc_status st = buf ? TC_OK : tc_error(TC_ERR_MEMORY, "bleu: out of memory");
    for (int64_t s = 0; s < n && st == TC_OK; s++) {
        int64_t *ref = buf, *hyp = buf + longest, *rs = buf + 2 * longest, *hs = buf + 3 * longest;
        if ((st = to_ids(&m, &refs[s], ref)) != TC_OK || (st = to_ids(&m, &hyps[s], hyp)) != TC_OK) break;
        for (int o = 1; o <= max_order; o++) {
            matches[o - 1] += clipped_matches(ref, refs[s].n, hyp, hyps[s].n, o, rs, hs);
            if (hyps[s].n - o + 1 > 0) possible[o - 1] += hyps[s].n - o + 1;
        }
    }
    free(buf);
    tc_strmap_free(&m);
    if (st != TC_OK) return st;
    double log_sum = 0, min_p = 1;
    for (int o = 0; o < max_order; o++) {
        r->precisions[o] = possible[o] > 0 ? (double)matches[o] / (double)possible[o] : 0.0;
        if (r->precisions[o] < min_p) min_p = r->precisions[o];
        if (r->precisions[o] > 0) log_sum += log(r->precisions[o]) / max_order;
    }
    double geo = min_p > 0 ? exp(log_sum) : 0.0;
    r->ratio = (double)r->hyp_len / (double)r->ref_len;
    r->bp = r->ratio > 1.0 ? 1.0 : r->hyp_len == 0 ? 0.0 : exp(1.0 - 1.0 / r->ratio);
    r->bleu = geo * r->bp;
    return TC_OK;
}

tc_status tc_bleu_files(const char *ref_path, const char *hyp_path, tc_bleu_result *r)
{
    if (!ref_path || !hyp_path || !r) return tc_error(TC_ERR_ARG, "bleu: NULL argument");
    tc_lines ref, hyp = {0};
    tc_status st = tc_read_lines(ref_path, &ref);
    if (st != TC_OK) return st;
    if ((st = tc_read_lines(hyp_path, &hyp)) != TC_OK) {
        tc_lines_free(&ref);
        return st;
    }
    if (ref.n != hyp.n)
        st = tc_error(TC_ERR_FORMAT, "bleu: %s has %lld lines but %s has %lld (one sentence a line in both)", ref_path,
                      (long long)ref.n, hyp_path, (long long)hyp.n);
    tc_tokens *rt = NULL, *ht = NULL;
    if (st == TC_OK) {
        rt = calloc((size_t)ref.n, sizeof *rt);
        ht = calloc((size_t)ref.n, sizeof *ht);
        if (!rt || !ht) st = tc_error(TC_ERR_MEMORY, "bleu: out of memory");
    }
    for (int64_t i = 0; i < ref.n && st == TC_OK; i++)
        if ((st = tc_split_spaces(ref.line[i], &rt[i])) == TC_OK) st = tc_split_spaces(hyp.line[i], &ht[i]);
    if (st == TC_OK) {
        st = tc_corpus_bleu(ref.n, rt, ht, 4, r);
        if (st != TC_OK && r->ref_len == 0) st = tc_error(TC_ERR_FORMAT, "bleu: %s: every reference line is empty", ref_path);
    }
    for (int64_t i = 0; rt && ht && i < ref.n; i++) {
        tc_tokens_free(&rt[i]);
        tc_tokens_free(&ht[i]);
    }
    free(rt);
    free(ht);
    tc_lines_free(&ref);
    tc_lines_free(&hyp);
    return st;
}
