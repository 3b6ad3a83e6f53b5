/* tinygen runtime: int8 LOGISTIC; contract in tg_logistic_s8.h, body in tg_sigmoid_s8_body.inc. */
#include "tg_logistic_s8.h"

#include "tg_fixedpoint.h"

#define TG_FN tg_logistic_s8
#define TG_FP_FN tg_fp_logistic
#define TG_OUT(y) (tg_rdbpot((y), 31 - 8) + INT8_MIN) /* [0, 1) in Q0.31 -> [-128, 127] */
#include "tg_sigmoid_s8_body.inc"
