/* tinygen runtime: int8_t -> int32_t QUANTIZE; contract in tg_quantize_wide.h, body in tg_requantize_wide_body.inc. */
#include "tg_quantize_wide.h"

#define TG_FN tg_requantize_s8_s32
#define TG_IN_T int8_t
#define TG_OUT_T int32_t
#define TG_OUT_MIN INT32_MIN
#define TG_OUT_MAX INT32_MAX
#include "tg_requantize_wide_body.inc"
