/* tinygen runtime: int8 MEAN; contract in tg_mean.h, body in tg_mean_body.inc. */
#include "tg_mean.h"

#define TG_FN tg_mean_s8
#define TG_T int8_t
#define TG_T_MIN INT8_MIN
#define TG_T_MAX INT8_MAX
#include "tg_mean_body.inc"
