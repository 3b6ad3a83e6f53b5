/* tinygen runtime: int16 -> float32 DEQUANTIZE; contract in tg_quantize_s16.h, body in tg_dequantize_body.inc. */
#include "tg_quantize_s16.h"

#include "tg_common.h"

#define TG_FN tg_dequantize_s16_f32
#define TG_IN_T int16_t
#include "tg_dequantize_body.inc"
