/* tinygen runtime: int16 strided copy; contract in tg_copy_strided.h, body in tg_copy_strided_body.inc. */
#include "tg_copy_strided.h"

#include <string.h>

#define TG_FN tg_copy_strided_s16
#define TG_T int16_t
#include "tg_copy_strided_body.inc"
