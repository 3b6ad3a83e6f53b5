/* tinygen runtime: int8 reductions; contract in tg_reduce.h, body in tg_reduce_body.inc. */
#include "tg_reduce.h"

#define TG_FN tg_reduce_s8
#define TG_T int8_t
#define TG_T_MIN INT8_MIN
#define TG_T_MAX INT8_MAX
#include "tg_reduce_body.inc"
