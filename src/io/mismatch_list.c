/* The mismatch list of mismatch_list.h. */
#include "mismatch_list.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tc_mismatch(tc_mismatches *mm, const char *fmt, ...)
{
    char item[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    mm->n++;
    size_t len = strlen(item);
    if (mm->used + len + 3 >= sizeof mm->msg - 32) { /* 32: room for "; ... N more" */
        mm->left_out++;
        return;
    }
    memcpy(mm->msg + mm->used, "; ", 2);
    memcpy(mm->msg + mm->used + 2, item, len + 1);
    mm->used += len + 2;
}

const char *tc_mismatches_text(tc_mismatches *mm)
{
    if (mm->left_out) snprintf(mm->msg + mm->used, sizeof mm->msg - mm->used, "; ... %d more", mm->left_out);
    return mm->msg;
}
