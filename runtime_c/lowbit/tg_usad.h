/* tinygen runtime: what tg_conv2d_usad.c (binary) and tg_conv2d_usad_t.c (ternary) share: the mask table,
 * USADA8 in C, the window gather and the mask decode (contract in tg_conv2d_usad.h). */
#ifndef TG_USAD_H
#define TG_USAD_H

#include "tg_conv2d_usad.h"
#include "tg_lowbit_dec.h"
#include "tg_dsp.h"

/* byte i of entry f: 0x00 when bit i of f is set (+1), else 0xFF (-1) */
static const uint32_t mask_tab[16] = {
    0xFFFFFFFFu, 0xFFFFFF00u, 0xFFFF00FFu, 0xFFFF0000u, 0xFF00FFFFu, 0xFF00FF00u, 0xFF0000FFu, 0xFF000000u,
    0x00FFFFFFu, 0x00FFFF00u, 0x00FF00FFu, 0x00FF0000u, 0x0000FFFFu, 0x0000FF00u, 0x000000FFu, 0x00000000u};

#if TG_DSP_EMULATED
/* USADA8: a + the sum of the 4 absolute differences of the unsigned bytes of x and y */
static inline uint32_t usad_emu(uint32_t x, uint32_t y, uint32_t a)
{
    for (int32_t i = 0; i < 32; i += 8) {
        const int32_t d = (int32_t)((x >> i) & 0xFFu) - (int32_t)((y >> i) & 0xFFu);
        a += (uint32_t)(d < 0 ? -d : d);
    }
    return a;
}
#endif

#if !TG_HAS_DSP
/* Without USADA8: a mask byte is 0x00 or 0xFF, so |u - m| = u ^ m, and the bytes of such words are summed
 * in two 16-bit lanes per word (SWAR): x's 4 bytes go into the lanes of the returned word, which the
 * caller adds up (usad_lanes) before a lane can pass 65535 */
#define TG_USAD_LANES 0x00FF00FFu
static inline uint32_t usad_bytes(uint32_t x)
{
    return (x & TG_USAD_LANES) + ((x >> 8) & TG_USAD_LANES);
}

static inline uint32_t usad_lanes(uint32_t s)
{
    return (s & 0xFFFFu) + (s >> 16);
}
#endif

#if defined(__GNUC__)
#define TG_USAD_NOINLINE __attribute__((noinline))
#else
#define TG_USAD_NOINLINE
#endif

/* The geometry of a general conv's windows */
typedef struct {
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, in_h, in_w, in_c, filter_h, filter_w;
} usad_geo;

/* n bytes at x as u = x ^ 0x80 to dst, a word at a time; byte by byte past the last whole word when fewer
 * than n + 3 bytes may be read from x (avail: the input's bytes from x on). A word may write up to 3 bytes
 * past dst + n: what the strip fill writes next overwrites them, or the strip's spare bytes take them */
TG_ALWAYS_INLINE void usad_run(const int8_t *x, int32_t n, int32_t avail, int8_t *dst)
{
    const int32_t words_end = avail >= n + 3 ? n : n - 3; /* i < words_end: the word read stays in the input */
    int32_t i = 0;
    for (; i < words_end; i += 4) {
        const uint32_t v = tg_read_u32(x + i) ^ 0x80808080u;
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) {
        dst[i] = (int8_t)(uint8_t)((uint8_t)x[i] ^ 0x80u);
    }
}

/* n bytes of puw's byte at dst, a word at a time (up to 3 bytes past dst + n, as usad_run's) */
TG_ALWAYS_INLINE void usad_fill(uint32_t puw, int32_t n, int8_t *dst)
{
    for (int32_t i = 0; i < n; i += 4) {
        memcpy(dst + i, &puw, sizeof puw);
    }
}

/* words words at x as u = x ^ 0x80 into every step-th word of c (1: binary's column; 2: ternary's, two
 * pixels interleaved), two a loop */
