/* tinygen runtime: int16 LOGISTIC and TANH (zero points 0, output scale 1/32768), TFLM reference
 * semantics: the input is rescaled to units of 1/(3 * 4096)
 *   v = (q * input_mult + round) >> input_shift
 * then |v| indexes a 256-entry uint16 table of sigmoid(i / 24) in Q0.16, interpolated linearly;
 * negative inputs use symmetry, and tanh(x) = 2 * sigmoid(2x) - 1 reads the same table at twice
 * the resolution.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_LOGISTIC_S16_H
#define TG_LOGISTIC_S16_H

#include "tg_common.h"

int tg_logistic_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table,
                    int32_t size, const int16_t *input, int16_t *output);

int tg_tanh_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table,
                int32_t size, const int16_t *input, int16_t *output);

#endif /* TG_LOGISTIC_S16_H */
