/* Models that recipes build themselves, for the other subcommands that
 * rebuild them from a checkpoint (tensorcook onnx export). */
#ifndef TC_RECIPE_MODELS_H
#define TC_RECIPE_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "tensorcook/nn.h"

/* textcnn's network (recipes/textcnn.c): Embedding(vocab, 128), Conv1D
 * 3/4/5 x 128, merged along the channels (after a max over time each) or
 * along time (then one max), Dropout, Dense(2). */
tc_model *textcnn_model(int64_t vocab, int64_t maxlen, bool merge_channels);
/* video's three models (recipes/video.c) on clips of TC_VIDEO_CLIP_FRAMES
 * frames of size x size: method 0 the per-frame CNN, 1 the TimeDistributed
 * CNN + LSTM, 2 C3D with its widths divided by divisor. */
tc_model *video_model(int method, int size, int classes, int divisor);

#endif
