/* tinygen runtime: low-bit weight kernels; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit.h"
#include "tg_dsp.h"

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

/* TERNARY / BINARY rows as sign codes: dst[j] = 1 (add), -1 (subtract) or 0 (skip). */
static void decode_signs(int32_t format, const uint8_t *row, int32_t plane_bytes, int32_t n, int8_t *dst)
{
    for (int32_t j = 0; j < n; ++j) {
        const int32_t bit = (row[j >> 3] >> (j & 7)) & 1;
        if (format == TG_WF_BINARY) {
            dst[j] = (int8_t)(bit ? 1 : -1);
        } else {
            const int32_t neg = (row[plane_bytes + (j >> 3)] >> (j & 7)) & 1;
            dst[j] = (int8_t)(bit ? (neg ? -1 : 1) : 0);
        }
    }
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
        int32_t i = 0;
        if (x_stride == 1) { /* 4 products per step: SXTAB16 adds the offset to two inputs at once */
            const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
            for (; i + 4 <= n; i += 4) {
                const uint32_t xv = tg_read_u32(x + i);
                const uint32_t wv = tg_read_u32(w + i);
                acc = tg_smlad(tg_sxtab16(off2, xv), tg_sxtb16(wv), acc);
                acc = tg_smlad(tg_sxtab16_r8(off2, xv), tg_sxtb16_r8(wv), acc);
            }
        }
        for (; i < n; ++i) {
            acc += (x[i * x_stride] + input_offset) * w[i];
        }
    }
    return acc;
}

/* Four rows at once (w[r] + i): acc[r] += sum over i < len of w[r][i] * (x[i] + input_offset).
 * Each 4 inputs are loaded and offset once for all four rows. */
static inline void dot4(const int8_t *x, const int8_t *const w[4], int32_t len, int32_t input_offset, int32_t acc[4])
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int8_t *w0 = w[0];
    const int8_t *w1 = w[1];
    const int8_t *w2 = w[2];
    const int8_t *w3 = w[3];
    int32_t a0 = acc[0];
    int32_t a1 = acc[1];
    int32_t a2 = acc[2];
    int32_t a3 = acc[3];
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tg_read_u32(x + i);
        const uint32_t xa = tg_sxtab16(off2, xv);
        const uint32_t xb = tg_sxtab16_r8(off2, xv);
        uint32_t wv = tg_read_u32(w0 + i);
        a0 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a0));
        wv = tg_read_u32(w1 + i);
        a1 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a1));
        wv = tg_read_u32(w2 + i);
        a2 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a2));
        wv = tg_read_u32(w3 + i);
        a3 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a3));
    }
    for (; i < len; ++i) {
        const int32_t v = x[i] + input_offset;
        a0 += v * w0[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
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
    const int32_t m = (int32_t)mult[c] * 65536;
    const int32_t sh = shift[c];
    /* right shifts (the usual case) in one 64-bit multiply-add, bit-identical to tg_requantize */
    const int32_t out = (sh < 0 ? tg_requantize_rs(acc, m, -sh) : tg_requantize(acc, m, sh)) + output_offset;
    return (int8_t)tg_clamp(out, act_min, act_max);
}

/* 4 rows of byte masks m[r] (0x00 or 0xFF per weight): sums[r] += sum over i < len of (x[i] + input_offset)
 * where m[r][i] is set. Bit operations and additions only: AND with the sign-extended masks, then
 * SXTAH adds each 16-bit lane to its row's sum. */
static inline void masked_sum4(const int8_t *x, const int8_t *const m[4], int32_t len, int32_t input_offset,
                               int32_t sums[4])
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int8_t *m0 = m[0];
    const int8_t *m1 = m[1];
    const int8_t *m2 = m[2];
    const int8_t *m3 = m[3];
    int32_t s0 = sums[0];
    int32_t s1 = sums[1];
    int32_t s2 = sums[2];
    int32_t s3 = sums[3];
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tg_read_u32(x + i);
        const uint32_t xa = tg_sxtab16(off2, xv);
        const uint32_t xb = tg_sxtab16_r8(off2, xv);
        uint32_t mv = tg_read_u32(m0 + i);
        uint32_t pa = xa & tg_sxtb16(mv);
        uint32_t pb = xb & tg_sxtb16_r8(mv);
        s0 = tg_sxtah_hi(tg_sxtah(tg_sxtah_hi(tg_sxtah(s0, pa), pa), pb), pb);
        mv = tg_read_u32(m1 + i);
        pa = xa & tg_sxtb16(mv);
        pb = xb & tg_sxtb16_r8(mv);
        s1 = tg_sxtah_hi(tg_sxtah(tg_sxtah_hi(tg_sxtah(s1, pa), pa), pb), pb);
        mv = tg_read_u32(m2 + i);
        pa = xa & tg_sxtb16(mv);
        pb = xb & tg_sxtb16_r8(mv);
        s2 = tg_sxtah_hi(tg_sxtah(tg_sxtah_hi(tg_sxtah(s2, pa), pa), pb), pb);
        mv = tg_read_u32(m3 + i);
        pa = xa & tg_sxtb16(mv);
        pb = xb & tg_sxtb16_r8(mv);
        s3 = tg_sxtah_hi(tg_sxtah(tg_sxtah_hi(tg_sxtah(s3, pa), pa), pb), pb);
    }
    for (; i < len; ++i) {
        const int32_t v = x[i] + input_offset;
        s0 += v & (int32_t)m0[i];
        s1 += v & (int32_t)m1[i];
        s2 += v & (int32_t)m2[i];
        s3 += v & (int32_t)m3[i];
    }
    sums[0] = s0;
    sums[1] = s1;
    sums[2] = s2;
    sums[3] = s3;
}

