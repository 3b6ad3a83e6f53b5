#include "tg_mean_s16.h"

int tg_mean_s16(int32_t reduce0, int32_t reduce1, int32_t reduce2, int32_t reduce3,
                int32_t requantize, int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift,
                int32_t d0, int32_t d1, int32_t d2, int32_t d3, const int16_t *input,
                int16_t *output)
{
    const int32_t dims[4] = {d0, d1, d2, d3};
    const int32_t reduced[4] = {reduce0, reduce1, reduce2, reduce3};
    int32_t stride[4];
    int32_t outer[4]; /* loop extents over the kept dimensions */
    int32_t inner[4]; /* loop extents over the reduced dimensions */
    int32_t count = 1;
    stride[3] = 1;
    for (int32_t k = 3; k > 0; --k) {
        stride[k - 1] = stride[k] * dims[k];
    }
    for (int32_t k = 0; k < 4; ++k) {
        outer[k] = reduced[k] ? 1 : dims[k];
        inner[k] = reduced[k] ? dims[k] : 1;
        count *= inner[k];
    }
    int32_t o[4];
    int32_t r[4];
    for (o[0] = 0; o[0] < outer[0]; ++o[0]) {
        for (o[1] = 0; o[1] < outer[1]; ++o[1]) {
            for (o[2] = 0; o[2] < outer[2]; ++o[2]) {
                for (o[3] = 0; o[3] < outer[3]; ++o[3]) {
                    int32_t sum = 0;
                    for (r[0] = 0; r[0] < inner[0]; ++r[0]) {
                        for (r[1] = 0; r[1] < inner[1]; ++r[1]) {
                            for (r[2] = 0; r[2] < inner[2]; ++r[2]) {
                                for (r[3] = 0; r[3] < inner[3]; ++r[3]) {
                                    ptrdiff_t at = 0;
                                    for (int32_t k = 0; k < 4; ++k) {
                                        at += (ptrdiff_t)(o[k] + r[k]) * stride[k];
                                    }
                                    sum += input[at];
                                }
                            }
                        }
                    }
                    int32_t out;
                    if (requantize) {
                        out = tg_requantize(sum - in_zp * count, mult, shift) + out_zp;
                        out = tg_clamp(out, INT16_MIN, INT16_MAX);
                    } else {
                        out = sum / count;
                    }
                    *output++ = (int16_t)out;
                }
            }
        }
    }
    return TG_OK;
}
