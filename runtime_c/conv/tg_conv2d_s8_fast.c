/* tinygen runtime: fast int8 2-D convolution; contract in tg_conv2d_s8_fast.h. */
#include "tg_conv2d_s8_fast.h"

#include "tg_gemm_s8_fast.h"

int32_t tg_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w, int32_t wide)
{
    const int32_t k_pad = (filter_h * filter_w * in_c + 3) & ~3;
    if (wide == TG_GEMM_EXTEND) {
        return 2 * k_pad; /* the extended column: two words per 4 values */
    }
    if ((in_c & 3) == 0 && filter_h * filter_w <= TG_CONV_FAST_MAX_TAPS) {
        return 0; /* the window is read in place */
    }
    return k_pad;
}

/* The raw int8 column of the window at (in_y0, in_x0) into col, zero padded to k_pad values. */
static void im2col(const int8_t *in, int32_t in_h, int32_t in_w, int32_t in_c, int32_t in_y0, int32_t in_x0,
                   int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w,
                   int8_t input_zp, int32_t k_pad, int8_t *col)
{
    int8_t *s = col;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        const int32_t in_y = in_y0 + fy * dilation_h;
        const int row_in = in_y >= 0 && in_y < in_h;
        if (row_in && dilation_w == 1 && in_x0 >= 0 && in_x0 + filter_w <= in_w) {
            /* the whole filter row inside the input: one contiguous span */
            const int8_t *px = in + (in_y * in_w + in_x0) * in_c;
            const int32_t span = filter_w * in_c;
            for (int32_t i = 0; i < span; ++i) {
                s[i] = px[i];
            }
            s += span;
            continue;
        }
        for (int32_t fx = 0; fx < filter_w; ++fx) {
            const int32_t in_x = in_x0 + fx * dilation_w;
            if (!row_in || in_x < 0 || in_x >= in_w) {
                for (int32_t c = 0; c < in_c; ++c) {
                    s[c] = input_zp;
                }
            } else {
                const int8_t *px = in + (in_y * in_w + in_x) * in_c;
                for (int32_t c = 0; c < in_c; ++c) {
                    s[c] = px[c];
                }
            }
            s += in_c;
        }
    }
    while (s < col + k_pad) {
        *s++ = 0;
    }
}

/* The extended column of the window at (in_y0, in_x0) (in_c % 4 == 0): each filter row's span in one
 * piece when it lies inside the input, padding taps extended from zp_px. */
static void window_x(const int8_t *in, int32_t in_h, int32_t in_w, int32_t in_c, int32_t in_y0, int32_t in_x0,
                     int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w, const int8_t *zp_px,
                     uint32_t *colx)
{
    const int32_t c4 = in_c >> 2;
    const int row_whole = dilation_w == 1 && in_x0 >= 0 && in_x0 + filter_w <= in_w;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        const int32_t in_y = in_y0 + fy * dilation_h;
        const int row_in = in_y >= 0 && in_y < in_h;
        if (row_in && row_whole) {
            (void)tg_gemm_s8_extend(in + (in_y * in_w + in_x0) * in_c, filter_w * c4, 1, colx);
            colx += 2 * filter_w * c4;
            continue;
        }
        for (int32_t fx = 0; fx < filter_w; ++fx, colx += 2 * c4) {
            const int32_t in_x = in_x0 + fx * dilation_w;
            const int8_t *src = row_in && in_x >= 0 && in_x < in_w ? in + (in_y * in_w + in_x) * in_c : zp_px;
            (void)tg_gemm_s8_extend(src, c4, 1, colx);
        }
    }
}

/* The raw column of the window at (in_y0, in_x0) for conv_x (in_c % 4 != 0) into the word-aligned col,
 * zero padded to k_pad values: rows outside the input filled with input_zp, rows inside copied as one
 * span (by words when the span is a multiple of 4, so every row starts word aligned), others per tap. */
static void window_bytes(const int8_t *in, int32_t in_h, int32_t in_w, int32_t in_c, int32_t in_y0, int32_t in_x0,
                         int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w,
                         int8_t input_zp, int32_t k_pad, int8_t *col)
{
    const int32_t span = filter_w * in_c;
    const int row_whole = dilation_w == 1 && in_x0 >= 0 && in_x0 + filter_w <= in_w;
    int8_t *s = col;
    for (int32_t fy = 0; fy < filter_h; ++fy, s += span) {
        const int32_t in_y = in_y0 + fy * dilation_h;
        if (in_y < 0 || in_y >= in_h) {
            for (int32_t i = 0; i < span; ++i) {
                s[i] = input_zp;
            }
        } else if (row_whole) {
            const int8_t *px = in + (in_y * in_w + in_x0) * in_c;
            if ((span & 3) == 0) {
                for (int32_t i = 0; i < span; i += 4) {
                    *(uint32_t *)(void *)(s + i) = tg_read_u32(px + i);
                }
            } else {
                for (int32_t i = 0; i < span; ++i) {
                    s[i] = px[i];
                }
            }
        } else {
            int8_t *d = s;
            for (int32_t fx = 0; fx < filter_w; ++fx) {
                const int32_t in_x = in_x0 + fx * dilation_w;
                if (in_x >= 0 && in_x < in_w) {
                    const int8_t *px = in + (in_y * in_w + in_x) * in_c;
                    for (int32_t c = 0; c < in_c; ++c) {
                        d[c] = px[c];
                    }
                } else {
                    for (int32_t c = 0; c < in_c; ++c) {
                        d[c] = input_zp;
                    }
                }
                d += in_c;
            }
        }
    }
    while (s < col + k_pad) {
        *s++ = 0;
    }
}

