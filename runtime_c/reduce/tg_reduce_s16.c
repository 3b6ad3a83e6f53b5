/* tinygen runtime: int16 reductions; contract in tg_reduce.h, body in tg_reduce_body.inc. */
#include "tg_reduce.h"

#define TG_FN tg_reduce_s16
#define TG_T int16_t
#define TG_T_MIN INT16_MIN
#define TG_T_MAX INT16_MAX
#include "tg_reduce_body.inc"
