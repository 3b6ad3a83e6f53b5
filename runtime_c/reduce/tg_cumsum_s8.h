/* tinygen runtime: int8 CUMSUM along one axis, TFLM's quantized arithmetic.
 *
 * Input and output viewed as [outer, depth, inner] row-major; the running sum goes along depth, from
 * its end when reverse != 0. Each input x is scaled to s(x) = tg_requantize((x - in_zp) * 2^20,
 * in_mult, in_shift); the accumulator starts at acc0 (the lowering's s(0), which is TFLM's start value,
 * not 0) and adds s(x) in int32 arithmetic that wraps like TFLM's; exclusive outputs the accumulator
 * before adding. out = clamp(tg_requantize(acc, out_mult, out_shift) + out_zp, -128, 127).
 * No scratch. Returns TG_OK.
 */
#ifndef TG_CUMSUM_S8_H
#define TG_CUMSUM_S8_H

#include "tg_common.h"

int tg_cumsum_s8(int32_t exclusive, int32_t reverse, int32_t outer, int32_t depth, int32_t inner, int32_t in_zp,
    int32_t acc0, int32_t in_mult, int32_t in_shift, int32_t out_mult, int32_t out_shift, int32_t out_zp,
    const int8_t *input, int8_t *output);

#endif /* TG_CUMSUM_S8_H */
