/* tinygen runtime: GATHER of int8 params by int32 indices (TFLM reference semantics, a copy).
 *
 * params is viewed as [batches, outer, axis_size, inner] and indices as [batches, num_indices]; the
 * output is [batches, outer, num_indices, inner] with
 *   output[b, o, i, :] = params[b, o, indices[b, i], :]
 * (batches: the product of the batch_dims leading dimensions; outer: of the params dimensions between
 * them and the axis; inner: of the dimensions after the axis). Either pointer may be constant data.
 * No scratch. Returns TG_OK, or TG_ERROR when an index is outside [0, axis_size) (TFLM fails then too).
 */
#ifndef TG_GATHER_S8_H
#define TG_GATHER_S8_H

#include "tg_common.h"

int tg_gather_s8(int32_t batches, int32_t outer, int32_t axis_size, int32_t num_indices, int32_t inner,
    const int32_t *indices, const int8_t *params, int8_t *output);

#endif /* TG_GATHER_S8_H */
