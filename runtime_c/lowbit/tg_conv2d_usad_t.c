/* tinygen runtime: CONV_2D with ternary weights by USADA8, two masks a weight; contract in tg_conv2d_usad.h. */
#include "tg_usad.h"

#if TG_DSP_EMULATED

/* The device's loop below, one statement per instruction: n groups of two column words (pixels A and B)
 * and 4 mask words (channel 0's two, channel 1's two) */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    for (int32_t k = 0; k < n; ++k) {
        uint32_t r8, r9, r10, r11, r12, lr;
        tg_emu_ldrd(c, &r8, &r9);
        c += 2;                          /* ldrd r8, r9, [c], #8 */
        tg_emu_ldm4(w, &r10, &r11, &r12, &lr);
        w += 4;                          /* ldmia w!, {r10, r11, r12, lr} */
        a[0] = usad_emu(r8, r10, a[0]);  /* usada8 a0, r8, r10, a0 */
        a[0] = usad_emu(r8, r11, a[0]);  /* usada8 a0, r8, r11, a0 */
        a[1] = usad_emu(r8, r12, a[1]);  /* usada8 a1, r8, r12, a1 */
        a[1] = usad_emu(r8, lr, a[1]);   /* usada8 a1, r8, lr, a1 */
        a[2] = usad_emu(r9, r10, a[2]);  /* usada8 a2, r9, r10, a2 */
        a[2] = usad_emu(r9, r11, a[2]);  /* usada8 a2, r9, r11, a2 */
        a[3] = usad_emu(r9, r12, a[3]);  /* usada8 a3, r9, r12, a3 */
        a[3] = usad_emu(r9, lr, a[3]);   /* usada8 a3, r9, lr, a3 */
    }
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
    *wp = w;
}

#elif TG_HAS_DSP

#define TG_USAD3_STEP \
    "ldrd r8, r9, [%[c]], #8\n\t" \
    "ldmia %[w]!, {r10, r11, r12, lr}\n\t" \
    "usada8 %[a0], r8, r10, %[a0]\n\t" \
    "usada8 %[a0], r8, r11, %[a0]\n\t" \
    "usada8 %[a1], r8, r12, %[a1]\n\t" \
    "usada8 %[a1], r8, lr, %[a1]\n\t" \
    "usada8 %[a2], r9, r10, %[a2]\n\t" \
    "usada8 %[a2], r9, r11, %[a2]\n\t" \
    "usada8 %[a3], r9, r12, %[a3]\n\t" \
    "usada8 %[a3], r9, lr, %[a3]\n\t"

/* n >= 1 groups, unrolled as usad_block's loop; *wp advances past the masks read */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    __asm__ volatile("lsrs %[n], %[n], #1\n\t"
                     "bcc 4f\n\t" TG_USAD3_STEP
                     "4:\n\t"
                     "lsrs %[n], %[n], #1\n\t"
                     "bcc 2f\n\t" TG_USAD3_STEP TG_USAD3_STEP
                     "2:\n\t"
                     "beq 3f\n\t"
                     "1:\n\t" TG_USAD3_STEP TG_USAD3_STEP TG_USAD3_STEP TG_USAD3_STEP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w), [n] "+r"(n)
        :
        : "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    *wp = w;
}

#else

/* The same sums from usad_bytes (tg_usad.h): a word adds at most 4 * 255 to a lane, so 64 words a round */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    *wp = w + 4 * n;
    while (n > 0) {
        const int32_t m = n < 64 ? n : 64;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t k = 0; k < m; ++k, c += 2, w += 4) {
            const uint32_t a = c[0], b = c[1];
            s0 += usad_bytes(a ^ w[0]) + usad_bytes(a ^ w[1]);
            s1 += usad_bytes(a ^ w[2]) + usad_bytes(a ^ w[3]);
            s2 += usad_bytes(b ^ w[0]) + usad_bytes(b ^ w[1]);
            s3 += usad_bytes(b ^ w[2]) + usad_bytes(b ^ w[3]);
        }
        acc[0] = (int32_t)((uint32_t)acc[0] + usad_lanes(s0));
        acc[1] = (int32_t)((uint32_t)acc[1] + usad_lanes(s1));
        acc[2] = (int32_t)((uint32_t)acc[2] + usad_lanes(s2));
        acc[3] = (int32_t)((uint32_t)acc[3] + usad_lanes(s3));
        n -= m;
    }
}

#endif /* TG_HAS_DSP */

/* Two pixels' outputs (A at outa, B at outb) from their interleaved columns c (2 * k4 words): pairs of
 * channels, masks w (4 * k4 words a pair), records q (a pair: its two biases, then its two records) */
