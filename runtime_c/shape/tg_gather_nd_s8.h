/* tinygen runtime: GATHER_ND of int8 params by int32 index tuples (TFLM reference semantics, a copy).
 *
 * indices holds num_slices tuples of index_depth values; tuple s selects the slice of params that starts
 * at sum_k indices[s, k] * dims_steps[index_depth + k] (element steps of the first index_depth params
 * dimensions) and runs slice_size elements (the product of the remaining dimensions); output slice s
 * is that copy. dims_steps[k] (k < index_depth) is the size of params dimension k.
 * No scratch. Returns TG_OK, or TG_ERROR when an index is outside its dimension (TFLM fails then too).
 */
#ifndef TG_GATHER_ND_S8_H
#define TG_GATHER_ND_S8_H

#include "tg_common.h"

int tg_gather_nd_s8(int32_t num_slices, int32_t index_depth, int32_t slice_size, const int32_t *dims_steps,
    const int32_t *indices, const int8_t *params, int8_t *output);

#endif /* TG_GATHER_ND_S8_H */
