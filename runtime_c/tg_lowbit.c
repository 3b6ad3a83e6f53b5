/* tinygen runtime: low-bit weight kernels; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit.h"

/* Decode an INT4 or PALETTE row of n values into int8; returns 0 for another format. */
static int decode_row(int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *row, int32_t n,
                      int8_t *dst)
{
    if (format == TG_WF_INT4) {
        for (int32_t j = 0; j < n; ++j) {
            const uint32_t nib = (uint32_t)(row[j >> 1] >> ((j & 1) * 4)) & 0xFu;
            dst[j] = (int8_t)((int32_t)(nib ^ 8u) - 8);
        }
        return 1;
    }
    if (format == TG_WF_PALETTE) {
        const uint32_t mask = (1u << bits) - 1u;
        for (int32_t j = 0; j < n; ++j) {
            const int32_t at = j * bits;
            const int32_t byte = at >> 3;
            const int32_t sh = at & 7;
            uint32_t word = row[byte];
            if (sh + bits > 8) {
                word |= (uint32_t)row[byte + 1] << 8;
            }
            dst[j] = codebook[(word >> sh) & mask];
        }
        return 1;
    }
    return 0;
}

/* Sum over i < n of weight[start + i] * (x[i * x_stride] + input_offset) for one row.
 * TERNARY / BINARY: no multiplications; each value is added or subtracted by bit masks
 * ((v ^ -s) + s negates v when s = 1; & -nz drops it when nz = 0), walking the bit planes a
 * byte at a time. */
static inline int32_t row_dot(int32_t format, const int8_t *decoded, const uint8_t *row, int32_t plane_bytes,
                              int32_t start, const int8_t *x, int32_t x_stride, int32_t n, int32_t input_offset)
{
    int32_t acc = 0;
    if (format == TG_WF_TERNARY || format == TG_WF_BINARY) {
        const uint8_t *p_nz = row + (start >> 3);
        const uint8_t *p_neg = row + plane_bytes + (start >> 3);
        const int32_t ternary = format == TG_WF_TERNARY;
        uint32_t nz = ternary ? (uint32_t)*p_nz >> (start & 7) : 0xFFu;
        uint32_t sg = ternary ? (uint32_t)*p_neg >> (start & 7) : ~((uint32_t)*p_nz >> (start & 7));
        int32_t left = 8 - (start & 7);
        for (int32_t i = 0; i < n; ++i) {
            if (left == 0) {
                ++p_nz;
                nz = ternary ? (uint32_t)*p_nz : 0xFFu;
                sg = ternary ? (uint32_t)*++p_neg : ~(uint32_t)*p_nz;
                left = 8;
            }
            const int32_t v = x[i * x_stride] + input_offset;
            const int32_t s = (int32_t)(sg & 1u);
            acc += ((v ^ -s) + s) & -(int32_t)(nz & 1u);
            nz >>= 1;
            sg >>= 1;
            --left;
        }
    } else {
        const int8_t *w = decoded + start;
        for (int32_t i = 0; i < n; ++i) {
            acc += (x[i * x_stride] + input_offset) * w[i];
        }
    }
    return acc;
}

static int known_format(int32_t format, int32_t bits)
{
    if (format == TG_WF_PALETTE) {
        return bits >= 1 && bits <= 4;
    }
    return format == TG_WF_INT4 || format == TG_WF_TERNARY || format == TG_WF_BINARY;
}

static inline int8_t finish(int32_t acc, const int32_t *bias, int32_t c, const int16_t *mult,
                            const int8_t *shift, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t out = tg_requantize(acc, (int32_t)mult[c] * 65536, shift[c]) + output_offset;
    return (int8_t)tg_clamp(out, act_min, act_max);
}