TG_ALWAYS_INLINE void usad3_pixels(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
                                   int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
                                   int32_t out_c, int8_t *outa, int8_t *outb)
{
    for (int32_t pairs = out_c >> 1; pairs > 0; --pairs, outa += 2, outb += 2) {
        int32_t acc[4] = {q[0], q[1], q[0], q[1]};
        usad3_block(c, &w, k4, acc);
        const int32_t *rb = q + 2;
        q += 2;
        const int32_t a0 = tg_rq_next(acc[0], &q, rq_words) + output_offset;
        const int32_t a1 = tg_rq_next(acc[1], &q, rq_words) + output_offset;
        const int32_t b0 = tg_rq_next(acc[2], &rb, rq_words) + output_offset;
        const int32_t b1 = tg_rq_next(acc[3], &rb, rq_words) + output_offset;
        uint8_t v[4];
        tg_sat4_store(a0, a1, b0, b1, act_min, act_max, (int8_t *)(void *)v);
        memcpy(outa, v, 2);
        memcpy(outb, v + 2, 2);
    }
    if (out_c & 1) { /* the last channel, paired with a row of zero masks */
        int32_t acc[4] = {q[0], q[1], q[0], q[1]};
        usad3_block(c, &w, k4, acc);
        const int32_t *rb = q + 2;
        q += 2;
        outa[0] = (int8_t)tg_clamp(tg_rq_next(acc[0], &q, rq_words) + output_offset, act_min, act_max);
        outb[0] = (int8_t)tg_clamp(tg_rq_next(acc[2], &rb, rq_words) + output_offset, act_min, act_max);
    }
}

/* usad3_pixels with the record size a constant, and with the output offset folded into the records and
 * no activation bounds inside int8 (the common case) a third copy */
static TG_USAD_NOINLINE void usad3_out_rs0(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
                                           int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_RS, 0, -128, 127, out_c, outa, outb);
}

static TG_USAD_NOINLINE void usad3_out_rs(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_RS, output_offset, act_min, act_max, out_c, outa, outb);
}

static TG_USAD_NOINLINE void usad3_out_gen(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_GEN, output_offset, act_min, act_max, out_c, outa, outb);
}

/* A row's masks from its k4 bytes (a group of 4 weights a byte: m1's bits, then m2's) into w: m1 at
 * w[4 g], m2 at w[4 g + 1] */
TG_ALWAYS_INLINE void usad3_masks(const uint8_t *p, int32_t k4, uint32_t *w)
{
    int32_t g = 0;
    for (; g + 4 <= k4; g += 4, p += 4, w += 16) {
        const uint32_t x = tg_read_u32(p);
        w[0] = mask_tab[x & 15u];
        w[1] = mask_tab[(x >> 4) & 15u];
        w[4] = mask_tab[(x >> 8) & 15u];
        w[5] = mask_tab[(x >> 12) & 15u];
        w[8] = mask_tab[(x >> 16) & 15u];
        w[9] = mask_tab[(x >> 20) & 15u];
        w[12] = mask_tab[(x >> 24) & 15u];
        w[13] = mask_tab[x >> 28];
    }
    for (; g < k4; ++g, ++p, w += 4) {
        w[0] = mask_tab[*p & 15u];
        w[1] = mask_tab[*p >> 4];
    }
}

/* Two pixels' columns interleaved (word k of A, then of B) from n bytes each at xa and xb: u = x ^ 0x80,
 * bytes past n 0 */
static void usad3_column(const int8_t *xa, const int8_t *xb, int32_t n, uint32_t *c)
{
    const int32_t full = n >> 2, r = n & 3;
    for (int32_t k = 0; k < full; ++k, c += 2) {
        c[0] = tg_read_u32(xa + 4 * k) ^ 0x80808080u;
        c[1] = tg_read_u32(xb + 4 * k) ^ 0x80808080u;
    }
    if (r != 0) {
        uint32_t va = 0, vb = 0;
        for (int32_t i = 0; i < r; ++i) {
            va |= ((uint32_t)(uint8_t)xa[4 * full + i] ^ 0x80u) << (8 * i);
            vb |= ((uint32_t)(uint8_t)xb[4 * full + i] ^ 0x80u) << (8 * i);
        }
        c[0] = va;
        c[1] = vb;
    }
}

/* Output pixel (b, oy, ox)'s window as u words into every other word of col: straight there for an in_c
 * that is a multiple of 4, else from the strip (filled for the pixel's row when it holds another) into win
 * (k4 + 1 words), the bytes past n zeroed, and interleaved from there (a call per pixel, out of the kernel's
 * loop, keeps the gather's registers its own) */
