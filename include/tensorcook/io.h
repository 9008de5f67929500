/* Checkpoints: versioned, checksummed files of named tensors, written
 * atomically (temporary file, fsync, rename), so a crash never leaves a
 * corrupt or half-written checkpoint. */
#ifndef TENSORCOOK_IO_H
#define TENSORCOOK_IO_H

#include "core.h"
#include "nn.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_checkpoint tc_checkpoint; /* an in-memory set of named tensors */

tc_checkpoint *tc_checkpoint_new(void);
void tc_checkpoint_free(tc_checkpoint *ck);
/* Copies t (any layout) under name; replaces an entry of the same name. */
tc_status tc_checkpoint_put(tc_checkpoint *ck, const char *name, const tc_tensor *t);
tc_status tc_checkpoint_put_scalar(tc_checkpoint *ck, const char *name, double v);
/* The stored tensor (owned by the checkpoint) or NULL. */
const tc_tensor *tc_checkpoint_get(const tc_checkpoint *ck, const char *name);
bool tc_checkpoint_get_scalar(const tc_checkpoint *ck, const char *name, double *v);
int tc_checkpoint_count(const tc_checkpoint *ck);
const char *tc_checkpoint_name(const tc_checkpoint *ck, int i);

tc_status tc_checkpoint_save(const tc_checkpoint *ck, const char *path);
/* Errors name the file: missing, not a checkpoint, unknown version,
 * truncated, checksum mismatch. */
tc_checkpoint *tc_checkpoint_load(const char *path);

/* A model's parameters (all, trainable or not) under their names, the
 * optimizer's slots ("optimizer/NAME/SLOT") and step count when opt is
 * given, so that training resumes exactly. */
tc_status tc_checkpoint_put_model(tc_checkpoint *ck, const tc_model *m, tc_optimizer *opt);
/* Loads into a model (and optimizer): when names or shapes differ, one
 * error lists every mismatch and nothing is changed. */
tc_status tc_checkpoint_get_model(const tc_checkpoint *ck, tc_model *m, tc_optimizer *opt);
/* Shorthands: save/load a model (+ optimizer, + named scalars such as the epoch). */
tc_status tc_save_model(const char *path, const tc_model *m, tc_optimizer *opt);
tc_status tc_load_model(const char *path, tc_model *m, tc_optimizer *opt);

#ifdef __cplusplus
}
#endif
#endif
