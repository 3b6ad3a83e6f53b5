/* tinygen runtime: bool comparisons; contract in tg_compare.h, body in tg_compare_body.inc. */
#include "tg_compare.h"

#define TG_FN tg_compare_bool
#define TG_T uint8_t
#include "tg_compare_body.inc"
