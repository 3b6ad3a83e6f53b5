/* tinygen runtime: int16 RESIZE_NEAREST_NEIGHBOR; contract in tg_resize.h, body in tg_resize_nearest_body.inc. */
#include "tg_resize.h"

#include <string.h>

#define TG_FN tg_resize_nearest_s16
#define TG_T int16_t
#include "tg_resize_nearest_body.inc"
