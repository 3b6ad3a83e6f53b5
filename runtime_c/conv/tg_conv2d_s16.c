/* tinygen runtime: 16x8 2-D convolution; contract in tg_conv2d_s16.h. */
#include "tg_conv2d_s16.h"

#include "tg_requant_s16.h"
#include "tg_window.h"

int tg_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h,
    int32_t filter_w, int32_t filter_in_c, const int8_t *filter, const int64_t *bias, int32_t out_h,
    int32_t out_w, int32_t out_c, int16_t *output)
{
    const int32_t filters_per_group = tg_conv_filters_per_group(in_c, filter_in_c, out_c);
    if (filters_per_group == 0) {
        return TG_ERROR;
    }

    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *in_batch = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        int16_t *out_px = output + (ptrdiff_t)p.pixel * out_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int32_t in_c_first = (oc / filters_per_group) * filter_in_c;
            const int8_t *w_oc = filter + (ptrdiff_t)oc * filter_h * filter_w * filter_in_c;
            int64_t acc = 0;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int32_t in_y = p.in_y + dilation_h * fy;
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    const int32_t in_x = p.in_x + dilation_w * fx;
                    const int16_t *in_px = in_batch + ((ptrdiff_t)in_y * in_w + in_x) * in_c + in_c_first;
                    acc += tg_dot_s16x8(in_px, w_oc + ((ptrdiff_t)fy * filter_w + fx) * filter_in_c, filter_in_c);
                }
            }
            out_px[oc] = tg_finish_s16(acc, bias, oc, mult, shift, 1, act_min, act_max);
        }
    }
    return TG_OK;
}

