/* One error message that lists every mismatch a loader finds between a file
 * and a model (checkpoint.c, keras_h5_load.c), so the user fixes them all at
 * once: items appended as "; item" while they fit, the rest counted. */
#ifndef TC_IO_MISMATCH_LIST_H
#define TC_IO_MISMATCH_LIST_H

#include <stddef.h>

typedef struct {
    char msg[1400];
    size_t used;
    int n, left_out;
} tc_mismatches;

void tc_mismatch(tc_mismatches *mm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the list ("; a; b; ... 3 more"), to follow the error's own words */
const char *tc_mismatches_text(tc_mismatches *mm);

#endif
