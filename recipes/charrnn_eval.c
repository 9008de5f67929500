/* tensorcook charrnn --eval: the validation loss of a checkpoint computed
 * through the batch-1 generation path (tc_sampler, the prepared LSTM stepper
 * and Dense plan), so fp32, bf16 and int8 weights are compared on the very steps
 * --sample runs. The validation characters are read in order with the
 * states kept (one step per character, like generation), and each step's
 * probability of the next character is scored: mean -log p in nats/char.
 * This is a stateful loss, not the 25-character windows training reports
 * (those reset the state per window), so compare fp32 with bf16 here, not
 * with the training log. */
#include "charrnn_eval.h"
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORTUNES "/usr/share/games/fortunes"

int charrnn_eval_command(const char *checkpoint, const char *text, long long max_chars, double val_split, int seq_len,
                         int step, tc_precision prec)
{
    int V = 0, rc = 1;
    uint32_t *chars = NULL, *cp = NULL;
    size_t ncp = 0;
    tc_char_vocab *v = NULL;
    tc_sampler *s = NULL;
    tc_model *m = tc_charrnn_load(checkpoint, seq_len, NULL, &V, &chars, NULL);
    if (!m || !(v = tc_char_vocab_new(V, chars))) goto fail;
    if ((text ? tc_load_utf8_text(text, &cp, &ncp) : tc_load_utf8_folder(FORTUNES, &cp, &ncp)) != TC_OK) goto fail;
    if (max_chars < 0) max_chars = text ? 0 : 150000; /* the training command's defaults */
    if (max_chars > 0 && (size_t)max_chars < ncp) ncp = (size_t)max_chars;
    if (ncp < (size_t)seq_len + 1) {
        fprintf(stderr, "tensorcook charrnn: --eval: %zu characters, too few for one sequence\n", ncp);
        goto done;
    }
    /* the split of tc_char_sequences: sequence k starts at k * step; the
     * validation ones are the last nval, so their text starts at ntrain * step */
    int64_t nseq = (int64_t)((ncp - (size_t)seq_len - 1) / (size_t)step) + 1;
    int64_t nval = (int64_t)((double)nseq * val_split), first = (nseq - nval) * (int64_t)step;
    if (nval < 1 || (int64_t)ncp - first < 2) {
        fprintf(stderr, "tensorcook charrnn: --eval: no validation text (--val-split %g of %lld sequences)\n", val_split,
                (long long)nseq);
        goto done;
    }
    if (!(s = tc_sampler_new(m, &(tc_sampler_opts){.precision = prec}))) goto fail;
    int64_t id = tc_char_vocab_id(v, cp[first]);
    double nats = 0, t0 = wall_seconds(), c0 = process_cpu_seconds();
    const tc_tensor *p = NULL;
    for (size_t i = (size_t)first; i + 1 < ncp; i++) {
        int64_t next = tc_char_vocab_id(v, cp[i + 1]);
        if (id < 0 || next < 0) {
            fprintf(stderr, "tensorcook charrnn: --eval: character U+%04X at %zu is not in %s's vocabulary (another text?)\n",
                    (unsigned)cp[id < 0 ? i : i + 1], id < 0 ? i : i + 1, checkpoint);
            goto done;
        }
        if (!(p = tc_sampler_step(s, &id))) goto fail;
        nats -= log(fmax((double)p->data[next], 1e-30));
        id = next;
    }
    double secs = wall_seconds() - t0, cpu = process_cpu_seconds() - c0;
    long long n = (long long)(ncp - 1 - (size_t)first);
    printf("validation loss %.5f nats/char (%s weights, %lld characters read in order through the generation stepper, "
           "%.0f characters/s, %.0f per CPU second)\n",
           nats / (double)n, prec == TC_PRECISION_INT8 ? "int8" : prec == TC_PRECISION_BF16 ? "bf16" : "fp32", n, (double)n / fmax(secs, 1e-9),
           (double)n / fmax(cpu, 1e-9));
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
done:
    tc_sampler_free(s);
    free(cp), free(chars);
    tc_char_vocab_free(v);
    tc_model_free(m);
    return rc;
}
