/* tinygen runtime: Helium (MVE) int8 DEPTHWISE_CONV_2D, depth multiplier 1, channels % 8 == 0.
 *
 * Same result as tg_depthwise_conv2d_s8 (TFLM DepthwiseConvPerChannel, bit-exact). filter: int8, per
 * group of 8 channels its fh * fw taps of 8 bytes (TFLM's (fh, fw, c) regrouped); rq: tg_mve.h records
 * with the biases as given (input offset added to each tap read), per group of 8 channels the record of its
 * even channels, then that of its odd ones, then its 8 biases again with the input offset folded in
 * (+ input_offset * the channel's weight sum; same lane order; 40 words per group of 8 channels), which the
 * windows wholly inside the image use, adding no offset to the taps they read.
 * Eight channels per step: byte loads widened to 16-bit lanes, (x + input_offset) * w formed exactly
 * in 16 bits and widened to two 32-bit accumulators (VMULLB even lanes, VMULLT odd lanes); only the
 * taps inside the image are visited (padding contributes 0). The output columns whose windows lie wholly
 * inside the image (found once per call) run as one stretch per output row, with no per-pixel tap ranges
 * and rows of 3 taps unrolled. No scratch. Returns TG_OK.
 */
#ifndef TG_DEPTHWISE_CONV2D_S8_MVE_H
#define TG_DEPTHWISE_CONV2D_S8_MVE_H

#include "tg_common.h"

int tg_depthwise_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *rq, int32_t batches, int32_t in_h, int32_t in_w, int32_t c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, int32_t out_h, int32_t out_w,
    int8_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S8_MVE_H */
