/* tinygen runtime: SPACE_TO_BATCH_ND, int8 and int16 (TFLite reference semantics).
 *
 * Input [batch, in_h, in_w, depth] (an NHC tensor is passed with in_w = 1, block_w = 1, pad_left = 0),
 * row-major. The input, padded by pad_top rows and pad_left columns before it (and enough after it to
 * fill out_h * block_h rows and out_w * block_w columns), is cut into block_h x block_w offsets:
 * output [batch * block_h * block_w, out_h, out_w, depth] holds at batch (sh * block_w + sw) * batch + n,
 * position (i, j), the padded input element (n, i * block_h + sh, j * block_w + sw). Padding elements
 * get pad_value (the output zero point, already in the element type).
 * One body for both types: tg_space_to_batch_nd_body.inc.
 * No scratch. Returns TG_OK, or TG_ERROR if a block size is below 1.
 */
#ifndef TG_SPACE_TO_BATCH_ND_H
#define TG_SPACE_TO_BATCH_ND_H

#include "tg_common.h"

int tg_space_to_batch_nd_s8(int32_t batch, int32_t in_h, int32_t in_w, int32_t depth, const int8_t *input,
    int32_t block_h, int32_t block_w, int32_t pad_top, int32_t pad_left, int32_t pad_value, int32_t out_h,
    int32_t out_w, int8_t *output);

int tg_space_to_batch_nd_s16(int32_t batch, int32_t in_h, int32_t in_w, int32_t depth, const int16_t *input,
    int32_t block_h, int32_t block_w, int32_t pad_top, int32_t pad_left, int32_t pad_value, int32_t out_h,
    int32_t out_w, int16_t *output);

#endif /* TG_SPACE_TO_BATCH_ND_H */
