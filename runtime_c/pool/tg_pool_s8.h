/* tinygen runtime: int8 average and max pooling (TFLM reference semantics).
 *
 * Layout: input [batches, in_h, in_w, channels] and output [batches, out_h, out_w, channels], NHWC,
 * both int8 with the same quantization (pooling never rescales). pad_top / pad_left are the
 * padding before the first row / column; windows are clipped to the input, so padded elements
 * are never read nor counted.
 *   average: acc = sum of the in-bounds window, n = their count,
 *            out = clamp(acc / n rounded half away from zero, act_min, act_max)
 *   max:     out = clamp(max of the in-bounds window, act_min, act_max)
 * act_min / act_max are the fused activation's quantized bounds, within [-128, 127].
 * No scratch. Returns TG_OK, or TG_ERROR if a window holds no input element (average only).
 */
#ifndef TG_POOL_S8_H
#define TG_POOL_S8_H

#include "tg_common.h"

int tg_avgpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                  int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                  int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                  const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output);

int tg_maxpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                  int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                  int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                  const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output);

#endif /* TG_POOL_S8_H */
