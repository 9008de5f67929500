/* tensorcook charrnn --eval (recipes/charrnn_eval.c). */
#ifndef TC_RECIPES_CHARRNN_EVAL_H
#define TC_RECIPES_CHARRNN_EVAL_H

#include "tensorcook/tensorcook.h"

/* Mean nats/char of the checkpoint on the validation part of the text
 * (the last val_split of the sequences of seq_len taken every step
 * characters, as training splits it), read one character at a time through
 * tc_sampler with `prec` weights. text NULL: the fortunes folder. Prints the
 * result; returns the exit status. */
int charrnn_eval_command(const char *checkpoint, const char *text, long long max_chars, double val_split, int seq_len,
                         int step, tc_precision prec);

#endif
