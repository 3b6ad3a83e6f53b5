/* tinygen runtime: 16x8 TRANSPOSE_CONV; contract in tg_transpose_conv_s16.h. */
#include "tg_transpose_conv_s16.h"

#include "tg_requant_s16.h"

int tg_transpose_conv_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
    int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t batches,
    int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int64_t *bias, int32_t out_h, int32_t out_w, int32_t out_c, int16_t *output)
{
    if (stride_h <= 0 || stride_w <= 0) {
        return TG_ERROR;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int16_t *in_batch = input + (ptrdiff_t)b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                int16_t *out_px = output + (((ptrdiff_t)b * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    int64_t acc = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        /* input row iy reaches this output row through tap fy when
                         * iy * stride_h = out_y + pad_top - fy */
                        const int32_t ty = out_y + pad_top - fy;
                        if (ty < 0 || ty % stride_h != 0 || ty / stride_h >= in_h) {
                            continue;
                        }
                        const int32_t in_y = ty / stride_h;
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t tx = out_x + pad_left - fx;
                            if (tx < 0 || tx % stride_w != 0 || tx / stride_w >= in_w) {
                                continue;
                            }
                            const int32_t in_x = tx / stride_w;
                            const int16_t *in_px = in_batch + ((ptrdiff_t)in_y * in_w + in_x) * in_c;
                            const int8_t *w_tap = filter + (((ptrdiff_t)oc * filter_h + fy) * filter_w + fx) * in_c;
                            acc += tg_dot_s16x8(in_px, w_tap, in_c);
                        }
                    }
                    out_px[oc] = tg_finish_s16(acc, bias, oc, mult, shift, 1, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
