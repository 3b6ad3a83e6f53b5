/* tinygen runtime: the strided copy shared by the layout ops (STRIDED_SLICE, SLICE, SPLIT, SPLIT_V,
 * UNPACK, TRANSPOSE, DEPTH_TO_SPACE, SPACE_TO_DEPTH), one entry point per element type.
 *
 * The output is written in order, as a row-major array of shape counts[0..rank-1]. Output element
 * (k0, ..., k_{rank-1}) is
 *   input[base + k0 * steps[0] + ... + k_{rank-1} * steps[rank-1]]
 * where steps are input element steps (negative for reversed slices, permuted for transposes). The
 * lowering merges dimensions that walk the input contiguously, so rank is usually small; an innermost
 * step of 1 copies whole rows with memcpy. No rescaling (values are copied, as TFLM does).
 * The output must not overlap the input. No scratch.
 * Returns TG_OK, or TG_ERROR if rank is outside [1, TG_COPY_MAX_RANK] or a count is below 1.
 */
#ifndef TG_COPY_STRIDED_H
#define TG_COPY_STRIDED_H

#include "tg_common.h"

#define TG_COPY_MAX_RANK 8

int tg_copy_strided_s8(int32_t rank, const int32_t *counts, const int32_t *steps, int32_t base,
    const int8_t *input, int8_t *output);
int tg_copy_strided_s16(int32_t rank, const int32_t *counts, const int32_t *steps, int32_t base,
    const int16_t *input, int16_t *output);

#endif /* TG_COPY_STRIDED_H */
