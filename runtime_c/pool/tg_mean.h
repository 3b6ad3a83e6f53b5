/* tinygen runtime: MEAN over any set of axes, int8 and int16 (TFLM reference semantics).
 *
 * Input [d0, d1, d2, d3] row-major (rank extended to 4 with leading 1s); reduce_k != 0 marks a
 * reduced dimension. Output elements are the kept dimensions in row-major order (keep_dims only
 * changes the shape, not the layout). With sum the int32 sum of the n reduced input values:
 *   requantize == 0 (input and output share scale and zero point): out = sum / n, truncated
 *   requantize != 0: out = clamp(tg_requantize(sum - in_zp * n, mult, shift) + out_zp, type min, type max)
 *                    where mult / shift already fold in_scale / out_scale and 1 / n.
 * One body for both types: tg_mean_body.inc. No scratch. Returns TG_OK.
 */
#ifndef TG_MEAN_H
#define TG_MEAN_H

#include "tg_common.h"

int tg_mean_s8(int32_t reduce0, int32_t reduce1, int32_t reduce2, int32_t reduce3, int32_t requantize,
    int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift, int32_t d0, int32_t d1, int32_t d2,
    int32_t d3, const int8_t *input, int8_t *output);

int tg_mean_s16(int32_t reduce0, int32_t reduce1, int32_t reduce2, int32_t reduce3, int32_t requantize,
    int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift, int32_t d0, int32_t d1, int32_t d2,
    int32_t d3, const int16_t *input, int16_t *output);

#endif /* TG_MEAN_H */
