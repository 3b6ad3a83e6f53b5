/* tinygen runtime: ARG_MAX / ARG_MIN of int8 values along one axis, int32 indices (TFLM's reference).
 *
 * Input viewed as [outer, axis_size, inner] row-major; output [outer, inner]: the index along the axis
 * of the largest (is_max != 0) or smallest value, the first such index on ties. No scratch. Returns TG_OK.
 */
#ifndef TG_ARG_MINMAX_S8_H
#define TG_ARG_MINMAX_S8_H

#include "tg_common.h"

int tg_arg_minmax_s8(int32_t is_max, int32_t outer, int32_t axis_size, int32_t inner, const int8_t *input,
    int32_t *output);

#endif /* TG_ARG_MINMAX_S8_H */
