/* tinygen runtime: in-place capable int8 depthwise convolution; contract in tg_inplace_depthwise_s8.h. */
#include "tg_inplace_depthwise_s8.h"

#include "tg_nn_s8.h"
#include "tg_window.h"

int tg_inplace_depthwise_s8(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t in_h,
    int32_t in_w, int32_t channels, const int8_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output)
{
    if (channels <= 0 || in_h < 0 || in_w < 0 || out_h < 0 || out_w < 0) {
        return TG_ERROR;
    }
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, 1, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < 1; tg_conv_next(&g, &p)) {
        int8_t *out_px = output + p.pixel * channels;
        for (int32_t c = 0; c < channels; ++c) {
            const int32_t acc = tg_dw_window_sum_s8(&g, &p, input, channels, c, filter, channels, c, input_offset);
            out_px[c] = tg_finish_s8(acc, bias, c, mult, shift, per_channel, output_offset, act_min, act_max);
        }
    }
    return TG_OK;
}
