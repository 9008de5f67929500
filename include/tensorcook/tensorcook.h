/* tensorcook: a small deep-learning framework in C. One include for all. */
#ifndef TENSORCOOK_H
#define TENSORCOOK_H

#include "core.h"
#include "autograd.h"
#include "ops.h"
#include "optim.h"
#include "nn.h"
#include "io.h"
#include "data.h"
#include "train.h"
#include "rnn.h"
#include "plot.h"
#include "models.h"
#include "keras.h"
#include "matconvnet.h"
#include "image.h"
#include "video.h"
#include "models.h"
#include "text.h"
#include "audio.h"
#include "wavenet.h"
#include "word_vectors.h"
#include "qa.h"

#endif
