/* tinygen runtime: int8 SQUARED_DIFFERENCE; contract in tg_math_binary.h, body in tg_squared_difference_body.inc. */
#include "tg_math_binary.h"

#define TG_FN tg_squared_difference_s8
#define TG_T int8_t
#define TG_LO INT8_MIN
#define TG_HI INT8_MAX
#include "tg_squared_difference_body.inc"
