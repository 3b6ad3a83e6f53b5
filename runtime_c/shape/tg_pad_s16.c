/* tinygen runtime: int16 PAD / PADV2; contract in tg_pad.h, body in tg_pad_body.inc. */
#include "tg_pad.h"

#include <string.h>

/* out[0 .. count) = value */
static void tg_pad_fill_s16(int16_t *out, int16_t value, int32_t count)
{
    for (int32_t k = 0; k < count; ++k) {
        out[k] = value;
    }
}

#define TG_FN tg_pad_s16
#define TG_T int16_t
#define TG_PAD_FILL tg_pad_fill_s16
#include "tg_pad_body.inc"
