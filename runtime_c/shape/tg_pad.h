/* tinygen runtime: PAD / PADV2, int8 and int16 (TFLM reference semantics).
 *
 * Input [i0, i1, i2, i3] and output [o0, o1, o2, o3], row-major, rank extended to 4 with leading
 * 1s; before_k elements of padding precede the input along dimension k (the rest of o_k - i_k
 * follow it). Padding elements get pad_value: the output zero point for PAD, the constant input
 * for PADV2 (both already quantized like the output).
 * One body for both types: tg_pad_body.inc.
 * No scratch. Returns TG_OK, or TG_ERROR if the input does not fit in the output.
 */
#ifndef TG_PAD_H
#define TG_PAD_H

#include "tg_common.h"

int tg_pad_s8(int32_t before0, int32_t before1, int32_t before2, int32_t before3, int32_t pad_value,
    int32_t i0, int32_t i1, int32_t i2, int32_t i3, const int8_t *input, int32_t o0, int32_t o1, int32_t o2,
    int32_t o3, int8_t *output);

int tg_pad_s16(int32_t before0, int32_t before1, int32_t before2, int32_t before3, int32_t pad_value,
    int32_t i0, int32_t i1, int32_t i2, int32_t i3, const int16_t *input, int32_t o0, int32_t o1, int32_t o2,
    int32_t o3, int16_t *output);

#endif /* TG_PAD_H */
