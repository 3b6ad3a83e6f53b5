/* tinygen runtime: 16x8 2-D convolution; contract in tg_conv2d_s16.h. */
#include "tg_conv2d_s16.h"

#include "tg_requant_s16.h"

int tg_conv2d_s16(int32_t stride_h, int32_t stride_w,
                  int32_t dilation_h, int32_t dilation_w,
                  int32_t pad_top, int32_t pad_left,
                  int32_t act_min, int32_t act_max,
                  const int32_t *mult, const int32_t *shift,
                  int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input,
                  int32_t filter_h, int32_t filter_w, int32_t filter_in_c, const int8_t *filter,
                  const int64_t *bias,
                  int32_t out_h, int32_t out_w, int32_t out_c, int16_t *output)
{
    if (filter_in_c <= 0 || in_c % filter_in_c != 0) {
        return TG_ERROR;
    }
    const int32_t groups = in_c / filter_in_c;
    if (out_c % groups != 0) {
        return TG_ERROR;
    }
    const int32_t filters_per_group = out_c / groups;

    for (int32_t b = 0; b < batches; ++b) {
        const int16_t *in_batch = input + (ptrdiff_t)b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y_origin = out_y * stride_h - pad_top;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x_origin = out_x * stride_w - pad_left;
                int16_t *out_px = output + (((ptrdiff_t)b * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t in_c_first = (oc / filters_per_group) * filter_in_c;
                    const int8_t *w_oc = filter + (ptrdiff_t)oc * filter_h * filter_w * filter_in_c;
                    int64_t acc = 0;
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
                            const int16_t *in_px = in_batch + ((ptrdiff_t)in_y * in_w + in_x) * in_c + in_c_first;
                            const int8_t *w_tap = w_oc + ((ptrdiff_t)fy * filter_w + fx) * filter_in_c;
                            /* each product fits int32 (|x| <= 2^15, |w| <= 2^7); the row sum is
                             * widened to int64 every tap so long rows cannot overflow */
                            int64_t row = 0;
                            for (int32_t ic = 0; ic < filter_in_c; ++ic) {
                                row += (int32_t)in_px[ic] * (int32_t)w_tap[ic];
                            }
                            acc += row;
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    const int32_t out = tg_requantize64(acc, mult[oc], shift[oc]);
                    out_px[oc] = (int16_t)tg_clamp(out, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

