/* tinygen runtime: int16 SUB; contract in tg_add.h, body in tg_add_body.inc. */
#include "tg_add.h"

#define TG_FN tg_sub_s16
#define TG_T int16_t
#define TG_COMBINE(a, b) ((a) - (b))
#include "tg_add_body.inc"
