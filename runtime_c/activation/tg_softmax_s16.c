#include "tg_softmax_s16.h"
#include "tg_fixedpoint.h"

int tg_softmax_s16(int32_t input_mult, int32_t input_shift, int32_t rows, int32_t depth,
    const int16_t *exp_lut, const int16_t *recip_lut, const int16_t *input, int16_t *output)
{
    for (int32_t r = 0; r < rows; ++r) {
        const int16_t *x = input + (ptrdiff_t)r * depth;
        int16_t *y = output + (ptrdiff_t)r * depth;
        int32_t top = INT16_MIN;
        for (int32_t c = 0; c < depth; ++c) {
            top = TG_MAX(top, (int32_t)x[c]);
        }
        int32_t sum = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t scaled = tg_requantize((int32_t)x[c] - top, input_mult, input_shift);
            y[c] = tg_lut_s16((int16_t)tg_clamp(scaled + 32767, INT16_MIN, INT16_MAX), exp_lut);
            sum += y[c];
        }
        const int32_t lz = tg_fp_clz32((uint32_t)sum);
        const int32_t norm = (int32_t)((((int64_t)sum << (lz - 1)) + (1 << 13)) >> 14);
        const int16_t recip = tg_lut_s16(
            (int16_t)tg_clamp(norm - (1 << 15) - (1 << 16), INT16_MIN, INT16_MAX), recip_lut);
        const int32_t down = 31 - lz;
        const int64_t half = (int64_t)1 << (down - 1);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = (int32_t)(((int64_t)y[c] * recip + half) >> down);
            y[c] = (int16_t)tg_clamp(v, 0, INT16_MAX);
        }
    }
    return TG_OK;
}