/* sum over i < len of (x[i] + input_offset) */
static inline int32_t plain_sum(const int8_t *x, int32_t len, int32_t input_offset)
{
    int32_t s = len * input_offset;
    for (int32_t i = 0; i < len; ++i) {
        s += x[i];
    }
    return s;
}

/* Rows oc0..oc0+3 of a block in scratch: int8 weights (INT4, PALETTE), byte masks of the +1 weights
 * (BINARY), or of the +1 weights then, 4 rows further, of the -1 weights (TERNARY). */
static void decode_block(int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
                         int32_t row_bytes, int32_t oc0, int32_t nb, int32_t n, int8_t *scratch)
{
    const int32_t plane_bytes = row_bytes / 2;
    for (int32_t r = 0; r < nb; ++r) {
        const uint8_t *row = weights + (oc0 + r) * row_bytes;
        int8_t *dst = scratch + r * n;
        if (decode_row(format, bits, codebook, row, n, dst)) {
            continue;
        }
        for (int32_t j = 0; j < n; ++j) {
            const uint32_t bit = ((uint32_t)row[j >> 3] >> (j & 7)) & 1u;
            if (format == TG_WF_BINARY) {
                dst[j] = (int8_t)-(int32_t)bit;
            } else {
                const uint32_t neg = ((uint32_t)row[plane_bytes + (j >> 3)] >> (j & 7)) & 1u;
                dst[j] = (int8_t)-(int32_t)(bit & (neg ^ 1u));
                dst[4 * n + j] = (int8_t)-(int32_t)(bit & neg);
            }
        }
    }
}

