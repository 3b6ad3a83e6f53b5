/* tinygen runtime: int16 RSQRT; contract in tg_math.h. */
#include "tg_math.h"
#include "tg_invsqrt.h"

#define TG_RSQRT_SHIFT 20

int tg_rsqrt_s16(int32_t mult, int32_t shift, int32_t size, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = input[i];
        if (v == 0) {
            output[i] = INT16_MAX;
            continue;
        }
        int32_t inv_mult;
        int32_t inv_shift;
        tg_inv_sqrt(v, &inv_mult, &inv_shift);
        const int32_t data = tg_requantize(1, inv_mult, inv_shift + TG_RSQRT_SHIFT);
        const int32_t out = tg_requantize(data, mult, shift - TG_RSQRT_SHIFT);
        output[i] = (int16_t)tg_clamp(out, INT16_MIN, INT16_MAX);
    }
    return TG_OK;
}
