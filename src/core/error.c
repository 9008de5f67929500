/* Errors: a status plus a message per thread. The library never prints. */
#include "internal.h"

#include <stdarg.h>

static _Thread_local char last_message[1024];
static _Thread_local tc_status last_status = TC_OK;

const char *tc_last_error(void) { return last_message; }
tc_status tc_last_status(void) { return last_status; }

void tc_clear_error(void)
{
    last_message[0] = '\0';
    last_status = TC_OK;
}

tc_status tc_error(tc_status status, const char *fmt, ...)
{
    /* formatted aside first, so the current message may be an argument
     * (tc_error(s, "checkpoint %s", tc_last_error()) adds context) */
    char msg[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_message, msg, sizeof msg);
    last_status = status;
    return status;
}

const char *tc_version(void) { return TC_VERSION_STRING; }
