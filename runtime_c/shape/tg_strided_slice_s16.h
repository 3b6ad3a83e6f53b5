/* tinygen runtime: STRIDED_SLICE of an int16 tensor (a gather; no rescaling, like TFLM).
 *
 * The output holds [d0, d1, d2, d3] elements (row-major; the slice's per-dimension counts, rank
 * extended to 4 with leading 1s, shrunk axes counted as 1). Output element (k0, k1, k2, k3) is
 *   input[base + k0 * s0 + k1 * s1 + k2 * s2 + k3 * s3]
 * where base is the flat offset of the first selected element and s_k the input element step
 * (stride times the input's row-major stride; negative for reversed slices, 0 for padded dims).
 * No scratch. Returns TG_OK.
 */
#ifndef TG_STRIDED_SLICE_S16_H
#define TG_STRIDED_SLICE_S16_H

#include "tg_common.h"

int tg_strided_slice_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t base, int32_t s0, int32_t s1,
    int32_t s2, int32_t s3, const int16_t *input, int16_t *output);

#endif /* TG_STRIDED_SLICE_S16_H */
