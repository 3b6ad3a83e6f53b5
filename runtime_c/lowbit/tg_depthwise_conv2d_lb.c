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

/* One tap: the 4 channels' inputs xv (one word) against the doubleword at byte offset off of wp */
#define TG_LB_DW_TAP(wp, xv, off)                                              \
    do {                                                                       \
        const uint32_t xv_ = (xv);                                             \
        const uint32_t xa_ = tg_sxtab16(off2, xv_);                            \
        const uint32_t xb_ = tg_sxtab16_r8(off2, xv_);                         \
        uint32_t wa_;                                                          \
        uint32_t wb_;                                                          \
        TG_LB_LDRD(wp, off, wa_, wb_);                                         \
        a0 = tg_smlabb(xa_, wa_, a0);                                          \
        a2 = tg_smlatt(xa_, wa_, a2);                                          \
        a1 = tg_smlabb(xb_, wb_, a1);                                          \
        a3 = tg_smlatt(xb_, wb_, a3);                                          \
    } while (0)

/* What every pixel of a block of 4 channels shares: decoded weights (one doubleword per tap, see
 * tg_depthwise_conv2d_lb), requantization and activation */
typedef struct {
    const uint64_t *w;
    const tg_lb_block_rq *rq;
    uint32_t off2;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
    const int32_t *bias;
    int32_t oc0;
    const int16_t *mult;
    const int8_t *shift;
} tg_lb_dw_block;

/* count outputs of a 3x3 filter, 4 channels each: pixel i reads tap (fy, fx) as the word at
 * p<fy> + i * step + fx * xs and writes 4 bytes at out + i * out_step. Taps are unrolled
 * (one word load, two SXTAB16, one LDRD and four SMLAxy each); kept out of line so the loop has the
 * registers to itself. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void dw3x3_run(const tg_lb_dw_block *k, const int8_t *p0, const int8_t *p1, const int8_t *p2, int32_t count,
                      int32_t step, int32_t xs, int8_t *out, int32_t out_step)
{
    const uint64_t *w = k->w;
    const uint32_t off2 = k->off2;
    const int32_t fast = k->rq->words;
    for (int32_t i = 0; i < count; ++i) {
        int32_t a0 = 0;
        int32_t a1 = 0;
        int32_t a2 = 0;
        int32_t a3 = 0;
#if TG_LB_ASM
        TG_LB_DW_ROW_DEV(p0, xs, w, 0, 8, 16, off2, a0, a1, a2, a3);
        TG_LB_DW_ROW_DEV(p1, xs, w, 24, 32, 40, off2, a0, a1, a2, a3);
        TG_LB_DW_ROW_DEV(p2, xs, w, 48, 56, 64, off2, a0, a1, a2, a3);
#else
        const int8_t *const r[3] = {p0, p1, p2};
        for (int32_t t = 0; t < 3; ++t) {
            TG_LB_DW_TAP(w + 3 * t, tg_read_u32(r[t]), 0);
            TG_LB_DW_TAP(w + 3 * t, tg_read_u32(r[t] + xs), 8);
            TG_LB_DW_TAP(w + 3 * t, tg_read_u32(r[t] + 2 * xs), 16);
        }
#endif
        tg_lb_store4(k->rq, fast, a0, a1, a2, a3, 4, k->bias, k->oc0, k->mult, k->shift, k->output_offset, k->act_min,
                     k->act_max, out);
        p0 += step;
        p1 += step;
        p2 += step;
        out += out_step;
    }
}

/* Words per row of the padded 3x3 input rows (see dw_block4) */
static inline int32_t padded_width(int32_t stride_w, int32_t dilation_w, int32_t out_w)
{
    return (out_w - 1) * stride_w + 2 * dilation_w + 1;
}

/* Depthwise, multiplier 1, 4 consecutive channels k->oc0.. (a full block). 3x3 filters: the 4 channels'
 * words of an output row's 3 input rows are held in 3 slots of rows (pad words in the padding, which
 * add 0; a row the previous output row also read is not copied again), then the whole output row runs
 * through dw3x3_run. Other filters: the taps inside the image,
 * one at a time. */
