/* tinygen runtime: s8 comparisons; contract in tg_compare.h, body in tg_compare_body.inc. */
#include "tg_compare.h"

#define TG_FN tg_compare_s8
#define TG_T int8_t
#define TG_SCALED
#include "tg_compare_body.inc"
