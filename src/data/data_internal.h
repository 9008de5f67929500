/* What the loaders of src/data share (not installed). */
#ifndef TC_DATA_INTERNAL_H
#define TC_DATA_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/data.h"

/* A whole file in a malloc'd buffer with a NUL after its bytes (caller
 * frees); the error names the file ("PATH: cannot read: REASON"). Only the
 * text loaders use it; it gives way to core's whole-file reader when that
 * lands (issue 9: one home for whole-file reads). */
tc_status tc_data_read_file(const char *path, unsigned char **data, size_t *size);

#endif