static TG_USAD_NOINLINE void usad3_gather(const usad_geo *g, usad_strip *st, const int8_t *input, int32_t batches,
                                          int32_t b, int32_t oy, int32_t ox, uint32_t puw, uint32_t *win,
                                          uint32_t *col)
{
    const int32_t img = g->in_h * g->in_w * g->in_c;
    if (st->cols == 0) {
        usad_window_words(g, input + b * img, oy, ox, puw, col, 2);
        return;
    }
    if (st->b != b || st->oy != oy) {
        usad_strip_fill(g, st, input + b * img, (batches - b) * img, oy, puw);
        st->b = b;
        st->oy = oy;
    }
    const int32_t n = g->filter_h * g->filter_w * g->in_c, k4 = (n + 3) >> 2;
    usad_strip_window(g, st, ox, (int8_t *)(void *)win);
    usad_tail(win, n);
    for (int32_t k = 0; k < k4; ++k) {
        col[2 * k] = win[k];
    }
}

/* output_offset: what is left to add (0 when the records hold it) */
static void usad3_run(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q, int32_t rq_words,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    if (rq_words == TG_RQ_RS && output_offset == 0 && act_min == -128 && act_max == 127) {
        usad3_out_rs0(c, k4, w, q, out_c, outa, outb);
    } else if (rq_words == TG_RQ_RS) {
        usad3_out_rs(c, k4, w, q, output_offset, act_min, act_max, out_c, outa, outb);
    } else {
        usad3_out_gen(c, k4, w, q, output_offset, act_min, act_max, out_c, outa, outb);
    }
}

int tg_conv2d_usad_t(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t stride_h,
    int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t input_offset, int32_t output_offset, int32_t fold, int32_t act_min, int32_t act_max, const int16_t *mult,
    const int8_t *shift, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output)
{
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2;
    const int32_t pairs = (out_c + 1) >> 1;
    if ((rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) || bias == NULL || row_bytes < k4) {
        return TG_ERROR;
    }
    int32_t *quant = (int32_t *)(void *)scratch; /* a pair: 2 biases, then 2 records of rq_words - 1 */
    uint32_t *masks = (uint32_t *)(void *)(quant + pairs * 2 * rq_words);
    uint32_t *col = masks + pairs * 4 * k4; /* 2 * k4 words interleaved, then a window and a spare word */
    uint32_t *win = col + 2 * k4;
    int8_t *spare = (int8_t *)(void *)(win + k4 + 1); /* the outputs of a lone last pixel's partner */
    for (int32_t ch = 0; ch < pairs * 2; ++ch) {
        /* the accumulator is twice int8's: the same product with mult halved, or one left shift less */
        int32_t m = 0, s = -1, b = 0;
        if (ch < out_c) {
            m = tg_lb_mult(mult, shift, ch);
            s = tg_lb_shift(shift, ch);
            b = bias[ch];
        }
        if (s >= 1) {
            s -= 1;
        } else {
            m >>= 1;
        }
        int32_t *pair = quant + (ch >> 1) * 2 * rq_words;
        pair[ch & 1] = b;
        tg_lbx_rec_words(pair + 2 + (ch & 1) * (rq_words - 1), rq_words, m, s, fold ? output_offset : 0);
        if (ch >= out_c) {
            break;
        }
        uint32_t *w = masks + (ch >> 1) * 4 * k4 + (ch & 1) * 2;
        usad3_masks(weights + ch * row_bytes, k4, w);
    }
    if (out_c & 1) { /* the pair's second row: zero masks, its outputs are not stored */
        uint32_t *w = masks + (out_c >> 1) * 4 * k4 + 2;
        for (int32_t g = 0; g < k4; ++g) {
            w[4 * g] = 0;
            w[4 * g + 1] = 0;
        }
    }
    const int32_t pixels = batches * out_h * out_w;
    if (fold) {
        output_offset = 0;
    }
    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
        out_h == in_h && out_w == in_w) { /* 1x1: a pixel's input is its column */
        for (int32_t p = 0; p < pixels; p += 2, input += 2 * in_c, output += 2 * out_c) {
            const int last = p + 1 == pixels;
            usad3_column(input, last ? input : input + in_c, in_c, col);
            usad3_run(col, k4, masks, quant, rq_words, output_offset, act_min, act_max, out_c, output,
                      last ? spare : output + out_c);
        }
        return TG_OK;
    }
    const usad_geo g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, in_h, in_w, in_c, filter_h,
                        filter_w};
    const uint32_t puw = ((uint32_t)(128 - input_offset) & 0xFFu) * 0x01010101u; /* u of the input zero point */
    const int32_t per = out_h * out_w;
    usad_strip st = {(int8_t *)(void *)(spare + ((out_c + 3) & ~3)),
                     usad_strip_cols(filter_h, filter_w, in_c, stride_h, stride_w, dilation_w, pad_top, pad_left,
                                     in_h, in_w, out_h, out_w), -1, -1};
    for (int32_t p = 0; p < pixels; p += 2, output += 2 * out_c) {
        const int last = p + 1 == pixels;
        for (int32_t j = 0; j < (last ? 1 : 2); ++j) {
            const int32_t q = p + j;
            usad3_gather(&g, &st, input, batches, q / per, (q % per) / out_w, q % out_w, puw, win, col + j);
        }
        if (last) { /* a lone last pixel: its partner's column is its own */
            for (int32_t k = 0; k < k4; ++k) {
                col[2 * k + 1] = col[2 * k];
            }
        }
        usad3_run(col, k4, masks, quant, rq_words, output_offset, act_min, act_max, out_c, output,
                  last ? spare : output + out_c);
    }
    return TG_OK;
}

