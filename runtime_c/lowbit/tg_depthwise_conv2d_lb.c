/* tinygen runtime: DEPTHWISE_CONV_2D with low-bit weights; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit_core.h"
#include "tg_lowbit_simd.h"
#include "tg_window.h"

/* First and one-past-last filter tap (0 <= t < taps) whose input origin + dilation * t lies in [0, size).
 * Two divisions per call in place of tg_tap_range's loops over the taps (dw_block4 calls it per pixel:
 * the loops cost more than the 3x3 window itself). dilation >= 1 (dilation 0 takes the generic path). */
static inline void tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size, int32_t *first,
                             int32_t *end)
{
    if (origin >= 0 && origin + dilation * (taps - 1) < size) { /* inside: no division */
        *first = 0;
        *end = taps;
        return;
    }
    const int32_t lo = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    const int32_t hi = size > origin ? (size - origin + dilation - 1) / dilation : 0;
    *first = lo;
    *end = TG_MIN(hi, taps);
}

/* Depthwise, multiplier 1, 4 consecutive channels oc0..oc0+3 with decoded weights w[tap] (the block's
 * layout, see tg_depthwise_conv2d_lb): one word of inputs and one LDRD of weights per tap, 4 lane-wise
 * multiply-accumulates (SMLABB/SMLATT).
 * Kept out of line so its loop gets the registers to itself. */
/* One tap: the 4 channels' inputs at p against the doubleword at byte offset off of w */
#define TG_LB_DW_TAP(p, off)                          \
    do {                                              \
        const uint32_t xv_ = tg_read_u32(p);          \
        const uint32_t xa_ = tg_sxtab16(off2, xv_);   \
        const uint32_t xb_ = tg_sxtab16_r8(off2, xv_); \
        uint32_t wa_;                                 \
        uint32_t wb_;                                 \
        TG_LB_LDRD(w, off, wa_, wb_);                 \
        a0 = tg_smlabb(xa_, wa_, a0);                 \
        a2 = tg_smlatt(xa_, wa_, a2);                 \
        a1 = tg_smlabb(xb_, wb_, a1);                 \
        a3 = tg_smlatt(xb_, wb_, a3);                 \
    } while (0)

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void dw_block4(const uint64_t *w, const tg_lb_block_rq *rq, int32_t oc0, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
                      int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset,
                      int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult,
                      const int8_t *shift, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
                      const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
                      int32_t out_h, int32_t out_w, int8_t *output)
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t x_step = dilation_w * in_c;
    const int32_t x_step2 = 2 * x_step;
    const int32_t y_step = dilation_h * in_w * in_c;
    const int32_t three = filter_h == 3 && filter_w == 3;
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
                if (three && fy0 == 0 && fy1 == 3 && fx0 == 0 && fx1 == 3) { /* a 3x3 window inside the image */
                    const int8_t *p0 = in_batch + (in_y_origin * in_w + in_x_origin) * in_c;
                    const int8_t *p1 = p0 + y_step;
                    const int8_t *p2 = p1 + y_step;
                    TG_LB_DW_TAP(p0, 0);
                    TG_LB_DW_TAP(p0 + x_step, 8);
                    TG_LB_DW_TAP(p0 + x_step2, 16);
                    TG_LB_DW_TAP(p1, 24);
                    TG_LB_DW_TAP(p1 + x_step, 32);
                    TG_LB_DW_TAP(p1 + x_step2, 40);
                    TG_LB_DW_TAP(p2, 48);
                    TG_LB_DW_TAP(p2 + x_step, 56);
                    TG_LB_DW_TAP(p2 + x_step2, 64);
                } else {
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *px = in_batch + ((in_y_origin + dilation_h * fy) * in_w
                                                   + in_x_origin + dilation_w * fx0) * in_c;
                    const uint64_t *wt = w + fy * filter_w + fx0;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        const uint32_t xv = tg_read_u32(px);
                        const uint32_t xa = tg_sxtab16(off2, xv);
                        const uint32_t xb = tg_sxtab16_r8(off2, xv);
                        uint32_t wa;
                        uint32_t wb;
                        TG_LB_LDRD(wt, 0, wa, wb);
                        a0 = tg_smlabb(xa, wa, a0);
                        a2 = tg_smlatt(xa, wa, a2);
                        a1 = tg_smlabb(xb, wb, a1);
                        a3 = tg_smlatt(xb, wb, a3);
                        px += x_step;
                        wt += 1;
                    }
                }
                }
                int8_t *out_px = output + ((b * out_h + out_y) * out_w + out_x) * in_c + oc0;
                if (rq->rs) { /* the usual case, inline */
                    out_px[0] = (int8_t)tg_clamp(tg_rq_apply(a0 + rq->bias4[0], rq->rec[0], TG_RQ_RS) + output_offset,
                                                 act_min, act_max);
                    out_px[1] = (int8_t)tg_clamp(tg_rq_apply(a1 + rq->bias4[1], rq->rec[1], TG_RQ_RS) + output_offset,
                                                 act_min, act_max);
                    out_px[2] = (int8_t)tg_clamp(tg_rq_apply(a2 + rq->bias4[2], rq->rec[2], TG_RQ_RS) + output_offset,
                                                 act_min, act_max);
                    out_px[3] = (int8_t)tg_clamp(tg_rq_apply(a3 + rq->bias4[3], rq->rec[3], TG_RQ_RS) + output_offset,
                                                 act_min, act_max);
                } else {
                    const int32_t acc[4] = {a0, a1, a2, a3};
                    tg_lb_block_finish(rq, acc, 4, bias, oc0, mult, shift, output_offset, act_min, act_max, out_px);
                }
            }
        }
    }
}

