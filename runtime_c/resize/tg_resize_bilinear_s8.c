/* tinygen runtime: int8 RESIZE_BILINEAR (TFLM's integer path); contract in tg_resize.h. */
#include "tg_resize.h"

#define TG_ONE_10 1024

int tg_resize_bilinear_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
    int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *input, int8_t *output)
{
    const ptrdiff_t row_len = (ptrdiff_t)in_w * depth;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *image = input + (ptrdiff_t)b * in_h * row_len;
        for (int32_t y = 0; y < out_h; ++y) {
            const int8_t *row0 = image + (ptrdiff_t)rows[3 * y] * row_len;
            const int8_t *row1 = image + (ptrdiff_t)rows[3 * y + 1] * row_len;
            const int32_t wy1 = rows[3 * y + 2];
            const int32_t wy0 = TG_ONE_10 - wy1;
            for (int32_t x = 0; x < out_w; ++x) {
                const ptrdiff_t c0 = (ptrdiff_t)cols[3 * x] * depth;
                const ptrdiff_t c1 = (ptrdiff_t)cols[3 * x + 1] * depth;
                const int32_t wx1 = cols[3 * x + 2];
                const int32_t wx0 = TG_ONE_10 - wx1;
                const int32_t w00 = wy0 * wx0, w10 = wy1 * wx0, w01 = wy0 * wx1, w11 = wy1 * wx1;
                for (int32_t c = 0; c < depth; ++c) {
                    const int32_t sum = row0[c0 + c] * w00 + row1[c0 + c] * w10 + row0[c1 + c] * w01
                                        + row1[c1 + c] * w11;
                    const int32_t rounded = sum + (sum > 0 ? (1 << 19) : -(1 << 19));
                    *output++ = (int8_t)(rounded / (1 << 20));
                }
            }
        }
    }
    return TG_OK;
}
