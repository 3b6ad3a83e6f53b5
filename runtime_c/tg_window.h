/* tinygen runtime: the window of one output pixel of a pooling kernel, clipped to the input.
 *
 * Output pixel (out_y, out_x) reads input rows [y0, y1) and columns [x0, x1): its filter_h x filter_w
 * window starts at (out_y * stride_h - pad_top, out_x * stride_w - pad_left) and loses the rows and
 * columns outside [0, in_h) x [0, in_w). An empty window has y1 <= y0 or x1 <= x0.
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

#endif /* TG_WINDOW_H */
