/* tinygen runtime: in-place capable stride-1 depthwise convolution; contract in tg_inplace_depthwise_rows_s8.h. */
#include "tg_inplace_depthwise_rows_s8.h"

#include "tg_nn_s8.h"
#include "tg_window.h"

int32_t tg_inplace_depthwise_rows_s8_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t channels)
{
    return (pad_top + 1) * in_w * channels;
}

int tg_inplace_depthwise_rows_s8(int8_t *scratch, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t in_h, int32_t in_w,
    int32_t channels, const int8_t *input, int32_t filter_h, int32_t filter_w, const int8_t *filter,
    const int32_t *bias, int8_t *output)
{
    if (scratch == NULL || channels <= 0 || in_h < 0 || in_w < 0 || pad_top < 0) {
        return TG_ERROR;
    }
    const int32_t ring = pad_top + 1;
    const int32_t row_bytes = in_w * channels;
    for (int32_t y = 0; y < in_h; ++y) {
        int8_t *slot = scratch + (y % ring) * row_bytes;
        const int8_t *src = input + y * row_bytes;
        for (int32_t i = 0; i < row_bytes; ++i) {
            slot[i] = src[i];
        }
        const tg_taps ty = tg_tap_range(y - pad_top, dilation_h, filter_h, in_h);
        for (int32_t out_x = 0; out_x < in_w; ++out_x) {
            const int32_t in_x_origin = out_x - pad_left;
            const tg_taps tx = tg_tap_range_inside(in_x_origin, dilation_w, filter_w, in_w);
            int8_t *out_px = output + (y * in_w + out_x) * channels;
            for (int32_t c = 0; c < channels; ++c) {
                int32_t acc = 0;
                for (int32_t fy = ty.first; fy < ty.end; ++fy) {
                    const int32_t in_y = y - pad_top + dilation_h * fy;
                    const int8_t *row = in_y <= y ? scratch + (in_y % ring) * row_bytes : input + in_y * row_bytes;
                    for (int32_t fx = tx.first; fx < tx.end; ++fx) {
                        const int32_t in_x = in_x_origin + dilation_w * fx;
                        const int32_t in_val = row[in_x * channels + c];
                        const int32_t w_val = filter[(fy * filter_w + fx) * channels + c];
                        acc += (in_val + input_offset) * w_val;
                    }
                }
                out_px[c] = tg_finish_s8(acc, bias, c, mult, shift, per_channel, output_offset, act_min,
                                         act_max);
            }
        }
    }
    return TG_OK;
}
