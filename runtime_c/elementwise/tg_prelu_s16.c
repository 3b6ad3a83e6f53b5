/* tinygen runtime: int16 PRELU (alpha int8); contract in tg_prelu.h, body in tg_prelu_body.inc. */
#include "tg_prelu.h"

#define TG_FN tg_prelu_s16
#define TG_T int16_t
#define TG_OUT_MIN INT16_MIN
#define TG_OUT_MAX INT16_MAX
#include "tg_prelu_body.inc"
