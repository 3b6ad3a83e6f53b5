/* tinygen runtime: int8 LEAKY_RELU; contract in tg_leaky_relu.h, body in tg_leaky_relu_body.inc. */
#include "tg_leaky_relu.h"

#include "tg_common.h"

#define TG_FN tg_leaky_relu_s8
#define TG_T int8_t
#define TG_T_MIN INT8_MIN
#define TG_T_MAX INT8_MAX
#include "tg_leaky_relu_body.inc"
