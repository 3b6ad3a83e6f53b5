#include "tg_pad_s8.h"

#include <string.h>

int tg_pad_s8(int32_t before0, int32_t before1, int32_t before2, int32_t before3,
              int32_t pad_value,
              int32_t i0, int32_t i1, int32_t i2, int32_t i3, const int8_t *input,
              int32_t o0, int32_t o1, int32_t o2, int32_t o3, int8_t *output)
{
    if (before0 < 0 || before1 < 0 || before2 < 0 || before3 < 0 || before0 + i0 > o0
        || before1 + i1 > o1 || before2 + i2 > o2 || before3 + i3 > o3) {
        return TG_ERROR;
    }
    const int8_t fill = (int8_t)pad_value;
    for (int32_t y0 = 0; y0 < o0; ++y0) {
        const int32_t x0 = y0 - before0;
        for (int32_t y1 = 0; y1 < o1; ++y1) {
            const int32_t x1 = y1 - before1;
            for (int32_t y2 = 0; y2 < o2; ++y2) {
                const int32_t x2 = y2 - before2;
                int8_t *out_row = output + (((size_t)y0 * (size_t)o1 + (size_t)y1) * (size_t)o2
                                            + (size_t)y2) * (size_t)o3;
                if (x0 < 0 || x0 >= i0 || x1 < 0 || x1 >= i1 || x2 < 0 || x2 >= i2) {
                    memset(out_row, fill, (size_t)o3);
                    continue;
                }
                const int8_t *in_row = input + (((size_t)x0 * (size_t)i1 + (size_t)x1)
                                                * (size_t)i2 + (size_t)x2) * (size_t)i3;
                memset(out_row, fill, (size_t)before3);
                memcpy(out_row + before3, in_row, (size_t)i3);
                memset(out_row + before3 + i3, fill, (size_t)(o3 - before3 - i3));
            }
        }
    }
    return TG_OK;
}