/* acc[r] += the segment's contribution of block row r, for the weights starting at `start`. */
static inline void segment(int32_t format, const int8_t *scratch, int32_t n, int32_t nb, int32_t start,
                           const int8_t *x, int32_t len, int32_t input_offset, int32_t acc[4])
{
    /* rows past the block's end repeat its last row; their sums are dropped */
    const int8_t *w[4] = {scratch + start, scratch + TG_MIN(1, nb - 1) * n + start,
                          scratch + TG_MIN(2, nb - 1) * n + start, scratch + TG_MIN(3, nb - 1) * n + start};
    if (format == TG_WF_INT4 || format == TG_WF_PALETTE) {
        dot4(x, w, len, input_offset, acc);
        return;
    }
    int32_t pos[4] = {0, 0, 0, 0};
    masked_sum4(x, w, len, input_offset, pos);
    if (format == TG_WF_BINARY) {
        const int32_t total = plain_sum(x, len, input_offset);
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] += pos[r] + pos[r] - total;
        }
        return;
    }
    int32_t neg[4] = {0, 0, 0, 0};
    const int8_t *wn[4] = {w[0] + 4 * n, w[1] + 4 * n, w[2] + 4 * n, w[3] + 4 * n};
    masked_sum4(x, wn, len, input_offset, neg);
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] += pos[r] - neg[r];
    }
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
    /* blocks of 4 output channels decoded side by side into scratch (4 rows of n bytes; ternary 8);
     * with short filter rows (filter_w * in_c < 16) the input window is gathered after them */
    const int32_t short_rows = filter_w * in_c < 16;
    int8_t *patch = scratch + (format == TG_WF_TERNARY ? 8 : 4) * n;
    const int8_t pad_value = (int8_t)(-input_offset);
    for (int32_t oc0 = 0; oc0 < out_c; oc0 += 4) {
        const int32_t nb = TG_MIN(4, out_c - oc0);
        decode_block(format, bits, codebook, weights, row_bytes, oc0, nb, n, scratch);
        for (int32_t b = 0; b < batches; ++b) {
            const int8_t *in_batch = input + b * in_h * in_w * in_c;
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                const int32_t in_y_origin = out_y * stride_h - pad_top;
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    const int32_t in_x_origin = out_x * stride_w - pad_left;
                    int32_t acc[4] = {0, 0, 0, 0};
                    if (short_rows) {
                        /* padding reads as -input_offset, which contributes 0 */
                        int8_t *pp = patch;
                        for (int32_t fy = 0; fy < filter_h; ++fy) {
                            const int32_t in_y = in_y_origin + dilation_h * fy;
                            for (int32_t fx = 0; fx < filter_w; ++fx) {
                                const int32_t in_x = in_x_origin + dilation_w * fx;
                                const int inside = in_y >= 0 && in_y < in_h && in_x >= 0 && in_x < in_w;
                                const int8_t *src = in_batch + (in_y * in_w + in_x) * in_c;
                                for (int32_t c = 0; c < in_c; ++c) {
                                    *pp++ = inside ? src[c] : pad_value;
                                }
                            }
                        }
                        segment(format, scratch, n, nb, 0, patch, n, input_offset, acc);
                    } else {
                        /* a filter row lying wholly inside the image reads filter_w * in_c contiguous inputs */
                        const int32_t whole_rows = dilation_w == 1 && in_x_origin >= 0
                                                   && in_x_origin + filter_w <= in_w;
                        const int32_t seg = whole_rows ? filter_w * in_c : in_c;
                        for (int32_t fy = 0; fy < filter_h; ++fy) {
                            const int32_t in_y = in_y_origin + dilation_h * fy;
                            if (in_y < 0 || in_y >= in_h) {
                                continue;
                            }
                            for (int32_t fx = 0; fx < (whole_rows ? 1 : filter_w); ++fx) {
                                const int32_t in_x = in_x_origin + dilation_w * fx;
                                if (in_x < 0 || in_x >= in_w) {
                                    continue;
                                }
                                segment(format, scratch, n, nb, (fy * filter_w + fx) * in_c,
                                        in_batch + (in_y * in_w + in_x) * in_c, seg, input_offset, acc);
                            }
                        }
                    }
                    int8_t *out_px = output + ((b * out_h + out_y) * out_w + out_x) * out_c + oc0;
                    for (int32_t r = 0; r < nb; ++r) {
                        out_px[r] = finish(acc[r], bias, oc0 + r, mult, shift, output_offset, act_min, act_max);
                    }
                }
            }
        }
    }
    return TG_OK;
}

/* First and one-past-last filter tap (0 <= t < taps) whose input origin + dilation * t lies in [0, size). */
static inline void tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size, int32_t *first,
                             int32_t *end)
{
    const int32_t lo = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    const int32_t hi = size > origin ? (size - origin + dilation - 1) / dilation : 0;
    *first = lo;
    *end = TG_MIN(hi, taps);
}

