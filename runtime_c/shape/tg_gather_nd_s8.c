/* tinygen runtime: int8 GATHER_ND; contract in tg_gather_nd_s8.h. */
#include "tg_gather_nd_s8.h"

#include <string.h>

int tg_gather_nd_s8(int32_t num_slices, int32_t index_depth, int32_t slice_size, const int32_t *dims_steps,
    const int32_t *indices, const int8_t *params, int8_t *output)
{
    for (int32_t s = 0; s < num_slices; ++s) {
        size_t from = 0;
        for (int32_t k = 0; k < index_depth; ++k) {
            const int32_t at = indices[(size_t)s * (size_t)index_depth + (size_t)k];
            if (at < 0 || at >= dims_steps[k]) {
                return TG_ERROR;
            }
            from += (size_t)at * (size_t)dims_steps[index_depth + k];
        }
        memcpy(output, params + from, (size_t)slice_size);
        output += slice_size;
    }
    return TG_OK;
}
