/* tinygen runtime: int16 MINIMUM; contract in tg_minmax.h, body in tg_minmax_body.inc. */
#include "tg_minmax.h"

#define TG_FN tg_minimum_s16
#define TG_T int16_t
#define TG_PICK(a, b) ((a) < (b) ? (a) : (b))
#include "tg_minmax_body.inc"