/* Depthwise, multiplier 1, 4 consecutive channels oc0..oc0+3 with decoded weights w[tap * 4 + r]:
 * one word of inputs and one of weights per tap, 4 lane-wise multiply-accumulates (SMLABB/SMLATT).
 * Kept out of line so its loop gets the registers to itself. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void dw_block4(const int8_t *w, int32_t oc0, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
                      int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult,
                      const int8_t *shift, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
                      const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
                      int32_t out_h, int32_t out_w, int8_t *output)
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t x_step = dilation_w * in_c;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c + oc0;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y_origin = out_y * stride_h - pad_top;
            int32_t fy0;
            int32_t fy1;
            tap_range(in_y_origin, dilation_h, filter_h, in_h, &fy0, &fy1);
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x_origin = out_x * stride_w - pad_left;
                int32_t fx0;
                int32_t fx1;
                tap_range(in_x_origin, dilation_w, filter_w, in_w, &fx0, &fx1);
                int32_t a0 = 0;
                int32_t a1 = 0;
                int32_t a2 = 0;
                int32_t a3 = 0;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *px = in_batch + ((in_y_origin + dilation_h * fy) * in_w
                                                   + in_x_origin + dilation_w * fx0) * in_c;
                    const int8_t *wt = w + (fy * filter_w + fx0) * 4;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        const uint32_t xv = tg_read_u32(px);
                        const uint32_t wv = tg_read_u32(wt);
                        const uint32_t xa = tg_sxtab16(off2, xv);
                        const uint32_t xb = tg_sxtab16_r8(off2, xv);
                        const uint32_t wa = tg_sxtb16(wv);
                        const uint32_t wb = tg_sxtb16_r8(wv);
                        a0 = tg_smlabb(xa, wa, a0);
                        a2 = tg_smlatt(xa, wa, a2);
                        a1 = tg_smlabb(xb, wb, a1);
                        a3 = tg_smlatt(xb, wb, a3);
                        px += x_step;
                        wt += 4;
                    }
                }
                int8_t *out_px = output + ((b * out_h + out_y) * out_w + out_x) * in_c + oc0;
                out_px[0] = finish(a0, bias, oc0, mult, shift, output_offset, act_min, act_max);
                out_px[1] = finish(a1, bias, oc0 + 1, mult, shift, output_offset, act_min, act_max);
                out_px[2] = finish(a2, bias, oc0 + 2, mult, shift, output_offset, act_min, act_max);
                out_px[3] = finish(a3, bias, oc0 + 3, mult, shift, output_offset, act_min, act_max);
            }
        }
    }
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
    const int32_t signs = format == TG_WF_TERNARY || format == TG_WF_BINARY;
    /* blocks of 4 output channels; scratch holds their 4 rows, tap-major: scratch[t * 4 + r] */
    for (int32_t oc0 = 0; oc0 < out_c; oc0 += 4) {
        const int32_t nb = TG_MIN(4, out_c - oc0);
        int8_t *rows = scratch + 4 * n;  /* one row decoded here, then interleaved below */
        for (int32_t r = 0; r < 4; ++r) {
            const uint8_t *row = weights + (oc0 + TG_MIN(r, nb - 1)) * row_bytes;
            if (signs) {
                decode_signs(format, row, row_bytes / 2, n, rows);
            } else {
                (void)decode_row(format, bits, codebook, row, n, rows);
            }
            for (int32_t t = 0; t < n; ++t) {
                scratch[t * 4 + r] = rows[t];
            }
        }
        if (depth_multiplier == 1 && !signs && oc0 + 4 <= out_c) { /* a full block */
            dw_block4(scratch, oc0, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, input_offset,
                      output_offset, act_min, act_max, mult, shift, batches, in_h, in_w, in_c, input, filter_h,
                      filter_w, bias, out_h, out_w, output);
            continue;
        }
        int32_t ch[4];
        for (int32_t r = 0; r < 4; ++r) {
            ch[r] = (oc0 + TG_MIN(r, nb - 1)) / depth_multiplier;
        }
        for (int32_t b = 0; b < batches; ++b) {
            const int8_t *in_batch = input + b * in_h * in_w * in_c;
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                const int32_t in_y_origin = out_y * stride_h - pad_top;
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    const int32_t in_x_origin = out_x * stride_w - pad_left;
                    int32_t a0 = 0;
                    int32_t a1 = 0;
                    int32_t a2 = 0;
                    int32_t a3 = 0;
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
                            const int8_t *px = in_batch + (in_y * in_w + in_x) * in_c;
                            const int8_t *w = scratch + (fy * filter_w + fx) * 4;
                            const int32_t v0 = px[ch[0]] + input_offset;
                            const int32_t v1 = px[ch[1]] + input_offset;
                            const int32_t v2 = px[ch[2]] + input_offset;
                            const int32_t v3 = px[ch[3]] + input_offset;
                            if (signs) { /* add, subtract or skip: no multiplications */
                                a0 += w[0] > 0 ? v0 : (w[0] < 0 ? -v0 : 0);
                                a1 += w[1] > 0 ? v1 : (w[1] < 0 ? -v1 : 0);
                                a2 += w[2] > 0 ? v2 : (w[2] < 0 ? -v2 : 0);
                                a3 += w[3] > 0 ? v3 : (w[3] < 0 ? -v3 : 0);
                            } else {
                                a0 += v0 * w[0];
                                a1 += v1 * w[1];
                                a2 += v2 * w[2];
                                a3 += v3 * w[3];
                            }
                        }
                    }
                    int8_t *out_px = output + ((b * out_h + out_y) * out_w + out_x) * out_c + oc0;
                    const int32_t acc[4] = {a0, a1, a2, a3};
                    for (int32_t r = 0; r < nb; ++r) {
                        out_px[r] = finish(acc[r], bias, oc0 + r, mult, shift, output_offset, act_min, act_max);
                    }
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
