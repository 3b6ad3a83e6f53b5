/* tinygen runtime: int16 CONCATENATION; contract in tg_concat_s16.h, body in tg_concat_body.inc. */
#include "tg_concat_s16.h"

#include <stdarg.h>
#include <string.h>

#define TG_FN tg_concat_s16
#define TG_T int16_t
#include "tg_concat_body.inc"
