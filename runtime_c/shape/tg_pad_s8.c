/* tinygen runtime: int8 PAD / PADV2; contract in tg_pad.h, body in tg_pad_body.inc. */
#include "tg_pad.h"

#include <string.h>

#define TG_FN tg_pad_s8
#define TG_T int8_t
#define TG_PAD_FILL(out, value, count) memset((out), (value), (size_t)(count))
#include "tg_pad_body.inc"
