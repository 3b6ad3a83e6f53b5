#include "tg_concat_s8.h"

#include <stdarg.h>
#include <string.h>

int tg_concat_s8(int32_t outer, int32_t out_inner, int32_t num_inputs,
                 const int32_t *inner_sizes, int8_t *output, ...)
{
    int32_t total = 0;
    for (int32_t i = 0; i < num_inputs; ++i) {
        total += inner_sizes[i];
    }
    if (total != out_inner) {
        return TG_ERROR;
    }
    va_list inputs;
    va_start(inputs, output);
    int32_t column = 0; /* where input i starts within an output row */
    for (int32_t i = 0; i < num_inputs; ++i) {
        const int8_t *input = va_arg(inputs, const int8_t *);
        const size_t inner = (size_t)inner_sizes[i];
        for (int32_t row = 0; row < outer; ++row) {
            memcpy(output + (size_t)row * (size_t)out_inner + (size_t)column,
                   input + (size_t)row * inner, inner);
        }
        column += inner_sizes[i];
    }
    va_end(inputs);
    return TG_OK;
}
