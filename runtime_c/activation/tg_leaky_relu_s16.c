/* tinygen runtime: int16 LEAKY_RELU; contract in tg_leaky_relu.h, body in tg_leaky_relu_body.inc. */
#include "tg_leaky_relu.h"

#include "tg_common.h"

#define TG_FN tg_leaky_relu_s16
#define TG_T int16_t
#define TG_T_MIN INT16_MIN
#define TG_T_MAX INT16_MAX
#include "tg_leaky_relu_body.inc"
