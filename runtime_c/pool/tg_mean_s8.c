#include "tg_mean_s8.h"

int tg_mean_s8(int32_t reduce0, int32_t reduce1, int32_t reduce2, int32_t reduce3,
               int32_t requantize, int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift,
               int32_t d0, int32_t d1, int32_t d2, int32_t d3, const int8_t *input,
               int8_t *output)
{
    const int32_t dims[4] = {d0, d1, d2, d3};
    const int32_t reduced[4] = {reduce0, reduce1, reduce2, reduce3};
    int32_t strides[4];
    int32_t kept[4];    /* extent of the output loop along each dimension */
    int32_t inner[4];   /* extent of the reduction loop along each dimension */
    int32_t count = 1;
    strides[3] = 1;
    for (int32_t k = 3; k > 0; --k) {
        strides[k - 1] = strides[k] * dims[k];
    }
    for (int32_t k = 0; k < 4; ++k) {
        kept[k] = reduced[k] ? 1 : dims[k];
        inner[k] = reduced[k] ? dims[k] : 1;
        count *= inner[k];
    }
    for (int32_t o0 = 0; o0 < kept[0]; ++o0) {
        for (int32_t o1 = 0; o1 < kept[1]; ++o1) {
            for (int32_t o2 = 0; o2 < kept[2]; ++o2) {
                for (int32_t o3 = 0; o3 < kept[3]; ++o3) {
                    const int8_t *base = input + o0 * strides[0] + o1 * strides[1]
                                         + o2 * strides[2] + o3;
                    int32_t sum = 0;
                    for (int32_t r0 = 0; r0 < inner[0]; ++r0) {
                        for (int32_t r1 = 0; r1 < inner[1]; ++r1) {
                            for (int32_t r2 = 0; r2 < inner[2]; ++r2) {
                                const int8_t *row = base + r0 * strides[0] + r1 * strides[1]
                                                    + r2 * strides[2];
                                for (int32_t r3 = 0; r3 < inner[3]; ++r3) {
                                    sum += row[r3];
                                }
                            }
                        }
                    }
                    int32_t out;
                    if (requantize) {
                        out = tg_requantize(sum - in_zp * count, mult, shift) + out_zp;
                        out = tg_clamp(out, INT8_MIN, INT8_MAX);
                    } else {
                        out = sum / count;
                    }
                    *output++ = (int8_t)out;
                }
            }
        }
    }
    return TG_OK;
}
