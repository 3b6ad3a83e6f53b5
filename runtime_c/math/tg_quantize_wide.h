/* tinygen runtime: QUANTIZE between int8 / int16 and int32 (TFLM Requantize).
 *
 * out = clamp(MBQM(in - input_zp, mult, shift) + output_zp) to the output type; the subtraction and, for
 * an int32 output, the addition wrap in int32 as TFLM's do. Pairs: s8 -> s32, s16 -> s32, s32 -> s8.
 * Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_QUANTIZE_WIDE_H
#define TG_QUANTIZE_WIDE_H

#include "tg_common.h"

int tg_requantize_s8_s32(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int8_t *input, int32_t *output);

int tg_requantize_s16_s32(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int16_t *input, int32_t *output);

int tg_requantize_s32_s8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int32_t *input, int8_t *output);

#endif /* TG_QUANTIZE_WIDE_H */
