/* tinygen runtime: int16_t SELECT_V2; contract in tg_compare.h, body in tg_select_body.inc. */
#include "tg_compare.h"

#define TG_FN tg_select_s16
#define TG_T int16_t
#include "tg_select_body.inc"
