/* tinygen runtime: int8 CUMSUM; contract in tg_cumsum_s8.h. */
#include "tg_cumsum_s8.h"

int tg_cumsum_s8(int32_t exclusive, int32_t reverse, int32_t outer, int32_t depth, int32_t inner, int32_t in_zp,
    int32_t acc0, int32_t in_mult, int32_t in_shift, int32_t out_mult, int32_t out_shift, int32_t out_zp,
    const int8_t *input, int8_t *output)
{
    const int32_t step = reverse ? -inner : inner;
    for (int32_t o = 0; o < outer; ++o) {
        for (int32_t i = 0; i < inner; ++i) {
            int32_t at = o * depth * inner + i + (reverse ? (depth - 1) * inner : 0);
            uint32_t acc = (uint32_t)acc0;
            for (int32_t d = 0; d < depth; ++d, at += step) {
                const int32_t y = tg_requantize((int32_t)((uint32_t)(input[at] - in_zp) << 20), in_mult, in_shift);
                const uint32_t before = acc;
                acc += (uint32_t)y;
                const int32_t v = (int32_t)(exclusive ? before : acc);
                output[at] = (int8_t)tg_clamp(tg_requantize(v, out_mult, out_shift) + out_zp, -128, 127);
            }
        }
    }
    return TG_OK;
}
