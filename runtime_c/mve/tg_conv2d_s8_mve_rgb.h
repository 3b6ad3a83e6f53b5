/* tinygen runtime: Helium (MVE) int8 CONV_2D for narrow windows (an image model's first layer, e.g. 3x3 over
 * 3 channels): each window row is at most 16 bytes (fw * in_c <= 16, dilation_w 1) and there are at most 3
 * (fh <= 3), so a pixel's whole window sits in fh vector registers, loaded straight from the image rows (one
 * predicated load each, no gather), and meets each output channel's filter rows with one VMLADAVA per window
 * row, 4 channels per requantization.
 *
 * Same result as tg_conv2d_s8 (TFLM ConvPerChannel, bit-exact). filter: each output channel's window rows 16
 * bytes apart (fw * in_c values, then zeros), in blocks of 4 channels as tg_gemm_s8_mve.h lays them out
 * (per block, per window row, 16 bytes of each of the 4 channels; zero channels past out_c). rq: tg_mve.h
 * records (biases with the input offset folded in; left_shift 0 when no channel's shift is positive).
 * Taps outside the image read input_zp (the raw value of a zero): a window cut by the padding is built in a
 * 48-byte stack buffer, input_zp first, then the inside of each row. No arena scratch. Returns TG_OK.
 */
#ifndef TG_CONV2D_S8_MVE_RGB_H
#define TG_CONV2D_S8_MVE_RGB_H

#include "tg_common.h"

int tg_conv2d_s8_mve_rgb(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t fh, int32_t fw,
    const int8_t *filter, const int32_t *rq, int32_t out_h, int32_t out_w, int32_t out_c, int32_t left_shift,
    int8_t *output);

#endif /* TG_CONV2D_S8_MVE_RGB_H */
