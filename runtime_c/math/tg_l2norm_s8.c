/* tinygen runtime: int8 L2_NORMALIZATION; contract in tg_math_norm.h. */
#include "tg_math_norm.h"
#include "tg_invsqrt.h"

int tg_l2norm_s8(int32_t input_zp, int32_t rows, int32_t depth, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = input + (ptrdiff_t)r * depth;
        int8_t *y = output + (ptrdiff_t)r * depth;
        uint32_t acc = 0;  /* int32 sum of squares, wrapping as TFLM's would */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = (int32_t)x[c] - input_zp;
            acc += (uint32_t)(v * v);
        }
        int32_t mult;
        int32_t shift;
        tg_inv_sqrt((int32_t)acc, &mult, &shift);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = (int32_t)x[c] - input_zp;
            y[c] = (int8_t)tg_clamp(tg_requantize(v, mult, shift + 7), -128, 127);
        }
    }
    return TG_OK;
}
