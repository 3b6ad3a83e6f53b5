/* tinygen runtime: fast int8 2-D convolution; contract in tg_conv2d_s8_fast.h. */
#include "tg_conv2d_s8_fast.h"

#include "tg_dsp.h"
#include "tg_gemm_s8_fast.h"

int32_t tg_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w)
{
    const int32_t k_pad = (filter_h * filter_w * in_c + 3) & ~3;
    return k_pad * 4 + k_pad; /* two int16 columns + one int8 staging column */
}

/* The column of output pixel (out_y, out_x) into cols (every stride_words-th pair of words). */
static void im2col(const int8_t *in, int32_t in_h, int32_t in_w, int32_t in_c, int32_t in_y0, int32_t in_x0,
                   int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w,
                   int32_t input_zp, int32_t k_pad, int8_t *stage, uint32_t *cols, int32_t stride_words)
{
    const uint32_t zp_pair = ((uint32_t)input_zp & 0xFFFFu) | ((uint32_t)input_zp << 16);
    if ((in_c & 3) == 0) {
        /* groups of 4 never straddle taps: convert straight from the input */
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            const int32_t in_y = in_y0 + fy * dilation_h;
            for (int32_t fx = 0; fx < filter_w; ++fx) {
                const int32_t in_x = in_x0 + fx * dilation_w;
                if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) {
                    for (int32_t c = 0; c < in_c; c += 4) {
                        cols[0] = zp_pair;
                        cols[1] = zp_pair;
                        cols += stride_words;
                    }
                } else {
                    tg_gemm_cols_s8(in + (in_y * in_w + in_x) * in_c, in_c, cols, stride_words);
                    cols += (in_c >> 2) * stride_words;
                }
            }
        }
        return;
    }
    int8_t *s = stage;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        const int32_t in_y = in_y0 + fy * dilation_h;
        for (int32_t fx = 0; fx < filter_w; ++fx) {
            const int32_t in_x = in_x0 + fx * dilation_w;
            if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) {
                for (int32_t c = 0; c < in_c; ++c) {
                    *s++ = (int8_t)input_zp;
                }
            } else {
                const int8_t *px = in + (in_y * in_w + in_x) * in_c;
                for (int32_t c = 0; c < in_c; ++c) {
                    *s++ = px[c];
                }
            }
        }
    }
    while (s < stage + k_pad) {
        *s++ = 0;
    }
    tg_gemm_cols_s8(stage, k_pad, cols, stride_words);
}

int tg_conv2d_s8_fast(int8_t *scratch,
                      int32_t stride_h, int32_t stride_w,
                      int32_t dilation_h, int32_t dilation_w,
                      int32_t pad_top, int32_t pad_left,
                      int32_t input_zp, int32_t output_offset,
                      int32_t act_min, int32_t act_max,
                                            int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                      int32_t filter_h, int32_t filter_w, const int32_t *filter, const int32_t *quant,
                      int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    const int32_t k_pad = (filter_h * filter_w * in_c + 3) & ~3;
    uint32_t *cols = (uint32_t *)(void *)scratch;
    int8_t *stage = scratch + 4 * k_pad;
    const int32_t pixels = out_h * out_w;
    const int pointwise = filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0
                          && pad_left == 0 && out_h == in_h && out_w == in_w && (in_c & 3) == 0;

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        int8_t *out = output + b * pixels * out_c;
        for (int32_t p = 0; p < pixels; p += 2) {
            const int32_t n_cols = p + 1 < pixels ? 2 : 1;
            const int32_t stride_words = 2 * n_cols;
            for (int32_t j = 0; j < n_cols; ++j) {
                if (pointwise) {
                    tg_gemm_cols_s8(in + (p + j) * in_c, in_c, cols + 2 * j, stride_words);
                } else {
                    const int32_t out_y = (p + j) / out_w, out_x = (p + j) % out_w;
                    im2col(in, in_h, in_w, in_c, out_y * stride_h - pad_top, out_x * stride_w - pad_left,
                           filter_h, filter_w, dilation_h, dilation_w, input_zp, k_pad, stage, cols + 2 * j,
                           stride_words);
                }
            }
            tg_gemm_s8_fast(cols, n_cols, k_pad >> 2, filter, quant, output_offset, act_min,
                            act_max, out_c, out + p * out_c, out + (p + 1) * out_c);
        }
    }
    return TG_OK;
}
