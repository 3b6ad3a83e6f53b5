/* tinygen runtime: LOGICAL_AND on bool; contract in tg_compare.h, body in tg_logical_body.inc. */
#include "tg_compare.h"

#define TG_FN tg_logical_and
#define TG_OP(a, b) ((a) && (b))
#include "tg_logical_body.inc"
