#include "tg_concat_s16.h"

#include <stdarg.h>
#include <string.h>

int tg_concat_s16(int32_t outer, int32_t out_inner, int32_t num_inputs,
                  const int32_t *inner_sizes, int16_t *output, ...)
{
    int32_t total = 0;
    for (int32_t i = 0; i < num_inputs; ++i) {
        total += inner_sizes[i];
    }
    if (total != out_inner) {
        return TG_ERROR;
    }
    va_list args;
    va_start(args, output);
    int16_t *column = output; /* where the current input starts in output row 0 */
    for (int32_t i = 0; i < num_inputs; ++i) {
        const int16_t *src = va_arg(args, const int16_t *);
        const size_t n = (size_t)inner_sizes[i];
        for (int32_t row = 0; row < outer; ++row) {
            memcpy(column + (size_t)row * (size_t)out_inner, src + (size_t)row * n,
                   n * sizeof(int16_t));
        }
        column += n;
    }
    va_end(args);
    return TG_OK;
}
