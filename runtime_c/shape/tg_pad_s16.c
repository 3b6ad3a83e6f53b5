/* tinygen runtime: int16 PAD; contract in tg_pad_s16.h. */
#include "tg_pad_s16.h"

static void fill_s16(int16_t *out, int16_t value, int32_t count)
{
    for (int32_t k = 0; k < count; ++k) {
        out[k] = value;
    }
}

int tg_pad_s16(int32_t before0, int32_t before1, int32_t before2, int32_t before3,
               int32_t pad_value,
               int32_t i0, int32_t i1, int32_t i2, int32_t i3, const int16_t *input,
               int32_t o0, int32_t o1, int32_t o2, int32_t o3, int16_t *output)
{
    if (before0 < 0 || before1 < 0 || before2 < 0 || before3 < 0 || before0 + i0 > o0
        || before1 + i1 > o1 || before2 + i2 > o2 || before3 + i3 > o3) {
        return TG_ERROR;
    }
    const int16_t fill = (int16_t)pad_value;
    for (int32_t y0 = 0; y0 < o0; ++y0) {
        const int32_t x0 = y0 - before0;
        for (int32_t y1 = 0; y1 < o1; ++y1) {
            const int32_t x1 = y1 - before1;
            for (int32_t y2 = 0; y2 < o2; ++y2) {
                const int32_t x2 = y2 - before2;
                int16_t *out_row = output + (((ptrdiff_t)y0 * o1 + y1) * o2 + y2) * o3;
                if (x0 < 0 || x0 >= i0 || x1 < 0 || x1 >= i1 || x2 < 0 || x2 >= i2) {
                    fill_s16(out_row, fill, o3);
                    continue;
                }
                const int16_t *in_row = input + (((ptrdiff_t)x0 * i1 + x1) * i2 + x2) * i3;
                fill_s16(out_row, fill, before3);
                for (int32_t k = 0; k < i3; ++k) {
                    out_row[before3 + k] = in_row[k];
                }
                fill_s16(out_row + before3 + i3, fill, o3 - before3 - i3);
            }
        }
    }
    return TG_OK;
}