int32_t tg_conv2d_usad_t_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c,
    int32_t out_c, int32_t stride_h, int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w)
{
    const int32_t k4 = (filter_h * filter_w * in_c + 3) >> 2, pairs = (out_c + 1) >> 1;
    const int32_t cols = usad_strip_cols(filter_h, filter_w, in_c, stride_h, stride_w, dilation_w, pad_top, pad_left,
                                         in_h, in_w, out_h, out_w);
    return pairs * 8 * rq_words + pairs * 16 * k4 + 12 * k4 + 4 + ((out_c + 3) & ~3) +
           usad_strip_bytes(filter_h, in_c, cols);
}

/* bias'' + the sums of row p's k4 bytes of masks (through mask_tab, each mask word used once) against the
 * column u */
TG_ALWAYS_INLINE uint32_t usad3_row(const uint32_t *u, const uint8_t *p, int32_t k4, uint32_t acc)
{
#if TG_HAS_DSP
    for (int32_t g = 0; g < k4; ++g) {
        const uint32_t x = u[g], m = p[g], m1 = mask_tab[m & 15u], m2 = mask_tab[m >> 4];
#if TG_DSP_EMULATED
        acc = usad_emu(x, m2, usad_emu(x, m1, acc));
#else
        __asm__("usada8 %[a], %[x], %[m1], %[a]\n\t"
                "usada8 %[a], %[x], %[m2], %[a]"
            : [a] "+r"(acc)
            : [x] "r"(x), [m1] "r"(m1), [m2] "r"(m2));
#endif
    }
#else
    while (k4 > 0) { /* a group adds at most 4 * 255 to a lane: 64 groups a round */
        const int32_t n = k4 < 64 ? k4 : 64;
        uint32_t s = 0;
        for (int32_t g = 0; g < n; ++g) {
            const uint32_t x = u[g], m = p[g];
            s += usad_bytes(x ^ mask_tab[m & 15u]) + usad_bytes(x ^ mask_tab[m >> 4]);
        }
        acc += usad_lanes(s);
        u += n;
        p += n;
        k4 -= n;
    }
#endif
    return acc;
}

int tg_fully_connected_usad_t(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t accum_depth,
    const int8_t *input, int32_t out_depth, const int32_t *bias, int8_t *output)
{
    const int32_t k4 = (accum_depth + 3) >> 2;
    if (bias == NULL || row_bytes < k4) {
        return TG_ERROR;
    }
    uint32_t *u = (uint32_t *)(void *)scratch;
    usad_column(input, accum_depth, u); /* the bytes past accum_depth are 0, as are their masks */
    for (int32_t c = 0; c < out_depth; ++c, weights += row_bytes) {
        const int32_t acc2 = (int32_t)usad3_row(u, weights, k4, (uint32_t)bias[c]);
        int32_t m = tg_lb_mult(mult, shift, c), s = tg_lb_shift(shift, c);
        if (s >= 1) { /* twice the accumulator: one left shift less, or the multiplier halved */
            s -= 1;
        } else {
            m >>= 1;
        }
        output[c] = (int8_t)tg_clamp(tg_requantize(acc2, m, s) + output_offset, act_min, act_max);
    }
    return TG_OK;
}

int32_t tg_fully_connected_usad_t_get_buffer_size(int32_t accum_depth)
{
    return (accum_depth + 3) & ~3;
}