/* wide == TG_GEMM_EXTEND: per output pixel the column extended once into scratch, then tg_gemm_s8_fast_x.
 * in_c % 4 != 0: the raw column (im2col, zero padded to k_pad) is gathered into the upper half of the
 * scratch and extended from there into the lower half (group g's 8 bytes end at or before group g+1's
 * 4 source bytes, and each group is read before it is written). */
static void conv_x(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                   int32_t pad_top, int32_t pad_left, int8_t input_zp, const int8_t *zp_px, int32_t output_offset,
                   int32_t act_min, int32_t act_max, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *in,
                   int32_t filter_h, int32_t filter_w, const int32_t *filter, const int32_t *quant, int32_t rq_words,
                   int32_t out_h, int32_t out_w, int32_t out_c, int8_t *out)
{
    const int32_t k4 = (filter_h * filter_w * in_c + 3) >> 2;
    uint32_t *colx = (uint32_t *)(void *)scratch;
    const int pointwise = filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0
                          && pad_left == 0 && out_h == in_h && out_w == in_w && (in_c & 3) == 0;
    for (int32_t out_y = 0; out_y < out_h; ++out_y) {
        const int32_t in_y0 = out_y * stride_h - pad_top;
        for (int32_t out_x = 0; out_x < out_w; ++out_x, out += out_c) {
            const int32_t in_x0 = out_x * stride_w - pad_left;
            if (pointwise) {
                (void)tg_gemm_s8_extend(in + (out_y * in_w + out_x) * in_c, in_c >> 2, 1, colx);
            } else if (in_c & 3) {
                window_bytes(in, in_h, in_w, in_c, in_y0, in_x0, filter_h, filter_w, dilation_h, dilation_w,
                             input_zp, 4 * k4, scratch + 4 * k4);
                (void)tg_gemm_s8_extend(scratch + 4 * k4, k4, 1, colx);
            } else {
                window_x(in, in_h, in_w, in_c, in_y0, in_x0, filter_h, filter_w, dilation_h, dilation_w, zp_px, colx);
            }
            tg_gemm_s8_fast_x(colx, k4, filter, 1, 0u, quant, rq_words, output_offset, act_min, act_max,
                              out_c, out);
        }
    }
}

int tg_conv2d_s8_fast(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, const int8_t *zp_px,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int32_t out_h, int32_t out_w, int32_t out_c,
    int8_t *output)
{
    const int32_t k_pad = (filter_h * filter_w * in_c + 3) & ~3;
    const int pointwise = filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0
                          && pad_left == 0 && out_h == in_h && out_w == in_w && (in_c & 3) == 0;
    const int32_t pixels = out_h * out_w;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        int8_t *out = output + b * pixels * out_c;
        if (wide == TG_GEMM_EXTEND) {
            conv_x(scratch, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, (int8_t)input_zp, zp_px,
                   output_offset, act_min, act_max, in_h, in_w, in_c, in, filter_h, filter_w, filter, quant,
                   rq_words, out_h, out_w, out_c, out);
            continue;
        }
        if (pointwise) {
            for (int32_t p = 0; p < pixels; ++p) {
                tg_gemm_s8_fast(in + p * in_c, k_pad >> 2, filter, wide, quant, rq_words, output_offset,
                                act_min, act_max, out_c, out + p * out_c);
            }
            continue;
        }
        if ((in_c & 3) == 0 && filter_h * filter_w <= TG_CONV_FAST_MAX_TAPS) {
            /* the window read in place: one tap pointer per filter position, padding -> zp_px */
            const int8_t *tap[TG_CONV_FAST_MAX_TAPS];
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                const int32_t in_y0 = out_y * stride_h - pad_top;
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    const int32_t in_x0 = out_x * stride_w - pad_left;
                    int32_t t = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y0 + fy * dilation_h;
                        const int row_in = in_y >= 0 && in_y < in_h;
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x0 + fx * dilation_w;
                            tap[t++] = row_in && in_x >= 0 && in_x < in_w ? in + (in_y * in_w + in_x) * in_c
                                                                           : zp_px;
                        }
                    }
                    tg_gemm_s8_fast_taps(tap, t, in_c >> 2, filter, wide, quant, rq_words, output_offset,
                                         act_min, act_max, out_c, out);
                    out += out_c;
                }
            }
            continue;
        }
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                im2col(in, in_h, in_w, in_c, out_y * stride_h - pad_top, out_x * stride_w - pad_left,
                       filter_h, filter_w, dilation_h, dilation_w, (int8_t)input_zp, k_pad, scratch);
                tg_gemm_s8_fast(scratch, k_pad >> 2, filter, wide, quant, rq_words, output_offset, act_min,
                                act_max, out_c, out);
                out += out_c;
            }
        }
    }
    return TG_OK;
}
