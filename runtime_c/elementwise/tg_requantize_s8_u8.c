/* tinygen runtime: int8 -> uint8 requantizing QUANTIZE; contract in tg_quantize_u8.h, body in tg_requantize_body.inc. */
#include "tg_quantize_u8.h"

#include "tg_common.h"

#define TG_FN tg_requantize_s8_u8
#define TG_IN_T int8_t
#define TG_OUT_T uint8_t
#define TG_OUT_MIN 0
#define TG_OUT_MAX UINT8_MAX
#include "tg_requantize_body.inc"
