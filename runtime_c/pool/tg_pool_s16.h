/* tinygen runtime: int16 AVERAGE_POOL_2D and MAX_POOL_2D, NHWC (TFLM reference semantics).
 *
 * Each window is clipped to the input; the average is the sum divided by the number of points
 * actually read, rounded half away from zero; both clamp to [act_min, act_max]; an empty max window
 * gives INT16_MIN. Same code as the int8 kernels (tg_avgpool_body.inc, tg_maxpool_body.inc).
 * No scratch. Returns TG_OK, or TG_ERROR if a window holds no input element (average only).
 */
#ifndef TG_POOL_S16_H
#define TG_POOL_S16_H

#include "tg_common.h"

int tg_avgpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                   int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                   int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                   const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output);

int tg_maxpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                   int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                   int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                   const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output);

#endif /* TG_POOL_S16_H */
