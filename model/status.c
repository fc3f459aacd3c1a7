/* status.c: messages for bd3_status values. Depends on bd3.h only. */
#include "bd3.h"

const char *bd3_status_str(bd3_status s)
{
    switch (s) {
    case BD3_OK: return "success";
    case BD3_E_IO: return "input/output error";
    case BD3_E_FORMAT: return "malformed model file";
    case BD3_E_UNSUPPORTED: return "unsupported model feature";
    case BD3_E_NOMEM: return "out of memory";
    case BD3_E_ARG: return "invalid argument";
    case BD3_E_CANCELLED: return "cancelled";
    }
    return "unknown status";
}
