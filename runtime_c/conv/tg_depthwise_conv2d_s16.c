#include "tg_depthwise_conv2d_s16.h"

int tg_depthwise_conv2d_s16(int32_t stride_h, int32_t stride_w,
                            int32_t dilation_h, int32_t dilation_w,
                            int32_t pad_top, int32_t pad_left, int32_t depth_multiplier,
                            int32_t act_min, int32_t act_max,
                            const int32_t *mult, const int32_t *shift, int32_t per_channel,
                            int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
                            const int16_t *input,
                            int32_t filter_h, int32_t filter_w, const int8_t *filter,
                            const int64_t *bias,
                            int32_t out_h, int32_t out_w, int16_t *output)
{
    const int32_t out_c = in_c * depth_multiplier;
    for (int32_t n = 0; n < batches; ++n) {
        const int16_t *image = input + (ptrdiff_t)n * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * stride_h - pad_top;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * stride_w - pad_left;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / depth_multiplier;
                    int64_t acc = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t iy = y0 + fy * dilation_h;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t ix = x0 + fx * dilation_w;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            const int32_t v = image[((ptrdiff_t)iy * in_w + ix) * in_c + ic];
                            const int32_t w = filter[((ptrdiff_t)fy * filter_w + fx) * out_c + oc];
                            acc += (int64_t)v * w;
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    const int32_t c = per_channel ? oc : 0;
                    *output++ = (int16_t)tg_clamp(tg_requantize64(acc, mult[c], shift[c]),
                                                  act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
