/* ONNX Einsum: each operand's axes (after taking the diagonal of repeated
 * labels) are permuted into one order of all labels, output labels first,
 * size-1 axes inserted for labels it lacks; the operands are multiplied with
 * broadcasting and the non-output labels summed. Built from ops with a
 * backward (transpose, reshape, pick, mul, sum), so it is differentiable;
 * it is limited to equations with at most TC_MAX_DIMS distinct labels and
 * materialises the full product (fine for the small contractions models
 * use, not a replacement for MatMul). */
#include "onnx_run.h"

#include <ctype.h>
#include <stdlib.h>

#define MAX_LABELS 64
#define ELL_BASE 52 /* labels 0..51 are letters; 52.. the dimensions of "..." */

typedef struct {
    char eq[256];
} einsum_attrs;

tc_status tc_onnx_prep_einsum(tc_onnx_model *m, onnx_node *n)
{
    (void)m;
    einsum_attrs *a = ATTRS_NEW(einsum_attrs);
    if (!a) return tc_last_status();
    const char *eq = tc_onnx_attr_string(n, "equation", NULL);
    if (!eq) return tc_onnx_prep_fail(n, TC_ERR_ARG, "no equation");
    size_t k = 0;
    for (const char *p = eq; *p; p++)
        if (*p != ' ') {
            if (k + 1 >= sizeof a->eq) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "equation is too long");
            a->eq[k++] = *p;
        }
    a->eq[k] = '\0';
    return TC_OK;
}

static int label_of(char ch) { return ch >= 'a' && ch <= 'z' ? ch - 'a' : ch >= 'A' && ch <= 'Z' ? 26 + ch - 'A' : -1; }

/* Parses one term into labels (ellipsis dims as ELL_BASE + i, right-aligned
 * to n_ell of all); returns the count or -1. */
static int parse_term(const char *s, size_t len, int ndim, int *labels, int *n_ell_here, int n_ell_total)
{
    int letters = 0;
    bool ell = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (ell || i + 2 >= len + 0 || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            ell = true;
            i += 2;
        } else if (label_of(s[i]) >= 0) letters++;
        else return -1;
    }
    int e = ndim >= 0 ? ndim - letters : n_ell_total;
    if (e < 0 || (!ell && e != 0)) return -1;
    if (n_ell_here) *n_ell_here = e;
    int k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int j = 0; j < e; j++) labels[k++] = ELL_BASE + (n_ell_total - e) + j;
            i += 2;
        } else labels[k++] = label_of(s[i]);
    }
    return k;
}

