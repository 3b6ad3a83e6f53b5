/* tinygen runtime: reductions over any set of axes of a tensor of rank <= 5 (MEAN, SUM, REDUCE_MAX,
 * REDUCE_MIN), int8 and int16, as TFLM's reference kernels compute them.
 *
 * Input [d0, d1, d2, d3, d4] row-major (the lowering extends the rank with leading 1s and merges
 * neighbouring dimensions); bit k of `reduced` marks dimension k as reduced. Output elements are the
 * kept dimensions in row-major order (keep_dims changes the shape, not the layout). With n the count
 * of reduced values and sum their int32 sum (wrapping past 2^31 like TFLM's):
 *   mode TG_REDUCE_DIV   out = sum / n, truncated (MEAN with the output quantized as the input)
 *   mode TG_REDUCE_SCALE out = clamp(tg_requantize(sum - in_zp * n, mult, shift) + out_zp, type range),
 *                        sum - in_zp * n wrapped to int32 (SUM; MEAN with 1 / n folded into mult/shift)
 *   mode TG_REDUCE_MAX   out = the largest value;  TG_REDUCE_MIN: the smallest
 * One body for both types: tg_reduce_body.inc. No scratch. Returns TG_OK.
 */
#ifndef TG_REDUCE_H
#define TG_REDUCE_H

#include "tg_common.h"

#define TG_REDUCE_DIV 0
#define TG_REDUCE_SCALE 1
#define TG_REDUCE_MAX 2
#define TG_REDUCE_MIN 3

int tg_reduce_s8(int32_t mode, int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift, int32_t d0,
    int32_t d1, int32_t d2, int32_t d3, int32_t d4, int32_t reduced, const int8_t *input, int8_t *output);

int tg_reduce_s16(int32_t mode, int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift, int32_t d0,
    int32_t d1, int32_t d2, int32_t d3, int32_t d4, int32_t reduced, const int16_t *input, int16_t *output);

#endif /* TG_REDUCE_H */
