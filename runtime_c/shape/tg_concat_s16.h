/* tinygen runtime: CONCATENATION of int16 tensors along one axis: a copy, no requantization.
 *
 * Each tensor is viewed as [outer, inner]; input i contributes inner_sizes[i] elements to each
 * of the `outer` output rows, which are out_inner = sum(inner_sizes) elements long. The inputs
 * follow the output as `num_inputs` variadic `const int16_t *` arguments.
 * No scratch. Returns TG_OK, or TG_ERROR if the sizes do not add up.
 */
#ifndef TG_CONCAT_S16_H
#define TG_CONCAT_S16_H

#include "tg_common.h"

int tg_concat_s16(int32_t outer, int32_t out_inner, int32_t num_inputs, const int32_t *inner_sizes,
    int16_t *output, ...);

#endif /* TG_CONCAT_S16_H */
