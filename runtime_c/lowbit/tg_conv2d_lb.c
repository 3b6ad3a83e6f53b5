/* tinygen runtime: CONV_2D with low-bit weights; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit_core.h"
#include "tg_lowbit_simd.h"
#include "tg_window.h"

/* Two 4-bit two's complement values at bits 0..3 and 8..11 of v as int16 lanes (low, high): each
 * biased by 8 into 0..15, then 8 taken off both lanes at once, the low lane's borrow given back. */
static inline uint32_t int4_pair(uint32_t v)
{
    const uint32_t u = ((v | (v << 8)) & 0x000F000Fu) ^ 0x00080008u;
    return u - 0x00080008u + ((~u & 8u) << 13);
}

/* Weights of a block of 4 output channels, decoded once per block as SMLAD operands: for each group
 * of 4 consecutive values k..k+3 of the rows, 4 doublewords, one per row r, each holding the int16
 * pairs (w[k], w[k+2]) in its low word and (w[k+1], w[k+3]) in its high word (low half first):
 * they pair with SXTAB16 of 4 inputs (lanes x[k], x[k+2]) and its ROR #8 twin (x[k+1], x[k+3]).
 * Values past n are 0; rows past the block's end repeat its last row. One LDRD per row and group. */
static void decode_block(int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
                         int32_t row_bytes, int32_t oc0, int32_t nb, int32_t n, int32_t n4, int8_t *tmp,
                         uint64_t *dst)
{
    for (int32_t r = 0; r < 4; ++r) {
        const uint8_t *row = weights + (oc0 + TG_MIN(r, nb - 1)) * row_bytes;
        if (format == TG_WF_INT4 && (n & 3) == 0) { /* 2 bytes per group, straight to int16 pairs */
            uint64_t *d = dst + r;
            for (int32_t k = 0; k < n; k += 4) {
                const uint32_t v = (uint32_t)row[k >> 1] | ((uint32_t)row[(k >> 1) + 1] << 8);
                *d = (uint64_t)int4_pair(v & 0x0F0Fu) | ((uint64_t)int4_pair((v >> 4) & 0x0F0Fu) << 32);
                d += 4;
            }
            continue;
        }
        if (!tg_lb_decode_row(format, bits, codebook, row, n, tmp)) {
            tg_lb_decode_signs(format, row, row_bytes / 2, n, tmp);
        }
        for (int32_t j = n; j < n4; ++j) {
            tmp[j] = 0;
        }
        uint64_t *d = dst + r;
        for (int32_t k = 0; k < n4; k += 4) {
            const uint32_t lo = ((uint32_t)tmp[k] & 0xFFFFu) | ((uint32_t)tmp[k + 2] << 16);
            const uint32_t hi = ((uint32_t)tmp[k + 1] & 0xFFFFu) | ((uint32_t)tmp[k + 3] << 16);
            *d = (uint64_t)lo | ((uint64_t)hi << 32);
            d += 4;
        }
    }
}

/* One group of 4 inputs x against the 4 doublewords at byte offset off of w (decode_block's layout) */
#define TG_LB_ROW(a, off)                                          \
    do {                                                           \
        uint32_t lo_;                                              \
        uint32_t hi_;                                              \
        TG_LB_LDRD(w, off, lo_, hi_);                              \
        a = tg_smlad(xb_, hi_, tg_smlad(xa_, lo_, a));             \
    } while (0)
#define TG_LB_GROUP(x, o0, o1, o2, o3)                             \
    do {                                                           \
        const uint32_t xv_ = tg_read_u32(x);                       \
        const uint32_t xa_ = tg_sxtab16(off2, xv_);                \
        const uint32_t xb_ = tg_sxtab16_r8(off2, xv_);             \
        TG_LB_ROW(a0, o0);                                         \
        TG_LB_ROW(a1, o1);                                         \
        TG_LB_ROW(a2, o2);                                         \
        TG_LB_ROW(a3, o3);                                         \
    } while (0)

/* acc[r] += sum over i < 4 * groups of w_r[i] * (x[i] + input_offset): one input load and two
 * SXTAB16 per 4 inputs, then one LDRD and one SMLAD pair per row; two groups per loop step. */
