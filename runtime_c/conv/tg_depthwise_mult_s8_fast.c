/* tinygen runtime: fast int8 depthwise convolution, depth multiplier % 4 == 0; contract in
 * tg_depthwise_mult_s8_fast.h. */
#include "tg_depthwise_mult_s8_fast.h"

#include "tg_dsp.h"

/* One window of one input channel as int16 taps (h), read as tap pairs (w: h[2j] low, h[2j+1] high). */
typedef union {
    uint32_t w[TG_DW_MULT_MAX_TAPS / 2 + 1];
    int16_t h[TG_DW_MULT_MAX_TAPS + 2];
} tg_dw_window;

typedef struct {
    int32_t in_h, in_w, in_c, filter_h, filter_w, dilation_h, dilation_w, zp, swap;
} tg_dw_geom;

/* the window of input channel ic at (in_y0, in_x0) into win (tap order of the header) */
static void gather(tg_dw_window *win, const tg_dw_geom *g, const int8_t *in, int32_t ic, int32_t in_y0,
                   int32_t in_x0)
{
    const int32_t fw = g->filter_w;
    const int row_fast = g->swap && g->in_c == 1 && g->dilation_w == 1 && in_x0 >= 0 && in_x0 + fw <= g->in_w;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t in_y = in_y0 + fy * g->dilation_h;
        const int row_in = in_y >= 0 && in_y < g->in_h;
        const int32_t base = fy * fw;
        if (row_in && row_fast) {
            /* 4 neighbouring inputs, one load: columns (0, 2) and (1, 3) by sign extension */
            const int8_t *src = in + in_y * g->in_w + in_x0;
            for (int32_t k = 0; k < fw; k += 4) {
                const uint32_t u = tg_read_u32(src + k);
                win->w[(base + k) / 2] = tg_sxtb16(u);
                win->w[(base + k) / 2 + 1] = tg_sxtb16_r8(u);
            }
            continue;
        }
        for (int32_t fx = 0; fx < fw; ++fx) {
            const int32_t in_x = in_x0 + fx * g->dilation_w;
            const int32_t pos = g->swap ? (fx & ~3) | ((fx & 1) << 1) | ((fx >> 1) & 1) : fx;
            win->h[base + pos] = (int16_t)(row_in && in_x >= 0 && in_x < g->in_w
                                           ? in[(in_y * g->in_w + in_x) * g->in_c + ic] : g->zp);
        }
    }
    win->h[g->filter_h * fw] = 0; /* partner of an odd last tap: its weights are 0 */
}

/* every group of 4 output channels of one input channel: tap pairs x filter, requantized to out */
TG_ALWAYS_INLINE void groups(const uint32_t *pw, int32_t pairs, int32_t ngroups, const uint32_t *w,
                             const int32_t *q, int32_t rq_words, int32_t output_offset, int32_t act_min,
                             int32_t act_max, int8_t *out)
{
    for (int32_t g = 0; g < ngroups; ++g) {
        int32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        for (int32_t j = 0; j < pairs; ++j) {
            const uint32_t x = pw[j];
            a0 = tg_smlad(x, w[0], a0);
            a1 = tg_smlad(x, w[1], a1);
            a2 = tg_smlad(x, w[2], a2);
            a3 = tg_smlad(x, w[3], a3);
            w += 4;
        }
        tg_rq4_store(a0, a1, a2, a3, q + 4, rq_words, output_offset, act_min, act_max, out);
        q += 4 * rq_words;
        out += 4;
    }
}

static void groups_rs(const uint32_t *pw, int32_t pairs, int32_t ngroups, const uint32_t *w, const int32_t *q,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    groups(pw, pairs, ngroups, w, q, TG_RQ_RS, output_offset, act_min, act_max, out);
}

static void groups_gen(const uint32_t *pw, int32_t pairs, int32_t ngroups, const uint32_t *w, const int32_t *q,
                       int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    groups(pw, pairs, ngroups, w, q, TG_RQ_GEN, output_offset, act_min, act_max, out);
}

int tg_depthwise_mult_s8_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int32_t *quant, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, int32_t mult, const int32_t *filter,
    int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int32_t pairs = (taps + 1) / 2;
    const int32_t ngroups = mult / 4;
    const int32_t out_c = in_c * mult;
    const tg_dw_geom g = {in_h, in_w, in_c, filter_h, filter_w, dilation_h, dilation_w, zp, filter_w % 4 == 0};
    tg_dw_window win;
    if (taps <= 0 || taps > TG_DW_MULT_MAX_TAPS || mult <= 0 || mult % 4 != 0 || in_c <= 0) {
        return TG_ERROR;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                int8_t *out = output + ((b * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    const uint32_t *w = (const uint32_t *)filter + ic * ngroups * pairs * 4;
                    const int32_t *q = quant + ic * ngroups * 4 * rq_words;
                    gather(&win, &g, in, ic, out_y * stride_h - pad_top, out_x * stride_w - pad_left);
                    if (rq_words == TG_RQ_RS) {
                        groups_rs(win.w, pairs, ngroups, w, q, output_offset, act_min, act_max, out + ic * mult);
                    } else {
                        groups_gen(win.w, pairs, ngroups, w, q, output_offset, act_min, act_max, out + ic * mult);
                    }
                }
            }
        }
    }
    return TG_OK;
}
