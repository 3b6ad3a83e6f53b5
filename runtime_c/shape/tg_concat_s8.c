/* tinygen runtime: int8 CONCATENATION; contract in tg_concat_s8.h, body in tg_concat_body.inc. */
#include "tg_concat_s8.h"

#include <stdarg.h>
#include <string.h>

#define TG_FN tg_concat_s8
#define TG_T int8_t
#include "tg_concat_body.inc"
