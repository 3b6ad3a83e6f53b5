/* tinygen runtime: 16x8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s16.h. */
#include "tg_depthwise_conv2d_s16.h"

#include "tg_window.h"

int tg_depthwise_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t act_min, int32_t act_max,
    const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int64_t *bias, int32_t out_h, int32_t out_w, int16_t *output)
{
    const int32_t out_c = in_c * depth_multiplier;
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *image = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int32_t ic = oc / depth_multiplier;
            int64_t acc = 0;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int16_t *row = image + (ptrdiff_t)(p.in_y + fy * dilation_h) * in_w * in_c + ic;
                const int8_t *w_row = filter + (ptrdiff_t)fy * filter_w * out_c + oc;
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    acc += (int64_t)row[(ptrdiff_t)(p.in_x + fx * dilation_w) * in_c] * w_row[(ptrdiff_t)fx * out_c];
                }
            }
            *output++ = tg_finish_s16(acc, bias, oc, mult, shift, per_channel, act_min, act_max);
        }
    }
    return TG_OK;
}
