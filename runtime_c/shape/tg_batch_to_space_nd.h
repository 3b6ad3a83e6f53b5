/* tinygen runtime: BATCH_TO_SPACE_ND, int8 and int16 (TFLite reference semantics).
 *
 * Input [in_batch, in_h, in_w, depth] (an NHC tensor is passed with in_w = 1, block_w = 1,
 * crop_left = 0), row-major, in_batch = batch * block_h * block_w. Input batch (sh * block_w + sw) *
 * batch + n, position (i, j), is element (n, i * block_h + sh, j * block_w + sw) of the uncropped
 * result; the output [batch, out_h, out_w, depth] is that result without its first crop_top rows and
 * crop_left columns (and without whatever follows out_h rows and out_w columns).
 * One body for both types: tg_batch_to_space_nd_body.inc.
 * No scratch. Returns TG_OK, or TG_ERROR if a block size is below 1 or the crop leaves the input.
 */
#ifndef TG_BATCH_TO_SPACE_ND_H
#define TG_BATCH_TO_SPACE_ND_H

#include "tg_common.h"

int tg_batch_to_space_nd_s8(int32_t in_batch, int32_t in_h, int32_t in_w, int32_t depth, const int8_t *input,
    int32_t block_h, int32_t block_w, int32_t crop_top, int32_t crop_left, int32_t out_h, int32_t out_w,
    int8_t *output);

int tg_batch_to_space_nd_s16(int32_t in_batch, int32_t in_h, int32_t in_w, int32_t depth, const int16_t *input,
    int32_t block_h, int32_t block_w, int32_t crop_top, int32_t crop_left, int32_t out_h, int32_t out_w,
    int16_t *output);

#endif /* TG_BATCH_TO_SPACE_ND_H */
