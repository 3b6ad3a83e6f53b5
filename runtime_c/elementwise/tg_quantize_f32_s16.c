/* tinygen runtime: float32 -> int16 QUANTIZE; contract in tg_quantize_s16.h, body in tg_quantize_body.inc. */
#include "tg_quantize_s16.h"

#include "tg_common.h"

#define TG_FN tg_quantize_f32_s16
#define TG_OUT_T int16_t
#define TG_OUT_MIN INT16_MIN
#define TG_OUT_MAX INT16_MAX
#include "tg_quantize_body.inc"
