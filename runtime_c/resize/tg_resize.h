/* tinygen runtime: RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8), NHWC, TFLM
 * reference semantics. Input [batches, in_h, in_w, depth], output [batches, out_h, out_w, depth].
 *
 * tg_resize_nearest_*: output (b, y, x) is a copy of the depth values of input (b, rows[y], cols[x]);
 *   rows has out_h entries and cols out_w, each a valid input index (the lowering computes them with
 *   TFLM's float32 arithmetic for align_corners / half_pixel_centers).
 * tg_resize_bilinear_s8: rows holds out_h triples (y0, y1, dy), cols out_w triples (x0, x1, dx):
 *   the two input indices and the 10-bit distance of the sample from index 0 (in [-512, 1024)). With
 *   the weights wy1 = dy, wy0 = 1024 - dy (and likewise for x):
 *     sum = in(y0,x0) wy0 wx0 + in(y1,x0) wy1 wx0 + in(y0,x1) wy0 wx1 + in(y1,x1) wy1 wx1
 *     out = (sum + (sum > 0 ? 2^19 : -2^19)) / 2^20, the division truncating toward zero.
 *   |sum| <= 128 * 2048^2 < 2^31: int32 throughout.
 * The output must not overlap the input. No scratch. Returns TG_OK.
 */
#ifndef TG_RESIZE_H
#define TG_RESIZE_H

#include "tg_common.h"

int tg_resize_nearest_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
    int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *input, int8_t *output);

int tg_resize_nearest_s16(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
    int32_t out_w, const int32_t *rows, const int32_t *cols, const int16_t *input, int16_t *output);

int tg_resize_bilinear_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
    int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *input, int8_t *output);

#endif /* TG_RESIZE_H */
