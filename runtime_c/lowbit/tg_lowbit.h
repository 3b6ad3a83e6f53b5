/* tinygen runtime: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with low-bit weights.
 *
 * Activations are int8 exactly as in tg_conv2d_s8.h (same offsets, clamp and requantization); only
 * the weights differ. Each output channel owns one row of packed weights, `row_bytes` long:
 *   conv:       out_c rows of filter_h * filter_w * in_c values, in (fy, fx, ic) order
 *   depthwise:  out_c rows of filter_h * filter_w values, in (fy, fx) order
 *   fc:         out_depth rows of accum_depth values
 * Row formats (value j of a row; bits are numbered from bit 0 of byte 0 upwards):
 *   TG_WF_INT4      4-bit two's complement, value j in bits 4j..4j+3            (-8..7)
 *   TG_WF_PALETTE   `bits`-bit (2..4) index into codebook[2^bits], bits j*bits..  (codebook entry)
 *   TG_WF_TERNARY   two bit planes of ceil(n/8) bytes: non-zero, then negative  (-1, 0, +1)
 *   TG_WF_BINARY    one bit plane: 1 = +1, 0 = -1                               (-1, +1)
 * Conv decodes blocks of 4 output channels into `scratch` as int16 SMLAD operands (8 bytes per
 * value, n rounded up to a multiple of 4; TERNARY / BINARY as -1, 0, +1) and runs one multiply-accumulate
 * loop for every format: rows of a multiple of 4 inputs are read in place (1x1 filters pixel by pixel),
 * other windows (filter_w * in_c < 16 or in_c % 4 != 0) are gathered. Scratch: 9 * n4 bytes (one block +
 * one row / window), or, for gathered windows when tg_conv2d_lb_all_rows says so, every block's rows and
 * requantization records up front so each window is gathered once.
 * Fc decodes one INT4 / PALETTE row (accum_depth bytes) and runs TERNARY / BINARY rows in place
 * with bit masks and additions. Depthwise decodes every format for blocks of 4 channels
 * (9 * filter_h * filter_w bytes, rounded up to 4: int16 pairs, 8 bytes per tap), ternary and binary as
 * -1, 0, +1; 3x3 filters also copy the 3 input rows of an output row, 4 channels, padded:
 * 12 * ((out_w - 1) * stride_w + 2 * dilation_w + 1) bytes more.
 *
 * Requantization is per output channel with a 19-bit multiplier in 3 bytes, mult[c] (int16) and shift[c]
 * (int8 code): bits 0-5 of the code hold the shift + 31 (shift in [-31, 30]; 63: a zero multiplier),
 * bits 6-7 and the 16 bits of mult[c] the multiplier's bits 16-17 and 0-15 below its implied top bit:
 * tg_requantize(acc, tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c)), the multiplier
 * (2^18 | hi << 16 | lo) << 12 in [2^30, 2^31). The quantizer picks the filter scales so that this is
 * exactly TFLM's 32-bit multiplier (tinygen/quant/snap.py).
 * Conv and depthwise prepare tg_dsp.h requantization records for each block of 4 channels (left shifts
 * included, when the accumulator bound allows) and store a full block's 4 outputs as one word.
 * Returns TG_OK, or TG_ERROR for an unknown format or inconsistent shapes.
 */
#ifndef TG_LOWBIT_H
#define TG_LOWBIT_H

#include "tg_common.h"

/* Channel c's 32-bit multiplier and shift from the 3-byte form above */
static inline int32_t tg_lb_shift(const int8_t *shift, int32_t c)
{
    const int32_t s = (int32_t)((uint32_t)(uint8_t)shift[c] & 0x3Fu);
    return s == 63 ? 0 : s - 31;
}

static inline int32_t tg_lb_mult(const int16_t *mult, const int8_t *shift, int32_t c)
{
    const uint32_t code = (uint32_t)(uint8_t)shift[c];
    if ((code & 0x3Fu) == 63u) {
        return 0;
    }
    return (int32_t)((0x40000u | ((code >> 6) << 16) | (uint32_t)(uint16_t)mult[c]) << 12);
}

#define TG_WF_INT4 0
#define TG_WF_PALETTE 1
#define TG_WF_TERNARY 2
#define TG_WF_BINARY 3

/* Scratch bytes each kernel needs (0: pass NULL), as the paragraph above states. */
int32_t tg_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t batches,
                                     int32_t out_h, int32_t out_w, int32_t out_c);
/* 1 when tg_conv2d_lb decodes every block up front (gathered windows whose decoded rows and
 * requantization records fit in the output's byte count): scratch as tg_conv2d_lb_get_buffer_size says */
int32_t tg_conv2d_lb_all_rows(int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t batches, int32_t out_h,
                              int32_t out_w, int32_t out_c);
int32_t tg_depthwise_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w, int32_t stride_w,
                                               int32_t dilation_w, int32_t out_w);
int32_t tg_fully_connected_lb_get_buffer_size(int32_t format, int32_t accum_depth);

int tg_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output);

int tg_depthwise_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output);

int tg_fully_connected_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t accum_depth,
    const int8_t *input, int32_t out_depth, const int32_t *bias, int8_t *output);

#endif /* TG_LOWBIT_H */
