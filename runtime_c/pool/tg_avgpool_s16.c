/* tinygen runtime: int16 AVERAGE_POOL_2D; contract in tg_pool.h, body in tg_avgpool_body.inc. */
#include "tg_pool.h"

#include "tg_window.h"

#define TG_FN tg_avgpool_s16
#define TG_T int16_t
#include "tg_avgpool_body.inc"