int tg_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
                 const uint8_t *weights, int32_t row_bytes,
                 int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                 int32_t pad_top, int32_t pad_left,
                 int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
                 const int16_t *mult, const int8_t *shift,
                 int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                 int32_t filter_h, int32_t filter_w, const int32_t *bias,
                 int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    if (!known_format(format, bits)) {
        return TG_ERROR;
    }
    const int32_t n = filter_h * filter_w * in_c;
    const int32_t plane_bytes = row_bytes / 2;
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const uint8_t *row = weights + oc * row_bytes;
        (void)decode_row(format, bits, codebook, row, n, scratch);
        for (int32_t b = 0; b < batches; ++b) {
            const int8_t *in_batch = input + b * in_h * in_w * in_c;
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                const int32_t in_y_origin = out_y * stride_h - pad_top;
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    const int32_t in_x_origin = out_x * stride_w - pad_left;
                    /* a filter row lying wholly inside the image reads filter_w * in_c contiguous inputs */
                    const int32_t whole_rows = dilation_w == 1 && in_x_origin >= 0
                                               && in_x_origin + filter_w <= in_w;
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y_origin + dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        if (whole_rows) {
                            acc += row_dot(format, scratch, row, plane_bytes, fy * filter_w * in_c,
                                           in_batch + (in_y * in_w + in_x_origin) * in_c, 1, filter_w * in_c,
                                           input_offset);
                            continue;
                        }
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x_origin + dilation_w * fx;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            acc += row_dot(format, scratch, row, plane_bytes, (fy * filter_w + fx) * in_c,
                                           in_batch + (in_y * in_w + in_x) * in_c, 1, in_c, input_offset);
                        }
                    }
                    output[((b * out_h + out_y) * out_w + out_x) * out_c + oc] =
                        finish(acc, bias, oc, mult, shift, output_offset, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

int tg_depthwise_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
                           const uint8_t *weights, int32_t row_bytes,
                           int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                           int32_t pad_top, int32_t pad_left, int32_t depth_multiplier,
                           int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
                           const int16_t *mult, const int8_t *shift,
                           int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                           int32_t filter_h, int32_t filter_w, const int32_t *bias,
                           int32_t out_h, int32_t out_w, int8_t *output)
{
    if (!known_format(format, bits) || depth_multiplier < 1) {
        return TG_ERROR;
    }
    const int32_t out_c = in_c * depth_multiplier;
    const int32_t n = filter_h * filter_w;
    const int32_t plane_bytes = row_bytes / 2;
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const int32_t ic = oc / depth_multiplier;
        const uint8_t *row = weights + oc * row_bytes;
        (void)decode_row(format, bits, codebook, row, n, scratch);
        for (int32_t b = 0; b < batches; ++b) {
            const int8_t *in_batch = input + b * in_h * in_w * in_c + ic;
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                const int32_t in_y_origin = out_y * stride_h - pad_top;
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    const int32_t in_x_origin = out_x * stride_w - pad_left;
                    /* a filter row lying wholly inside the image reads filter_w inputs in_c apart */
                    const int32_t whole_rows = dilation_w == 1 && in_x_origin >= 0
                                               && in_x_origin + filter_w <= in_w;
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y_origin + dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        if (whole_rows) {
                            acc += row_dot(format, scratch, row, plane_bytes, fy * filter_w,
                                           in_batch + (in_y * in_w + in_x_origin) * in_c, in_c, filter_w,
                                           input_offset);
                            continue;
                        }
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x_origin + dilation_w * fx;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            acc += row_dot(format, scratch, row, plane_bytes, fy * filter_w + fx,
                                           in_batch + (in_y * in_w + in_x) * in_c, 1, 1, input_offset);
                        }
                    }
                    output[((b * out_h + out_y) * out_w + out_x) * out_c + oc] =
                        finish(acc, bias, oc, mult, shift, output_offset, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

int tg_fully_connected_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
                          const uint8_t *weights, int32_t row_bytes,
                          int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
                          const int16_t *mult, const int8_t *shift,
                          int32_t batches, int32_t accum_depth, const int8_t *input,
                          int32_t out_depth, const int32_t *bias, int8_t *output)
{
    if (!known_format(format, bits)) {
        return TG_ERROR;
    }
    const int32_t plane_bytes = row_bytes / 2;
    for (int32_t o = 0; o < out_depth; ++o) {
        const uint8_t *row = weights + o * row_bytes;
        (void)decode_row(format, bits, codebook, row, accum_depth, scratch);
        for (int32_t b = 0; b < batches; ++b) {
            const int32_t acc = row_dot(format, scratch, row, plane_bytes, 0, input + b * accum_depth, 1,
                                        accum_depth, input_offset);
            output[b * out_depth + o] = finish(acc, bias, o, mult, shift, output_offset, act_min, act_max);
        }
    }
    return TG_OK;
}
