/* tinygen runtime: int8 AVERAGE_POOL_2D; contract in tg_pool.h, body in tg_avgpool_body.inc. */
#include "tg_pool.h"

#include "tg_window.h"

#define TG_FN tg_avgpool_s8
#define TG_T int8_t
#include "tg_avgpool_body.inc"
