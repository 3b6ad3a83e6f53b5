/* tinygen runtime: portable int8 2-D convolution; contract in tg_conv2d_s8.h. */
#include "tg_conv2d_s8.h"

#include "tg_nn_s8.h"
#include "tg_window.h"

int32_t tg_conv2d_s8_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w)
{
    (void)in_c;
    (void)filter_h;
    (void)filter_w;
    return 0;
}

int tg_conv2d_s8(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t batches,
    int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w,
    int32_t filter_in_c, const int8_t *filter, const int32_t *bias, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output)
{
    (void)scratch;
    const int32_t filters_per_group = tg_conv_filters_per_group(in_c, filter_in_c, out_c);
    if (filters_per_group == 0) {
        return TG_ERROR;
    }

    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0
        && filter_in_c == in_c && out_h == in_h && out_w == in_w) {
        /* 1x1, stride 1, unpadded, ungrouped: every pixel row of in_c values times every filter row */
        for (int32_t px = 0; px < batches * in_h * in_w; ++px) {
            tg_fc_row_s8(input + px * in_c, in_c, filter, out_c, input_offset, 0, bias, mult, shift, per_channel,
                         output_offset, act_min, act_max, output + px * out_c);
        }
        return TG_OK;
    }

    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int8_t *in_batch = input + p.b * in_h * in_w * in_c;
        int8_t *out_px = output + p.pixel * out_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int32_t in_c_first = (oc / filters_per_group) * filter_in_c;
            const int8_t *w_oc = filter + oc * filter_h * filter_w * filter_in_c;
            int32_t acc = 0;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int32_t in_y = p.in_y + dilation_h * fy;
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    const int8_t *in_px = in_batch + (in_y * in_w + p.in_x + dilation_w * fx) * in_c + in_c_first;
                    const int8_t *w_tap = w_oc + (fy * filter_w + fx) * filter_in_c;
                    for (int32_t ic = 0; ic < filter_in_c; ++ic) {
                        acc += (in_px[ic] + input_offset) * w_tap[ic];
                    }
                }
            }
            out_px[oc] = tg_finish_s8(acc, bias, oc, mult, shift, per_channel, output_offset, act_min, act_max);
        }
    }
    return TG_OK;
}
