/* tinygen runtime: LOGICAL_NOT on bool; contract in tg_compare.h. */
#include "tg_compare.h"

int tg_logical_not(int32_t size, const uint8_t *input, uint8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (uint8_t)(input[i] ? 0 : 1);
    }
    return TG_OK;
}
