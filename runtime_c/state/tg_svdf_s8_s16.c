/* tinygen runtime: SVDF, int16 memory; contract in tg_svdf.h, body in tg_svdf_body.inc. */
#include "tg_svdf.h"

#define TG_FN tg_svdf_s8_s16
#define TG_T int16_t
#define TG_T_MIN INT16_MIN
#define TG_T_MAX INT16_MAX
#define TG_T_WRAP(v) ((int32_t)(((uint32_t)(v) + 0x8000u) & 0xFFFFu) - 0x8000)
#define TG_TIME_PRODUCT(w, d) ((uint32_t)((int64_t)(w) * (d)))
#include "tg_svdf_body.inc"

int32_t tg_svdf_s8_s16_get_buffer_size(int32_t filters)
{
    return filters * (int32_t)sizeof(int32_t);
}