TG_ALWAYS_INLINE void usad_copy_words(const int8_t *x, int32_t words, uint32_t *c, int32_t step)
{
    for (; words >= 2; words -= 2, x += 8, c += 2 * step) {
        const uint32_t a = tg_read_u32(x) ^ 0x80808080u, b = tg_read_u32(x + 4) ^ 0x80808080u;
        c[0] = a;
        c[step] = b;
    }
    if (words) {
        c[0] = tg_read_u32(x) ^ 0x80808080u;
    }
}

TG_ALWAYS_INLINE void usad_fill_words(uint32_t v, int32_t words, uint32_t *c, int32_t step)
{
    for (; words > 0; --words, c += step) {
        *c = v;
    }
}

/* Output pixel (oy, ox)'s window in (fy, fx, ic) order as u words into every step-th word of col (in_c a
 * multiple of 4): taps outside the input hold puw, the input zero point's u in each byte (their products
 * the folded bias cancels, as int8's); a filter row inside the input with dilation_w 1 is one run of words */
TG_ALWAYS_INLINE void usad_window_words(const usad_geo *g, const int8_t *in, int32_t oy, int32_t ox, uint32_t puw,
                                        uint32_t *col, int32_t step)
{
    const int32_t words = g->in_c >> 2, row = g->filter_w * words, line = g->in_w * g->in_c;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int whole = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->filter_w <= g->in_w;
    int32_t iy = oy * g->stride_h - g->pad_top;
    for (int32_t fy = 0; fy < g->filter_h; ++fy, col += step * row, iy += g->dilation_h) {
        if (iy < 0 || iy >= g->in_h) {
            usad_fill_words(puw, row, col, step);
        } else if (whole) {
            usad_copy_words(in + iy * line + ix0 * g->in_c, row, col, step);
        } else {
            int32_t ix = ix0;
            uint32_t *c = col;
            for (int32_t fx = 0; fx < g->filter_w; ++fx, ix += g->dilation_w, c += step * words) {
                if (ix < 0 || ix >= g->in_w) {
                    usad_fill_words(puw, words, c, step);
                } else {
                    usad_copy_words(in + iy * line + ix * g->in_c, words, c, step);
                }
            }
        }
    }
}

/* Strips: a window's taps from an in_c that is not a multiple of 4 would be gathered a few bytes at a time
 * with a bounds check each. Instead, per output row, the filter_h input rows it reads are copied once as u
 * bytes into a strip (usad_strip_cols columns from ix = -pad_left, taps outside the input holding the
 * zero point's u), after which every window row is a run of the strip, copied a word at a time. */
typedef struct {
    int8_t *bytes;      /* filter_h rows of cols * in_c bytes, then 4 spare bytes */
    int32_t cols, b, oy; /* the batch and output row it holds (-1: none yet) */
} usad_strip;

/* The strip's columns for a layer's geometry: 0 (none needed) for an in_c that is a multiple of 4 or a 1x1
 * filter over its own pixels (stride 1, no padding, output the input's size: the pixel is its column) */
static inline int32_t usad_strip_cols(int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t stride_h,
    int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t in_h, int32_t in_w, int32_t out_h,
    int32_t out_w)
{
    if ((in_c & 3) == 0 || (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
                            pad_left == 0 && out_h == in_h && out_w == in_w)) {
        return 0;
    }
    return (out_w - 1) * stride_w + (filter_w - 1) * dilation_w + 1;
}

/* The strip's bytes (a multiple of 4, spare bytes included) for cols columns; 0 for none */
static inline int32_t usad_strip_bytes(int32_t filter_h, int32_t in_c, int32_t cols)
{
    return cols > 0 ? ((filter_h * cols * in_c + 3) & ~3) + 4 : 0;
}

