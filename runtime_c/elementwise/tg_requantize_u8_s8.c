/* tinygen runtime: uint8 -> int8 requantizing QUANTIZE; contract in tg_quantize_u8.h, body in tg_requantize_body.inc. */
#include "tg_quantize_u8.h"

#include "tg_common.h"

#define TG_FN tg_requantize_u8_s8
#define TG_IN_T uint8_t
#define TG_OUT_T int8_t
#define TG_OUT_MIN INT8_MIN
#define TG_OUT_MAX INT8_MAX
#include "tg_requantize_body.inc"
