/* tinygen runtime: int16 MEAN; contract in tg_mean.h, body in tg_mean_body.inc. */
#include "tg_mean.h"

#define TG_FN tg_mean_s16
#define TG_T int16_t
#define TG_T_MIN INT16_MIN
#define TG_T_MAX INT16_MAX
#include "tg_mean_body.inc"
