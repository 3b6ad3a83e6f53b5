/* tinygen runtime: int8 MAX_POOL_2D; contract in tg_pool.h, body in tg_maxpool_body.inc. */
#include "tg_pool.h"

#include "tg_window.h"

#define TG_FN tg_maxpool_s8
#define TG_T int8_t
#define TG_T_MIN INT8_MIN
#include "tg_maxpool_body.inc"
