/* tinygen runtime: int32_t -> int8_t QUANTIZE; contract in tg_quantize_wide.h, body in tg_requantize_wide_body.inc. */
#include "tg_quantize_wide.h"

#define TG_FN tg_requantize_s32_s8
#define TG_IN_T int32_t
#define TG_OUT_T int8_t
#define TG_OUT_MIN INT8_MIN
#define TG_OUT_MAX INT8_MAX
#include "tg_requantize_wide_body.inc"
