/* tinygen runtime: int8 GATHER; contract in tg_gather_s8.h. */
#include "tg_gather_s8.h"

#include <string.h>

int tg_gather_s8(int32_t batches, int32_t outer, int32_t axis_size, int32_t num_indices, int32_t inner,
    const int32_t *indices, const int8_t *params, int8_t *output)
{
    const size_t row = (size_t)inner;
    for (int32_t b = 0; b < batches; ++b) {
        const int32_t *idx = indices + (size_t)b * (size_t)num_indices;
        for (int32_t o = 0; o < outer; ++o) {
            const int8_t *block = params + ((size_t)b * (size_t)outer + (size_t)o) * (size_t)axis_size * row;
            for (int32_t i = 0; i < num_indices; ++i) {
                const int32_t at = idx[i];
                if (at < 0 || at >= axis_size) {
                    return TG_ERROR;
                }
                memcpy(output, block + (size_t)at * row, row);
                output += row;
            }
        }
    }
    return TG_OK;
}