TG_ALWAYS_INLINE void dot4(const int8_t *x, const uint64_t *w, int32_t groups, uint32_t off2, int32_t acc[4])
{
    int32_t a0 = acc[0];
    int32_t a1 = acc[1];
    int32_t a2 = acc[2];
    int32_t a3 = acc[3];
    const uint64_t *w_end = w + (groups >> 1) * 8;
    while (w != w_end) {
        TG_LB_GROUP(x, 0, 8, 16, 24);
        TG_LB_GROUP(x + 4, 32, 40, 48, 56);
        x += 8;
        w += 8;
    }
    if (groups & 1) {
        TG_LB_GROUP(x, 0, 8, 16, 24);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The first filter_h * filter_w * in_c bytes of the input window whose top-left tap reads (in_y0, in_x0),
 * in (fy, fx, ic) order; padding reads as pad_value (-input_offset, which contributes 0). A filter row
 * lying wholly inside the image is one copy, a word at a time. */
static void gather(const int8_t *in_batch, int32_t in_y0, int32_t in_x0, int32_t in_h, int32_t in_w, int32_t in_c,
                   int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w, int8_t pad_value,
                   int8_t *patch)
{
    const int32_t seg = filter_w * in_c;
    const int32_t whole = dilation_w == 1 && in_x0 >= 0 && in_x0 + filter_w <= in_w;
    int8_t *pp = patch;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        const int32_t in_y = in_y0 + dilation_h * fy;
        const int32_t row_in = in_y >= 0 && in_y < in_h;
        if (!row_in) { /* a row in the padding */
            for (int32_t i = 0; i < seg; ++i) {
                pp[i] = pad_value;
            }
            pp += seg;
            continue;
        }
        if (whole) {
            const int8_t *src = in_batch + (in_y * in_w + in_x0) * in_c;
            int32_t i = 0;
            for (; i + 4 <= seg; i += 4) {
                memcpy(pp + i, src + i, 4);
            }
            for (; i < seg; ++i) {
                pp[i] = src[i];
            }
            pp += seg;
            continue;
        }
        for (int32_t fx = 0; fx < filter_w; ++fx) {
            const int32_t in_x = in_x0 + dilation_w * fx;
            const int inside = row_in && in_x >= 0 && in_x < in_w;
            const int8_t *src = in_batch + (in_y * in_w + in_x) * in_c;
            for (int32_t c = 0; c < in_c; ++c) {
                *pp++ = inside ? src[c] : pad_value;
            }
        }
    }
}

/* Gathered windows with every block decoded up front (scratch permitting, see tg_conv2d_lb_all_rows):
 * each window is gathered once and used for every block. */
static void conv_all_rows(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    const int32_t n = filter_h * filter_w * in_c;
    const int32_t n4 = (n + 3) & ~3;
    const int32_t blocks = (out_c + 3) >> 2;
    uint64_t *wall = (uint64_t *)(void *)scratch;
    tg_lb_block_rq *rqs = (tg_lb_block_rq *)(void *)(scratch + blocks * 8 * n4);
    int8_t *patch = (int8_t *)(void *)(rqs + blocks);
    const int8_t pad_value = (int8_t)(-input_offset);
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    for (int32_t k = 0; k < blocks; ++k) {
        const int32_t nb = TG_MIN(4, out_c - 4 * k);
        tg_lb_block_rq_init(&rqs[k], bias, 4 * k, nb, mult, shift, n);
        decode_block(format, bits, codebook, weights, row_bytes, 4 * k, nb, n, n4, patch, wall + k * n4);
    }
    for (int32_t i = n; i < n4; ++i) { /* the window's tail pads */
        patch[i] = pad_value;
    }
    int8_t *out_px = output;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            for (int32_t ox = 0; ox < out_w; ++ox) {
                gather(in_batch, oy * stride_h - pad_top, ox * stride_w - pad_left, in_h, in_w, in_c, filter_h,
                       filter_w, dilation_h, dilation_w, pad_value, patch);
                for (int32_t k = 0; k < blocks; ++k) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    dot4(patch, wall + k * n4, n4 >> 2, off2, acc);
                    const int32_t nb = TG_MIN(4, out_c - 4 * k);
                    tg_lb_store4(&rqs[k], rqs[k].words && nb == 4, acc[0], acc[1], acc[2], acc[3], nb, bias, 4 * k,
                                 mult, shift, output_offset, act_min, act_max, out_px + 4 * k);
                }
                out_px += out_c;
            }
        }
    }
}