tc_status tc_onnx_op_einsum(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    const char *eq = ATTRS(einsum_attrs)->eq;
    if (n_in < 1) return tc_onnx_fail(c, TC_ERR_ARG, "needs inputs");
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i);
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    /* split the inputs' terms */
    const char *term[64];
    size_t tlen[64];
    int nt = 0;
    for (size_t i = 0, start = 0; i <= lhs_len; i++)
        if (i == lhs_len || eq[i] == ',') {
            if (nt == 64) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "too many operands");
            term[nt] = eq + start, tlen[nt++] = i - start;
            start = i + 1;
        }
    if (nt != n_in) return tc_onnx_fail(c, TC_ERR_ARG, "equation '%s' has %d operands, %d inputs given", eq, nt, n_in);
    int lab[64][TC_MAX_DIMS + 1], nl[64], n_ell = 0, e_here;
    for (int i = 0; i < nt; i++) { /* first pass: the most ellipsis dims */
        int tmp[MAX_LABELS];
        if (in[i]->ndim > TC_MAX_DIMS || parse_term(term[i], tlen[i], in[i]->ndim, tmp, &e_here, 0) < 0 || tlen[i] > MAX_LABELS)
            return tc_onnx_fail(c, TC_ERR_ARG, "term %d of '%s' does not fit input %s", i, eq, TC_SHP(in[i]));
        if (e_here > n_ell) n_ell = e_here;
    }
    int64_t size[MAX_LABELS];
    int count[MAX_LABELS] = {0};
    for (int l = 0; l < MAX_LABELS; l++) size[l] = 1;
    bool seen[MAX_LABELS] = {0};
    for (int i = 0; i < nt; i++) {
        nl[i] = parse_term(term[i], tlen[i], in[i]->ndim, lab[i], NULL, n_ell);
        for (int k = 0; k < nl[i]; k++) {
            int l = lab[i][k];
            int64_t dim = in[i]->shape[k];
            if (seen[l] && size[l] != dim && dim != 1 && size[l] != 1)
                return tc_onnx_fail(c, TC_ERR_SHAPE, "label '%c' has sizes %lld and %lld", l < 26 ? 'a' + l : l < 52 ? 'A' + l - 26 : '.',
                                    (long long)size[l], (long long)dim);
            if (!seen[l] || size[l] == 1) size[l] = dim;
            seen[l] = true;
            count[l]++;
        }
    }
    /* the output labels */
    int olab[MAX_LABELS], no = 0;
    if (arrow) {
        if (strlen(arrow + 2) + (size_t)n_ell > MAX_LABELS) return tc_onnx_fail(c, TC_ERR_ARG, "output term of '%s' is too long", eq);
        no = parse_term(arrow + 2, strlen(arrow + 2), -1, olab, NULL, n_ell);
        if (no < 0) return tc_onnx_fail(c, TC_ERR_ARG, "bad output term in '%s'", eq);
    } else {
        for (int j = 0; j < n_ell; j++) olab[no++] = ELL_BASE + j;
        for (int l = 0; l < 52; l++)
            if (count[l] == 1) olab[no++] = l;
    }
    /* every label: output ones first, then the summed ones */
    int order[MAX_LABELS], nr = 0, pos[MAX_LABELS];
    for (int l = 0; l < MAX_LABELS; l++) pos[l] = -1;
    for (int k = 0; k < no; k++) {
        if (!seen[olab[k]] || pos[olab[k]] >= 0)
            return tc_onnx_fail(c, TC_ERR_ARG, "output label repeated or not in the inputs of '%s'", eq);
        pos[olab[k]] = nr, order[nr++] = olab[k];
    }
    for (int l = 0; l < MAX_LABELS; l++)
        if (seen[l] && pos[l] < 0) pos[l] = nr, order[nr++] = l;
    if (nr > TC_MAX_DIMS) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "'%s' has %d distinct labels (at most %d)", eq, nr, TC_MAX_DIMS);
    tc_tensor *prod = NULL;
    for (int i = 0; i < nt; i++) {
        tc_tensor *x = in[i];
        /* the diagonal of repeated labels: a pick */
        int ul[TC_MAX_DIMS], nu = 0, first[TC_MAX_DIMS];
        for (int k = 0; k < nl[i]; k++) {
            int j = 0;
            while (j < nu && ul[j] != lab[i][k]) j++;
            if (j == nu) ul[nu] = lab[i][k], first[nu++] = k;
        }
        if (nu < nl[i]) {
            int64_t ushape[TC_MAX_DIMS], ust[TC_MAX_DIMS], xst[TC_MAX_DIMS];
            for (int j = 0; j < nu; j++) ushape[j] = x->shape[first[j]];
            tc_onnx_strides(nu, ushape, ust);
            tc_onnx_strides(x->ndim, x->shape, xst);
            int64_t total = tc_shape_numel(nu, ushape);
            int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
            if (!idx) return tc_last_status();
            for (int64_t q = 0; q < total; q++) {
                int64_t flat = 0;
                for (int k = 0; k < nl[i]; k++) {
                    int j = 0;
                    while (ul[j] != lab[i][k]) j++;
                    flat += ((q / ust[j]) % ushape[j]) * xst[k];
                }
                idx[q] = flat;
            }
            ONNX_TRY(c, x = tc_onnx_pick(c, 1, &x, idx, nu, ushape));
        }
        /* permute into the global order, size-1 axes for missing labels */
        int perm[TC_MAX_DIMS], np = 0;
        for (int r = 0; r < nr; r++)
            for (int j = 0; j < nu; j++)
                if (ul[j] == order[r]) perm[np++] = j;
        ONNX_TRY(c, x = tc_transpose(x, perm));
        int64_t full[TC_MAX_DIMS];
        /* sizes of the permuted axes, in order */
        for (int r = 0, q = 0; r < nr; r++) {
            bool has = false;
            for (int j = 0; j < nu; j++) has |= ul[j] == order[r];
            full[r] = has ? x->shape[q++] : 1;
        }
        ONNX_TRY(c, x = tc_reshape(x, nr, full));
        ONNX_TRY(c, prod = prod ? tc_mul(prod, x) : x);
    }
    if (nr > no) {
        int axes[TC_MAX_DIMS], na = 0;
        for (int r = no; r < nr; r++) axes[na++] = r;
        ONNX_TRY(c, prod = tc_sum(prod, na, axes, false));
    } else if (nt == 1)
        ONNX_TRY(c, prod = tc_mul_scalar(prod, 1)); /* a new value, still on the tape */
    /* broadcast size-1 axes of the output to their label sizes */
    int64_t oshape[TC_MAX_DIMS];
    for (int k = 0; k < no; k++) oshape[k] = size[olab[k]];
    bool same = prod->ndim == no;
    for (int k = 0; same && k < no; k++) same = prod->shape[k] == oshape[k];
    if (!same) ONNX_TRY(c, prod = tc_expand(prod, no, oshape));
    out[0] = prod;
    return TC_OK;
}
