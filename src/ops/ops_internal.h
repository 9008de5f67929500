/* The ops' internal interface (not installed), for src/ops and the layers
 * above that call the fused kernels directly (src/nn/rnn.c): core's and
 * autograd's internals, and the fused recurrent kernels. */
#ifndef TC_OPS_INTERNAL_H
#define TC_OPS_INTERNAL_H

#include "../autograd/autograd_internal.h"
#include "tensorcook/ops.h"

/* The fused LSTM cell (src/ops/rnn_cell.c): gates g [B, 4H] with gate k of
 * (i, f, c, o) in block order[k], previous cell c [B, H] -> [h' | c'] [B, 2H]. */
tc_tensor *tc_lstm_cell_fused(tc_tensor *g, tc_tensor *c, const int *order, tc_scalar forget_bias);
/* The whole sequence (src/ops/lstm_seq.c): xw [B, T, 4H] = x W + b, U [H, 4H],
 * peephole [3H] or NULL, h0, c0 [B, H] or NULL (zeros), mask [B, T] or NULL (a constant). Returns
 * [B*T + 2B, H]: the outputs (row b*T + t), the final h, the final c. */
tc_tensor *tc_lstm_seq_fused(tc_tensor *xw, tc_tensor *U, tc_tensor *peephole, tc_tensor *h0, tc_tensor *c0, tc_tensor *mask,
                             const int *order, tc_scalar forget_bias, bool reverse);
/* The GRU's (src/ops/gru_seq.c): xw [B, T, 3H] = x W + b_input, U [H, 3H],
 * br [3H] (recurrent bias, reset_after only) or NULL, h0 [B, H] or NULL,
 * mask [B, T] or NULL. Returns [B*T + B, H]: the outputs, then the final h. */
tc_tensor *tc_gru_seq_fused(tc_tensor *xw, tc_tensor *U, tc_tensor *br, tc_tensor *h0, tc_tensor *mask, bool reset_after,
                            bool reverse);

#endif
