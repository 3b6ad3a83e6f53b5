/* tinygen runtime: Helium (MVE) int8 CONV_2D (groups 1), one output pixel at a time through tg_gemm_s8_mve.
 *
 * Same result as tg_conv2d_s8 (TFLM ConvPerChannel, bit-exact). filter: OHWI int8 as stored, each output
 * channel one row of fh * fw * in_c bytes, rows rounded up to 4 with zero rows; rq: tg_mve.h records
 * (biases with the input offset folded in; left_shift 0 when no channel's shift is positive). A 1x1, stride-1, unpadded conv runs one GEMM column per
 * pixel, read in place; other windows (fh * fw * in_c <= 1024: the lowering checks it) are gathered
 * into a stack buffer, taps outside the image holding input_zp (the raw value of a zero), window row ky
 * at ky * row_stride bytes (row_stride >= fw * in_c; the filter rows laid out the same way, zeros between
 * the window rows: the lowering picks 16 for narrow rows, one VMLADAVA block per window row, so an inside
 * row is one predicated copy and the k loop has no tail; else fw * in_c). Window rows of up to 16 bytes
 * (dilation_w 1) are copied with one predicated load and store each, rows cut by the padding filled with
 * input_zp first; 1x1 unpadded convs are read in place, group of 4 output channels by group.
 * No arena scratch. Returns TG_OK.
 */
#ifndef TG_CONV2D_S8_MVE_H
#define TG_CONV2D_S8_MVE_H

#include "tg_common.h"

int tg_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, int32_t output_offset,
    int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, const int32_t *rq, int32_t out_h,
    int32_t out_w, int32_t out_c, int32_t left_shift, int32_t row_stride, int8_t *output);

#endif /* TG_CONV2D_S8_MVE_H */