int tg_depthwise_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output)
{
    if (!tg_lb_known_format(format, bits) || depth_multiplier < 1) {
        return TG_ERROR;
    }
    const int32_t out_c = in_c * depth_multiplier;
    const int32_t n = filter_h * filter_w;
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    const int32_t signs = format == TG_WF_TERNARY || format == TG_WF_BINARY;
    /* blocks of 4 output channels; scratch holds their 4 rows as one doubleword per tap t: int16 lanes
     * (w_r0, w_r2) in the low word, (w_r1, w_r3) in the high word, pairing with SXTAB16 of 4 channels'
     * inputs and its ROR #8 twin */
    uint64_t *wd = (uint64_t *)(void *)scratch;
    for (int32_t oc0 = 0; oc0 < out_c; oc0 += 4) {
        const int32_t nb = TG_MIN(4, out_c - oc0);
        int8_t *rows = scratch + 8 * n;  /* one row decoded here, then interleaved below */
        for (int32_t t = 0; t < n; ++t) {
            wd[t] = 0;
        }
        for (int32_t r = 0; r < 4; ++r) {
            const uint8_t *row = weights + (oc0 + TG_MIN(r, nb - 1)) * row_bytes;
            if (signs) {
                tg_lb_decode_signs(format, row, row_bytes / 2, n, rows);
            } else {
                (void)tg_lb_decode_row(format, bits, codebook, row, n, rows);
            }
            const int32_t lane = (r & 1) * 32 + (r >> 1) * 16; /* r0: 0, r1: 32, r2: 16, r3: 48 */
            for (int32_t t = 0; t < n; ++t) {
                wd[t] |= (uint64_t)((uint32_t)rows[t] & 0xFFFFu) << lane;
            }
        }
        if (depth_multiplier == 1 && oc0 + 4 <= out_c && dilation_h > 0 && dilation_w > 0) { /* a full block */
            tg_lb_block_rq rq;
            tg_lb_block_rq_init(&rq, bias, oc0, 4, mult, shift);
            dw_block4(wd, &rq, oc0, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, input_offset,
                      output_offset, act_min, act_max, mult, shift, batches, in_h, in_w, in_c, input, filter_h,
                      filter_w, bias, out_h, out_w, output);
            continue;
        }
        int32_t ch[4];
        for (int32_t r = 0; r < 4; ++r) {
            ch[r] = (oc0 + TG_MIN(r, nb - 1)) / depth_multiplier;
        }
        for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
            const int8_t *in_batch = input + p.b * in_h * in_w * in_c;
            int32_t acc[4] = {0, 0, 0, 0};
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    const int8_t *px = in_batch + ((p.in_y + dilation_h * fy) * in_w + p.in_x + dilation_w * fx) * in_c;
                    const uint64_t w = wd[fy * filter_w + fx];
                    for (int32_t r = 0; r < 4; ++r) {
                        const int32_t lane = (r & 1) * 32 + (r >> 1) * 16;
                        acc[r] += (px[ch[r]] + input_offset) * ((((int32_t)(w >> lane) & 0xFFFF) ^ 0x8000) - 0x8000);
                    }
                }
            }
            int8_t *out_px = output + p.pixel * out_c + oc0;
            for (int32_t r = 0; r < nb; ++r) {
                out_px[r] = tg_lb_finish(acc[r], bias, oc0 + r, mult, shift, output_offset, act_min, act_max);
            }
        }
    }
    return TG_OK;
}

int32_t tg_depthwise_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w)
{
    (void)format; /* every format: 4 rows decoded to int16 (8 bytes per tap) plus the row being decoded */
    return 9 * filter_h * filter_w;
}
