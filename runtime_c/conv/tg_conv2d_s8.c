/* tinygen runtime: portable int8 2-D convolution; contract in tg_conv2d_s8.h. */
#include "tg_conv2d_s8.h"

int32_t tg_conv2d_s8_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w)
{
    (void)in_c;
    (void)filter_h;
    (void)filter_w;
    return 0;
}

/* 1x1, stride 1, unpadded, ungrouped: every pixel row of in_c values times every filter row. */
static void conv_1x1(int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
                     const int32_t *mult, const int32_t *shift, int32_t per_channel,
                     int32_t pixels, int32_t in_c, const int8_t *input,
                     const int8_t *filter, const int32_t *bias, int32_t out_c, int8_t *output)
{
    for (int32_t p = 0; p < pixels; ++p) {
        const int8_t *in_row = input + p * in_c;
        int8_t *out_row = output + p * out_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *w_row = filter + oc * in_c;
            int32_t acc = 0;
            for (int32_t ic = 0; ic < in_c; ++ic) {
                acc += (in_row[ic] + input_offset) * w_row[ic];
            }
            if (bias != NULL) {
                acc += bias[oc];
            }
            const int32_t k = per_channel ? oc : 0;
            const int32_t out = tg_requantize(acc, mult[k], shift[k]) + output_offset;
            out_row[oc] = (int8_t)tg_clamp(out, act_min, act_max);
        }
    }
}

int tg_conv2d_s8(int8_t *scratch,
                 int32_t stride_h, int32_t stride_w,
                 int32_t dilation_h, int32_t dilation_w,
                 int32_t pad_top, int32_t pad_left,
                 int32_t input_offset, int32_t output_offset,
                 int32_t act_min, int32_t act_max,
                 const int32_t *mult, const int32_t *shift, int32_t per_channel,
                 int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                 int32_t filter_h, int32_t filter_w, int32_t filter_in_c, const int8_t *filter,
                 const int32_t *bias,
                 int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    (void)scratch;
    if (filter_in_c <= 0 || in_c % filter_in_c != 0) {
        return TG_ERROR;
    }
    const int32_t groups = in_c / filter_in_c;
    if (out_c % groups != 0) {
        return TG_ERROR;
    }
    const int32_t filters_per_group = out_c / groups;

    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0
        && groups == 1 && out_h == in_h && out_w == in_w) {
        conv_1x1(input_offset, output_offset, act_min, act_max, mult, shift, per_channel,
                 batches * in_h * in_w, in_c, input, filter, bias, out_c, output);
        return TG_OK;
    }

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y_origin = out_y * stride_h - pad_top;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x_origin = out_x * stride_w - pad_left;
                int8_t *out_px = output + ((b * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t in_c_first = (oc / filters_per_group) * filter_in_c;
                    const int8_t *w_oc = filter + oc * filter_h * filter_w * filter_in_c;
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y_origin + dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x_origin + dilation_w * fx;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            const int8_t *in_px = in_batch + (in_y * in_w + in_x) * in_c + in_c_first;
                            const int8_t *w_tap = w_oc + (fy * filter_w + fx) * filter_in_c;
                            for (int32_t ic = 0; ic < filter_in_c; ++ic) {
                                acc += (in_px[ic] + input_offset) * w_tap[ic];
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    const int32_t k = per_channel ? oc : 0;
                    const int32_t out = tg_requantize(acc, mult[k], shift[k]) + output_offset;
                    out_px[oc] = (int8_t)tg_clamp(out, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
