/* tinygen runtime: the input window of one output pixel, clipped to the input, for the pooling and
 * convolution kernels.
 *
 * Pooling (tg_window_clip): output pixel (out_y, out_x) reads input rows [y0, y1) and columns [x0, x1):
 * its filter_h x filter_w window starts at (out_y * stride_h - pad_top, out_x * stride_w - pad_left)
 * and loses the rows and columns outside [0, in_h) x [0, in_w). An empty window has y1 <= y0 or x1 <= x0.
 *
 * Convolution (tg_tap_range), one axis at a time: the window starts at input index
 * origin = out * stride - pad and its tap t reads origin + dilation * t; the taps t in [first, end)
 * read inside [0, size), the others lie in the padding and are skipped (their inputs count as the
 * zero point, i.e. contribute 0). Empty when end <= first. Division-free; dilation >= 0.
 *
 * The walk (tg_conv_first / tg_conv_next): every output pixel of a conv-style kernel in NHWC order,
 * batch by batch, row by row, with its window's origin and tap ranges, for
 *   for (tg_conv_pixel p = tg_conv_first(&g); p.b < g.batches; tg_conv_next(&g, &p)) { ... }
 */
#ifndef TG_WINDOW_H
#define TG_WINDOW_H

#include "tg_common.h"

typedef struct {
    int32_t y0, y1, x0, x1;
} tg_window;

static inline tg_window tg_window_clip(int32_t out_y, int32_t out_x, int32_t stride_h, int32_t stride_w,
                                       int32_t pad_top, int32_t pad_left, int32_t filter_h, int32_t filter_w,
                                       int32_t in_h, int32_t in_w)
{
    const int32_t in_y_origin = out_y * stride_h - pad_top;
    const int32_t in_x_origin = out_x * stride_w - pad_left;
    tg_window w;
    w.y0 = TG_MAX(in_y_origin, 0);
    w.y1 = TG_MIN(in_y_origin + filter_h, in_h);
    w.x0 = TG_MAX(in_x_origin, 0);
    w.x1 = TG_MIN(in_x_origin + filter_w, in_w);
    return w;
}

typedef struct {
    int32_t first; /* first tap inside the input */
    int32_t end;   /* one past the last tap inside the input */
} tg_taps;

/* Out of line (GCC): inlined into each kernel's walk it cost about 200 B of flash per kernel. The walk
 * calls it once per output row; per output pixel it goes through tg_tap_range_inside first */
TG_OUTLINE tg_taps tg_tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size)
{
    tg_taps r;
    r.first = 0;
    while (r.first < taps && origin + dilation * r.first < 0) {
        ++r.first;
    }
    r.end = taps;
    while (r.end > r.first && origin + dilation * (r.end - 1) >= size) {
        --r.end;
    }
    return r;
}

/* tg_tap_range, answered inline for a window wholly inside the input (every pixel of a 1x1 or unpadded
 * convolution, most pixels of the others) */
static inline tg_taps tg_tap_range_inside(int32_t origin, int32_t dilation, int32_t taps, int32_t size)
{
    if (origin >= 0 && origin + dilation * (taps - 1) < size) {
        const tg_taps all = {0, taps};
        return all;
    }
    return tg_tap_range(origin, dilation, taps, size);
}

/* Grouped convolution (groups = in_c / filter_in_c): the output channels per group, or 0 when the
 * channel counts are inconsistent (filter_in_c <= 0, or not dividing in_c, or groups not dividing out_c) */
static inline int32_t tg_conv_filters_per_group(int32_t in_c, int32_t filter_in_c, int32_t out_c)
{
    if (filter_in_c <= 0 || in_c % filter_in_c != 0 || out_c % (in_c / filter_in_c) != 0) {
        return 0;
    }
    return out_c / (in_c / filter_in_c);
}

/* The geometry of a conv-style kernel (as its arguments): batches x out_h x out_w output pixels */
typedef struct {
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t filter_h, filter_w, batches, in_h, in_w, out_h, out_w;
} tg_conv_geom;

/* One output pixel of the walk and its window */
typedef struct {
    int32_t b, out_y, out_x; /* the output pixel */
    int32_t pixel;           /* its index (b * out_h + out_y) * out_w + out_x */
    int32_t in_y, in_x;      /* input coordinates of filter tap (0, 0); negative in the padding */
    tg_taps fy, fx;          /* the filter rows / columns that read inside the input */
} tg_conv_pixel;

static inline void tg_conv_window_rows(const tg_conv_geom *g, tg_conv_pixel *p)
{
    p->in_y = p->out_y * g->stride_h - g->pad_top;
    p->fy = tg_tap_range(p->in_y, g->dilation_h, g->filter_h, g->in_h);
}

static inline void tg_conv_window_cols(const tg_conv_geom *g, tg_conv_pixel *p)
{
    p->in_x = p->out_x * g->stride_w - g->pad_left;
    p->fx = tg_tap_range(p->in_x, g->dilation_w, g->filter_w, g->in_w);
}

/* The first output pixel; p.b == g->batches at once when there is none */
static inline tg_conv_pixel tg_conv_first(const tg_conv_geom *g)
{
    tg_conv_pixel p;
    p.b = g->out_h > 0 && g->out_w > 0 ? 0 : g->batches;
    p.out_y = 0;
    p.out_x = 0;
    p.pixel = 0;
    tg_conv_window_rows(g, &p);
    tg_conv_window_cols(g, &p);
    return p;
}

/* The next output pixel (the row window is recomputed only when the row changes, the column window
 * inline when it lies inside the input) */
static inline void tg_conv_next(const tg_conv_geom *g, tg_conv_pixel *p)
{
    ++p->pixel;
    if (++p->out_x == g->out_w) {
        p->out_x = 0;
        if (++p->out_y == g->out_h) {
            p->out_y = 0;
            ++p->b;
        }
        tg_conv_window_rows(g, p);
    }
    p->in_x = p->out_x * g->stride_w - g->pad_left;
    p->fx = tg_tap_range_inside(p->in_x, g->dilation_w, g->filter_w, g->in_w);
}

/* Depthwise int8, one channel of one pixel p: the sum over its window's inside taps (fy, fx) of
 * (in[((b * in_h + y) * in_w + x) * in_c + ic] + input_offset) * filter[(fy * filter_w + fx) * out_c + oc] */
static inline int32_t tg_dw_window_sum_s8(const tg_conv_geom *g, const tg_conv_pixel *p, const int8_t *in,
                                          int32_t in_c, int32_t ic, const int8_t *filter, int32_t out_c,
                                          int32_t oc, int32_t input_offset)
{
    int32_t acc = 0;
    for (int32_t fy = p->fy.first; fy < p->fy.end; ++fy) {
        const int8_t *in_row = in + ((p->b * g->in_h + p->in_y + g->dilation_h * fy) * g->in_w) * in_c + ic;
        const int8_t *w_row = filter + fy * g->filter_w * out_c + oc;
        for (int32_t fx = p->fx.first; fx < p->fx.end; ++fx) {
            acc += (in_row[(p->in_x + g->dilation_w * fx) * in_c] + input_offset) * w_row[fx * out_c];
        }
    }
    return acc;
}

#endif /* TG_WINDOW_H */
