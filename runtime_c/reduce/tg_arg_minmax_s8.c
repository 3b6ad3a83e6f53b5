/* tinygen runtime: int8 ARG_MAX / ARG_MIN; contract in tg_arg_minmax_s8.h. */
#include "tg_arg_minmax_s8.h"

int tg_arg_minmax_s8(int32_t is_max, int32_t outer, int32_t axis_size, int32_t inner, const int8_t *input,
    int32_t *output)
{
    for (int32_t o = 0; o < outer; ++o) {
        const int8_t *block = input + o * axis_size * inner;
        for (int32_t i = 0; i < inner; ++i) {
            const int8_t *p = block + i;
            int32_t best = p[0], at = 0;
            for (int32_t a = 1; a < axis_size; ++a) {
                const int32_t v = p[a * inner];
                if (is_max ? v > best : v < best) { /* strict: the first index wins ties */
                    best = v;
                    at = a;
                }
            }
            *output++ = at;
        }
    }
    return TG_OK;
}
