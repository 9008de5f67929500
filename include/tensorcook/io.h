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
/* A float64 scalar (epoch, step, learning rate): stored and read back exactly. */
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
 * given, and the dropout layers' generator positions ("state/LAYER/..."),
 * so that training resumes exactly. */
tc_status tc_checkpoint_put_model(tc_checkpoint *ck, const tc_model *m, tc_optimizer *opt);
/* Loads into a model (and optimizer): when names or shapes differ, one
 * error lists every mismatch (missing, unexpected, shape differs, with both
 * shapes) and nothing is changed. Entries under "optimizer/", "state/" and
 * "extra/" are not model parameters. */
tc_status tc_checkpoint_get_model(const tc_checkpoint *ck, tc_model *m, tc_optimizer *opt);

/* One file per call: the model (+ optimizer state when opt is given) plus
 * the entries of extra (NULL: none), e.g. the scalars "epoch" and "step" or
 * any named tensors, stored under "extra/NAME". Written atomically. */
tc_status tc_checkpoint_save_model(const tc_model *m, tc_optimizer *opt, const char *path, const tc_checkpoint *extra);
/* Loads a file written by tc_checkpoint_save_model into m (and opt). When
 * extra is given it receives a new checkpoint holding the extra entries under
 * their own names (caller frees), e.g. tc_checkpoint_get_scalar(*extra,
 * "epoch", &e). On any error nothing is changed and *extra is NULL. */
tc_status tc_checkpoint_load_model(tc_model *m, tc_optimizer *opt, const char *path, tc_checkpoint **extra);
/* Shorthands without extra entries. */
tc_status tc_save_model(const char *path, const tc_model *m, tc_optimizer *opt);
tc_status tc_load_model(const char *path, tc_model *m, tc_optimizer *opt);

#ifdef __cplusplus
}
#endif
#endif
