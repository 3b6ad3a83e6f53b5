/* tinygen runtime: int16 MEAN over any subset of the 4 (rank-extended) dimensions.
 *
 * reduceK = 1 reduces dimension K. With requantize = 0 (input and output quantized alike) the
 * result is the sum divided by the count, truncating; otherwise
 *   out = clamp(tg_requantize(sum - in_zp * count, mult, shift) + out_zp, INT16_MIN, INT16_MAX)
 * where mult/shift already hold in_scale / out_scale / count. No scratch. Returns TG_OK.
 */
#ifndef TG_MEAN_S16_H
#define TG_MEAN_S16_H

#include "tg_common.h"

int tg_mean_s16(int32_t reduce0, int32_t reduce1, int32_t reduce2, int32_t reduce3,
                int32_t requantize, int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift,
                int32_t d0, int32_t d1, int32_t d2, int32_t d3, const int16_t *input,
                int16_t *output);

#endif /* TG_MEAN_S16_H */
