/* tinygen runtime: float32 -> int8 QUANTIZE; contract in tg_quantize_s8.h, body in tg_quantize_body.inc. */
#include "tg_quantize_s8.h"

#include "tg_common.h"

#define TG_FN tg_quantize_f32_s8
#define TG_OUT_T int8_t
#define TG_OUT_MIN INT8_MIN
#define TG_OUT_MAX INT8_MAX
#include "tg_quantize_body.inc"