static void dw_block4(const tg_lb_dw_block *k, const tg_conv_geom *g, int32_t in_c, int32_t input_offset,
                      const int8_t *input, uint32_t *rows, int8_t *output)
{
    const uint64_t *w = k->w;
    const uint32_t off2 = k->off2;
    const int32_t in_h = g->in_h;
    const int32_t in_w = g->in_w;
    const int32_t x_step = g->dilation_w * in_c;
    const int32_t three = g->filter_h == 3 && g->filter_w == 3;
    const int32_t wp = padded_width(g->stride_w, g->dilation_w, g->out_w);
    const uint32_t pad_word = ((uint32_t)(-input_offset) & 0xFFu) * 0x01010101u;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c + k->oc0;
        int32_t held[3] = {INT32_MIN, INT32_MIN, INT32_MIN}; /* the input row each slot of rows holds */
        for (int32_t out_y = 0; out_y < g->out_h; ++out_y) {
            const int32_t in_y_origin = out_y * g->stride_h - g->pad_top;
            int8_t *out_row = output + ((b * g->out_h + out_y) * g->out_w) * in_c + k->oc0;
            if (three) {
                const int8_t *p[3];
                int32_t used = 0;
                for (int32_t fy = 0; fy < 3; ++fy) { /* rows still held from the previous output row */
                    p[fy] = NULL;
                    for (int32_t s = 0; s < 3; ++s) {
                        if (held[s] == in_y_origin + g->dilation_h * fy && !(used >> s & 1)) {
                            p[fy] = (const int8_t *)(const void *)(rows + s * wp);
                            used |= 1 << s;
                            break;
                        }
                    }
                }
                for (int32_t fy = 0; fy < 3; ++fy) { /* the others copied into free slots */
                    if (p[fy] != NULL) {
                        continue;
                    }
                    int32_t s = 0;
                    while (used >> s & 1) {
                        ++s;
                    }
                    used |= 1 << s;
                    const int32_t y = in_y_origin + g->dilation_h * fy;
                    uint32_t *dst = rows + s * wp;
                    held[s] = y;
                    p[fy] = (const int8_t *)(const void *)dst;
                    if (y < 0 || y >= in_h) {
                        for (int32_t c = 0; c < wp; ++c) {
                            dst[c] = pad_word;
                        }
                        continue;
                    }
                    const int8_t *src = in_batch + y * in_w * in_c;
                    for (int32_t c = 0; c < wp; ++c) {
                        const int32_t x = c - g->pad_left;
                        dst[c] = x >= 0 && x < in_w ? tg_read_u32(src + x * in_c) : pad_word;
                    }
                }
                dw3x3_run(k, p[0], p[1], p[2], g->out_w, 4 * g->stride_w, 4 * g->dilation_w, out_row, in_c);
                continue;
            }
            int32_t fy0;
            int32_t fy1;
            tap_range(in_y_origin, g->dilation_h, g->filter_h, in_h, &fy0, &fy1);
            for (int32_t out_x = 0; out_x < g->out_w; ++out_x) {
                const int32_t in_x_origin = out_x * g->stride_w - g->pad_left;
                int32_t fx0;
                int32_t fx1;
                tap_range(in_x_origin, g->dilation_w, g->filter_w, in_w, &fx0, &fx1);
                int32_t a0 = 0;
                int32_t a1 = 0;
                int32_t a2 = 0;
                int32_t a3 = 0;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *px = in_batch + ((in_y_origin + g->dilation_h * fy) * in_w + in_x_origin
                                                   + g->dilation_w * fx0) * in_c;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        TG_LB_DW_TAP(w + fy * g->filter_w + fx, tg_read_u32(px), 0);
                        px += x_step;
                    }
                }
                tg_lb_store4(k->rq, k->rq->words, a0, a1, a2, a3, 4, k->bias, k->oc0, k->mult, k->shift,
                             k->output_offset, k->act_min, k->act_max, out_row + out_x * in_c);
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
            tg_lb_block_rq_init(&rq, bias, oc0, 4, mult, shift, n);
            const tg_lb_dw_block k = {wd, &rq, ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u, output_offset,
                                      act_min, act_max, bias, oc0, mult, shift};
            dw_block4(&k, &g, in_c, input_offset, input, (uint32_t *)(void *)(scratch + ((9 * n + 3) & ~3)), output);
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

int32_t tg_depthwise_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w, int32_t stride_w,
                                               int32_t dilation_w, int32_t out_w)
{
    (void)format; /* every format: 4 rows decoded to int16 (8 bytes per tap) plus the row being decoded */
    const int32_t decoded = (9 * filter_h * filter_w + 3) & ~3;
    /* 3x3 filters: and the 3 padded input rows of 4 channels (dw_block4) */
    return filter_h == 3 && filter_w == 3 ? decoded + 12 * padded_width(stride_w, dilation_w, out_w) : decoded;
}
