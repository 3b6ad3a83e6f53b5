/* tinygen runtime: int16 -> int8 requantizing QUANTIZE; contract in tg_quantize_s16.h, body in tg_requantize_body.inc. */
#include "tg_quantize_s16.h"

#include "tg_common.h"

#define TG_FN tg_requantize_s16_s8
#define TG_IN_T int16_t
#define TG_OUT_T int8_t
#define TG_OUT_MIN INT8_MIN
#define TG_OUT_MAX INT8_MAX
#include "tg_requantize_body.inc"
