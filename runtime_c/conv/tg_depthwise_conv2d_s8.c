/* tinygen runtime: portable int8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s8.h. */
#include "tg_depthwise_conv2d_s8.h"

#include "tg_nn_s8.h"
#include "tg_window.h"

int32_t tg_depthwise_conv2d_s8_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w)
{
    (void)in_c;
    (void)filter_h;
    (void)filter_w;
    return 0;
}

int tg_depthwise_conv2d_s8(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift,
    int32_t per_channel, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int8_t *filter, const int32_t *bias, int32_t out_h,
    int32_t out_w, int8_t *output)
{
    (void)scratch;
    if (depth_multiplier < 1) {
        return TG_ERROR;
    }
    const int32_t out_c = in_c * depth_multiplier;

    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        int8_t *out_px = output + p.pixel * out_c;
        for (int32_t ic = 0; ic < in_c; ++ic) {
            for (int32_t m = 0; m < depth_multiplier; ++m) {
                const int32_t oc = ic * depth_multiplier + m;
                const int32_t acc = tg_dw_window_sum_s8(&g, &p, input, in_c, ic, filter, out_c, oc, input_offset);
                out_px[oc] = tg_finish_s8(acc, bias, oc, mult, shift, per_channel, output_offset, act_min, act_max);
            }
        }
    }
    return TG_OK;
}
