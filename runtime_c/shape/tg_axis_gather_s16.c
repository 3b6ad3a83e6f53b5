/* tinygen runtime: int16 per-axis gather (MIRROR_PAD, REVERSE_V2, BROADCAST_TO); contract in
 * tg_axis_gather.h, body in tg_axis_gather_body.inc. */
#include "tg_axis_gather.h"

#include <string.h>

#define TG_FN tg_axis_gather_s16
#define TG_T int16_t
#include "tg_axis_gather_body.inc"
