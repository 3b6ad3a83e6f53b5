/* tinygen runtime: int16 SQUARED_DIFFERENCE; contract in tg_math_binary.h, body in tg_squared_difference_body.inc. */
#include "tg_math_binary.h"

#define TG_FN tg_squared_difference_s16
#define TG_T int16_t
#define TG_LO INT16_MIN
#define TG_HI INT16_MAX
#include "tg_squared_difference_body.inc"