/* The input rows of output row oy of image in (avail: the input's bytes from in on) into the strip */
static inline void usad_strip_fill(const usad_geo *g, usad_strip *st, const int8_t *in, int32_t avail, int32_t oy,
                                   uint32_t puw)
{
    const int32_t in_c = g->in_c, sb = st->cols * in_c, line = g->in_w * in_c;
    const int32_t left = g->pad_left < st->cols ? g->pad_left : st->cols; /* columns left of the input */
    const int32_t mid = st->cols - left < g->in_w ? st->cols - left : g->in_w; /* from input column 0 on */
    int8_t *dst = st->bytes;
    int32_t iy = oy * g->stride_h - g->pad_top;
    for (int32_t fy = 0; fy < g->filter_h; ++fy, dst += sb, iy += g->dilation_h) {
        if (iy < 0 || iy >= g->in_h) {
            usad_fill(puw, sb, dst);
            continue;
        }
        const int32_t at = iy * line;
        usad_fill(puw, left * in_c, dst);
        usad_run(in + at, mid * in_c, avail - at, dst + left * in_c);
        usad_fill(puw, sb - (left + mid) * in_c, dst + (left + mid) * in_c);
    }
}

/* Output pixel ox's window (of the strip's output row) in (fy, fx, ic) order into win, a word at a time:
 * reads up to 3 bytes past a run (the strip's spare bytes at its end), writes up to 3 bytes past the
 * window (the callers' spare word) */
static inline void usad_strip_window(const usad_geo *g, const usad_strip *st, int32_t ox, int8_t *win)
{
    const int32_t in_c = g->in_c, sb = st->cols * in_c, row = g->filter_w * in_c;
    const int8_t *src = st->bytes + ox * g->stride_w * in_c;
    for (int32_t fy = 0; fy < g->filter_h; ++fy, src += sb, win += row) {
        if (g->dilation_w == 1) {
            for (int32_t i = 0; i < row; i += 4) {
                const uint32_t v = tg_read_u32(src + i);
                memcpy(win + i, &v, sizeof v);
            }
            continue;
        }
        for (int32_t fx = 0; fx < g->filter_w; ++fx) {
            const int8_t *tap = src + fx * g->dilation_w * in_c;
            for (int32_t i = 0; i < in_c; i += 4) {
                const uint32_t v = tg_read_u32(tap + i);
                memcpy(win + fx * in_c + i, &v, sizeof v);
            }
        }
    }
}

/* The column's k4 words from n bytes x (any alignment): u = x ^ 0x80, bytes past n 0 */
static inline void usad_column(const int8_t *x, int32_t n, uint32_t *c)
{
    const int32_t full = n >> 2, r = n & 3;
    for (int32_t k = 0; k < full; ++k) {
        c[k] = tg_read_u32(x + 4 * k) ^ 0x80808080u;
    }
    if (r != 0) {
        uint32_t v = 0;
        for (int32_t i = 0; i < r; ++i) {
            v |= ((uint32_t)(uint8_t)x[4 * full + i] ^ 0x80u) << (8 * i);
        }
        c[full] = v;
    }
}

/* The bytes of the last of the ceil(n / 4) words at w past byte n, zeroed (bytes in memory order: little-endian) */
static inline void usad_tail(uint32_t *w, int32_t n)
{
    if ((n & 3) != 0) {
        w[(n - 1) >> 2] &= 0xFFFFFFFFu >> (8 * (4 - (n & 3)));
    }
}

/* Row p's masks (n values) at w, then every 4th word (row c & 3 of its block): a nibble per group */
TG_ALWAYS_INLINE void usad_masks(const uint8_t *p, int32_t n, uint32_t *w)
{
    const int32_t full = n >> 3;
    for (int32_t b = 0; b < full; ++b, w += 8) {
        w[0] = mask_tab[p[b] & 15u];
        w[4] = mask_tab[p[b] >> 4];
    }
    const int32_t r = n & 7;
    if (r != 0) { /* the last 1..7 values: masks of values past n are 0 (the column's bytes there are 0) */
        const uint32_t bits = p[full];
        const uint32_t m0 = mask_tab[bits & 15u], m1 = mask_tab[bits >> 4];
        w[0] = r >= 4 ? m0 : m0 & ((1u << (8 * r)) - 1u);
        if (r > 4) {
            w[4] = m1 & ((1u << (8 * (r - 4))) - 1u);
        }
    }
}

#endif /* TG_USAD_H */
