/* tinygen runtime: int8 PRELU (alpha int8); contract in tg_prelu.h, body in tg_prelu_body.inc. */
#include "tg_prelu.h"

#define TG_FN tg_prelu_s8
#define TG_T int8_t
#define TG_OUT_MIN INT8_MIN
#define TG_OUT_MAX INT8_MAX
#include "tg_prelu_body.inc"
