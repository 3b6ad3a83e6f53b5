/* tinygen runtime: int8 TANH; contract in tg_tanh_s8.h, body in tg_sigmoid_s8_body.inc. */
#include "tg_tanh_s8.h"

#include "tg_fixedpoint.h"

#define TG_FN tg_tanh_s8
#define TG_FP_FN tg_fp_tanh
#define TG_OUT(y) tg_rdbpot((y), 31 - 7) /* (-1, 1) in Q0.31 -> [-128, 127] */
#include "tg_sigmoid_s8_body.inc"
