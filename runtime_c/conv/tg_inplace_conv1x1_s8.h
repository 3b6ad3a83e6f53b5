/* tinygen runtime: int8 1x1 convolution that may run in place (TFLM ConvPerChannel semantics, bit-exact).
 *
 * The math is tg_conv2d_s8's for a 1x1 filter, stride 1, no padding, no groups:
 *   acc = sum over ic of filter[oc][ic] * (input[p][ic] + input_offset) (+ bias[oc], bias may be NULL)
 *   out = clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset, act_min, act_max)
 * with k = oc when per_channel != 0, else 0. Layouts: input [pixels, in_c], filter [out_c, in_c],
 * output [pixels, out_c].
 *
 * Aliasing: `output` may equal `input` (same start address), or the two may be disjoint; nothing else.
 * Output pixel p only depends on input pixel p. Pixels run from last to first when out_c >= in_c
 * (output pixel p then covers input bytes of pixels >= p only) and from first to last otherwise
 * (output pixel p covers input pixels <= p only); input pixel p is copied to `scratch` before output
 * pixel p is written, so each input pixel is read in full before any of it is overwritten.
 * In place, the pair occupies max(pixels * in_c, pixels * out_c) bytes.
 *
 * Scratch: in_c bytes (tg_inplace_conv1x1_s8_get_buffer_size). Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_CONV1X1_S8_H
#define TG_INPLACE_CONV1X1_S8_H

#include "tg_common.h"

int32_t tg_inplace_conv1x1_s8_get_buffer_size(int32_t in_c);

int tg_inplace_conv1x1_s8(int8_t *scratch, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t pixels,
    int32_t in_c, const int8_t *input, const int8_t *filter, const int32_t *bias, int32_t out_c,
    int8_t *output);

#endif /* TG_INPLACE_CONV1X1_S8_H */
