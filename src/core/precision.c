/* Names of the inference precisions (tc_precision, core.h), as the CLI
 * options spell them. */
#include "internal.h"

#include <string.h>

static const char *const names[] = {"fp32", "bf16", "int8"};

bool tc_precision_parse(const char *name, tc_precision *p)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, names[i])) {
            *p = (tc_precision)i;
            return true;
        }
    return false;
}

const char *tc_precision_name(tc_precision p) { return p >= TC_PRECISION_FP32 && p <= TC_PRECISION_INT8 ? names[p] : "unknown"; }
