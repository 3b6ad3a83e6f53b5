/* tinygen runtime: in-place capable fast stride-1 depthwise convolution; contract in
 * tg_inplace_depthwise_rows_s8_fast.h. */
#include "tg_inplace_depthwise_rows_s8_fast.h"

#include <string.h>

#include "tg_depthwise_conv2d_s8_fast.h"

int32_t tg_inplace_depthwise_rows_s8_fast_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t channels)
{
    return (pad_top + 1) * in_w * channels; /* the ring of input rows still to be read */
}

int tg_inplace_depthwise_rows_s8_fast(int8_t *scratch, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *quant, int32_t rq_words, int32_t in_h, int32_t in_w, int32_t channels,
    const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int8_t *tap[TG_DW_FAST_MAX_TAPS + 1];
    const int8_t *rows[TG_DW_FAST_MAX_TAPS];
    if (scratch == NULL || channels <= 0 || (channels & 3) != 0 || in_h < 0 || in_w < 0 || pad_top < 0
        || taps > TG_DW_FAST_MAX_TAPS) {
        return TG_ERROR;
    }
    const int32_t ring = pad_top + 1;
    const int32_t row_bytes = in_w * channels;
    for (int32_t y = 0; y < in_h; ++y) {
        memcpy(scratch + (y % ring) * row_bytes, input + y * row_bytes, (size_t)row_bytes);
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            const int32_t in_y = y - pad_top + dilation_h * fy;
            rows[fy] = in_y < 0 || in_y >= in_h ? NULL
                       : in_y <= y              ? scratch + (in_y % ring) * row_bytes
                                                : input + in_y * row_bytes;
        }
        int rows_in = 1;
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            rows_in = rows_in && rows[fy] != NULL;
        }
        int prev_inside = 0;
        for (int32_t out_x = 0; out_x < in_w; ++out_x) {
            const int32_t in_x0 = out_x - pad_left;
            const int inside = rows_in && in_x0 >= 0 && in_x0 + dilation_w * (filter_w - 1) < in_w;
            if (inside && prev_inside) {
                /* this window and the last one inside the input: every tap moves by one pixel */
                for (int32_t t = 0; t < taps; ++t) {
                    tap[t] += channels;
                }
            } else {
                int32_t t = 0;
                for (int32_t fy = 0; fy < filter_h; ++fy) {
                    for (int32_t fx = 0; fx < filter_w; ++fx) {
                        const int32_t in_x = in_x0 + dilation_w * fx;
                        tap[t++] = rows[fy] != NULL && in_x >= 0 && in_x < in_w ? rows[fy] + in_x * channels : zp_px;
                    }
                }
            }
            prev_inside = inside;
            tap[taps] = tap[taps - 1]; /* the partner of a single tap (1x1 filter) */
            tg_depthwise_s8_fast_pixel(tap, taps, channels, filter, quant, rq_words, output_offset,
                                       act_min, act_max, output + (y * in_w + out_x) * channels);
        }
    }
    return TG_OK;
}
