/* tinygen runtime: AVERAGE_POOL_2D and MAX_POOL_2D, int8 and int16, NHWC (TFLM reference semantics).
 *
 * Layout: input [batches, in_h, in_w, channels] and output [batches, out_h, out_w, channels], NHWC,
 * both with the same quantization (pooling never rescales). pad_top / pad_left are the padding
 * before the first row / column; windows are clipped to the input (tg_window.h), so padded elements
 * are never read nor counted.
 *   average: acc = sum of the in-bounds window, n = their count,
 *            out = clamp(acc / n rounded half away from zero, act_min, act_max)
 *   max:     out = clamp(max of the in-bounds window, act_min, act_max); an empty window gives the
 *            type's minimum before the clamp
 * act_min / act_max are the fused activation's quantized bounds, within the type's range.
 * One body per op for both types: tg_avgpool_body.inc, tg_maxpool_body.inc.
 * No scratch. Returns TG_OK, or TG_ERROR if a window holds no input element (average only).
 */
#ifndef TG_POOL_H
#define TG_POOL_H

#include "tg_common.h"

int tg_avgpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t filter_h,
    int32_t filter_w, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t channels, const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output);

int tg_maxpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t filter_h,
    int32_t filter_w, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t channels, const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output);

int tg_avgpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t filter_h,
    int32_t filter_w, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t channels, const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output);

int tg_maxpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t filter_h,
    int32_t filter_w, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t channels, const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output);

#endif /* TG_POOL_H */