int tg_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    if (!tg_lb_known_format(format, bits)) {
        return TG_ERROR;
    }
    const int32_t n = filter_h * filter_w * in_c;
    const int32_t n4 = (n + 3) & ~3;
    /* scratch: the block's 4 decoded rows (8 * n4 bytes), then n4 bytes for the row being
     * decoded and, when the window is gathered, the window */
    uint64_t *wbuf = (uint64_t *)(void *)scratch;
    int8_t *patch = scratch + 8 * n4;
    /* whole windows are gathered for short filter rows or channel counts off a multiple of 4; otherwise
     * each filter row (or, at the borders, each tap) is a run of a multiple of 4 contiguous inputs */
    const int32_t gathered = filter_w * in_c < 16 || (in_c & 3) != 0;
    const int8_t pad_value = (int8_t)(-input_offset);
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    /* 1x1 filters without padding: every output pixel reads in_c contiguous inputs */
    const int32_t pointwise = filter_h == 1 && filter_w == 1 && !gathered && pad_top == 0 && pad_left == 0
                              && (out_h - 1) * stride_h < in_h && (out_w - 1) * stride_w < in_w;
    if (gathered && tg_conv2d_lb_all_rows(filter_h, filter_w, in_c, batches, out_h, out_w, out_c)) {
        conv_all_rows(scratch, format, bits, codebook, weights, row_bytes, stride_h, stride_w, dilation_h, dilation_w,
                      pad_top, pad_left, input_offset, output_offset, act_min, act_max, mult, shift, batches, in_h,
                      in_w, in_c, input, filter_h, filter_w, bias, out_h, out_w, out_c, output);
        return TG_OK;
    }
    for (int32_t oc0 = 0; oc0 < out_c; oc0 += 4) {
        const int32_t nb = TG_MIN(4, out_c - oc0);
        tg_lb_block_rq rq;
        tg_lb_block_rq_init(&rq, bias, oc0, nb, mult, shift, n);
        const int32_t fast = rq.words && nb == 4;
        decode_block(format, bits, codebook, weights, row_bytes, oc0, nb, n, n4, patch, wbuf);
        if (gathered) {
            for (int32_t i = n; i < n4; ++i) { /* decode_block left zeros here; the window's tail pads */
                patch[i] = pad_value;
            }
            int8_t *out_px = output + oc0;
            for (int32_t b = 0; b < batches; ++b) {
                const int8_t *in_batch = input + b * in_h * in_w * in_c;
                for (int32_t oy = 0; oy < out_h; ++oy) {
                    for (int32_t ox = 0; ox < out_w; ++ox) {
                        gather(in_batch, oy * stride_h - pad_top, ox * stride_w - pad_left, in_h, in_w, in_c,
                               filter_h, filter_w, dilation_h, dilation_w, pad_value, patch);
                        int32_t acc[4] = {0, 0, 0, 0};
                        dot4(patch, wbuf, n4 >> 2, off2, acc);
                        tg_lb_store4(&rq, fast, acc[0], acc[1], acc[2], acc[3], nb, bias, oc0, mult, shift, output_offset,
                                     act_min, act_max, out_px);
                        out_px += out_c;
                    }
                }
            }
            continue;
        }
        if (pointwise) {
            int8_t *out_px = output + oc0;
            for (int32_t b = 0; b < batches; ++b) {
                for (int32_t oy = 0; oy < out_h; ++oy) {
                    const int8_t *x = input + ((b * in_h + oy * stride_h) * in_w) * in_c;
                    for (int32_t ox = 0; ox < out_w; ++ox) {
                        int32_t acc[4] = {0, 0, 0, 0};
                        dot4(x, wbuf, in_c >> 2, off2, acc);
                        tg_lb_store4(&rq, fast, acc[0], acc[1], acc[2], acc[3], nb, bias, oc0, mult, shift, output_offset,
                                     act_min, act_max, out_px);
                        x += stride_w * in_c;
                        out_px += out_c;
                    }
                }
            }
            continue;
        }
        for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
            const int8_t *in_batch = input + p.b * in_h * in_w * in_c;
            int32_t acc[4] = {0, 0, 0, 0};
            const int32_t whole_rows = dilation_w == 1 && p.in_x >= 0 && p.in_x + filter_w <= in_w;
            const int32_t seg = whole_rows ? filter_w * in_c : in_c;
            const int32_t fx_end = whole_rows ? 1 : p.fx.end;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int32_t in_y = p.in_y + dilation_h * fy;
                for (int32_t fx = whole_rows ? 0 : p.fx.first; fx < fx_end; ++fx) {
                    dot4(in_batch + (in_y * in_w + p.in_x + dilation_w * fx) * in_c,
                         wbuf + (fy * filter_w + fx) * in_c, seg >> 2, off2, acc);
                }
            }
            tg_lb_store4(&rq, fast, acc[0], acc[1], acc[2], acc[3], nb, bias, oc0, mult, shift, output_offset,
                         act_min, act_max, output + p.pixel * out_c + oc0);
        }
    }
    return TG_OK;
}

int32_t tg_conv2d_lb_all_rows(int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t batches, int32_t out_h,
                              int32_t out_w, int32_t out_c)
{
    const int32_t n4 = (filter_h * filter_w * in_c + 3) & ~3;
    const int32_t blocks = (out_c + 3) >> 2;
    /* gathered windows only; all blocks' decoded rows and requantization records within the output's size */
    return (filter_w * in_c < 16 || (in_c & 3) != 0) && blocks > 1
           && blocks * (8 * n4 + (int32_t)sizeof(tg_lb_block_rq)) <= batches * out_h * out_w * out_c;
}

int32_t tg_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t batches,
                                     int32_t out_h, int32_t out_w, int32_t out_c)
{
    (void)format; /* every format decodes to the same layout */
    const int32_t n4 = (filter_h * filter_w * in_c + 3) & ~3;
    if (tg_conv2d_lb_all_rows(filter_h, filter_w, in_c, batches, out_h, out_w, out_c)) {
        return ((out_c + 3) >> 2) * (8 * n4 + (int32_t)sizeof(tg_lb_block_rq)) + n4;
    }
    return 9 * n4;
}
