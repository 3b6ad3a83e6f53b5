/* tinygen runtime: in-place capable int8 depthwise convolution; contract in tg_inplace_depthwise_s8.h. */
#include "tg_inplace_depthwise_s8.h"

int tg_inplace_depthwise_s8(int32_t stride_h, int32_t stride_w,
                            int32_t dilation_h, int32_t dilation_w,
                            int32_t pad_top, int32_t pad_left,
                            int32_t input_offset, int32_t output_offset,
                            int32_t act_min, int32_t act_max,
                            const int32_t *mult, const int32_t *shift, int32_t per_channel,
                            int32_t in_h, int32_t in_w, int32_t channels, const int8_t *input,
                            int32_t filter_h, int32_t filter_w, const int8_t *filter,
                            const int32_t *bias,
                            int32_t out_h, int32_t out_w, int8_t *output)
{
    if (channels <= 0 || in_h < 0 || in_w < 0 || out_h < 0 || out_w < 0) {
        return TG_ERROR;
    }
    for (int32_t out_y = 0; out_y < out_h; ++out_y) {
        const int32_t in_y_origin = out_y * stride_h - pad_top;
        for (int32_t out_x = 0; out_x < out_w; ++out_x) {
            const int32_t in_x_origin = out_x * stride_w - pad_left;
            int8_t *out_px = output + (out_y * out_w + out_x) * channels;
            for (int32_t c = 0; c < channels; ++c) {
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
                        const int32_t in_val = input[(in_y * in_w + in_x) * channels + c];
                        const int32_t w_val = filter[(fy * filter_w + fx) * channels + c];
                        acc += (in_val + input_offset) * w_val;
                    }
                }
                if (bias != NULL) {
                    acc += bias[c];
                }
                const int32_t k = per_channel ? c : 0;
                const int32_t out = tg_requantize(acc, mult[k], shift[k]) + output_offset;
                out_px[c] = (int8_t)tg_clamp(out, act_min, act_max);
            }
        }
    }
    return TG_OK;
}
