/* tinygen runtime: QUANTIZE between uint8 and int8 (TFLM reference semantics, its Requantize):
 *   out = clamp(MBQM(in - input_zp, mult, shift) + output_zp, output range), MBQM = tg_requantize.
 * uint8 -> int8 carries uint8 model inputs (images) into an int8 graph; int8 -> uint8 the way out.
 * Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_QUANTIZE_U8_H
#define TG_QUANTIZE_U8_H

#include <stdint.h>

int tg_requantize_u8_s8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const uint8_t *input, int8_t *output);

int tg_requantize_s8_u8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int8_t *input, uint8_t *output);

#endif /* TG_QUANTIZE_U8_H */
