/* tinygen runtime: CONCATENATION of int8 tensors along one axis (TFLM reference semantics).
 *
 * A pure copy: TFLM does not requantize int8 inputs, so neither does tinygen (the converter gives
 * every input the output's quantization). Viewing each tensor as [outer, inner] where outer is
 * the product of the dimensions before the axis, input i contributes inner_sizes[i] bytes
 * (its dims from the axis on) to each of the `outer` rows of the output, whose row is out_inner
 * = sum(inner_sizes) bytes long.
 * The inputs come last as `num_inputs` variadic `const int8_t *` arguments (their count is the
 * op's), which is why the output precedes them here, unlike the other kernels.
 * No scratch. Returns TG_OK, or TG_ERROR if the sizes do not add up.
 */
#ifndef TG_CONCAT_S8_H
#define TG_CONCAT_S8_H

#include "tg_common.h"

int tg_concat_s8(int32_t outer, int32_t out_inner, int32_t num_inputs, const int32_t *inner_sizes,
    int8_t *output, ...);

#endif /* TG_CONCAT_S8_H */
