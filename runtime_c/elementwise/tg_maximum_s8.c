/* tinygen runtime: int8 MAXIMUM; contract in tg_minmax.h, body in tg_minmax_body.inc. */
#include "tg_minmax.h"

#define TG_FN tg_maximum_s8
#define TG_T int8_t
#define TG_PICK(a, b) ((a) > (b) ? (a) : (b))
#include "tg_minmax_body.inc"
