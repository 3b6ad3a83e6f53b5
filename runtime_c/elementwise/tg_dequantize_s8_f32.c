/* tinygen runtime: int8 -> float32 DEQUANTIZE; contract in tg_quantize_s8.h, body in tg_dequantize_body.inc. */
#include "tg_quantize_s8.h"

#include "tg_common.h"

#define TG_FN tg_dequantize_s8_f32
#define TG_IN_T int8_t
#include "tg_dequantize_body.inc"
