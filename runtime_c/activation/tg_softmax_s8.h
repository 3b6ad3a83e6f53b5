/* tinygen runtime: SOFTMAX, int8 in -> int8 out (TFLM reference integer path).
 *
 * Contract: the input is `rows` rows of `depth` int8 values (the last axis); the output has the
 * same layout with scale 1/256 and zero point -128. Per row, with d = x - max(row):
 *   d < diff_min            -> -128 (exp underflows)
 *   otherwise               e = exp(srdhm(d << input_left_shift, input_mult)) read as Q5.26,
 *                           out = rdbpot(srdhm(1/sum(e), e), num_bits_over_unit + 23) - 128.
 * The sum accumulates in Q12.19. input_mult/input_left_shift/diff_min are precomputed by
 * tinygen/kernels/activation.py (TFLM's PreprocessSoftmaxScaling, CalculateInputRadius, 5 bits).
 * No scratch. Returns TG_OK, or TG_ERROR if depth < 1.
 */
#ifndef TG_SOFTMAX_S8_H
#define TG_SOFTMAX_S8_H

#include <stdint.h>

int tg_softmax_s8(int32_t input_mult, int32_t input_left_shift, int32_t diff_min, int32_t rows, int32_t depth,
    const int8_t *input, int8_t *output);

#endif /* TG_SOFTMAX_S8_H */
