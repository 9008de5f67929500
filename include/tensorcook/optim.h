/* Optimizers (filled in by the optimizer work; see src/optim/). */
#ifndef TENSORCOOK_OPTIM_H
#define TENSORCOOK_OPTIM_H

#include "core.h"

#endif
