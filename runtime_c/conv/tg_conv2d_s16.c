/* tinygen runtime: 16x8 2-D convolution; contract in tg_conv2d_s16.h. */
#include "tg_conv2d_s16.h"

#include "tg_dsp_s16.h"
#include "tg_requant_s16.h"
#include "tg_window_s16.h"

/* The window sum of one output channel (filter row w_oc), over the pixel's in-image taps; image points
 * at the group's first input channel. */
static int64_t tg_conv_s16_channel(const tg_conv_pixel *p, const int16_t *image, int32_t in_w, int32_t in_c,
                                   int32_t dilation_h, int32_t dilation_w, int32_t filter_w, int32_t filter_in_c,
                                   const int8_t *w_oc)
{
    int64_t acc = 0;
    for (int32_t fy = p->fy.first; fy < p->fy.end; ++fy) {
        for (int32_t fx = p->fx.first; fx < p->fx.end; ++fx) {
            const int16_t *in_px = tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, dilation_w, fy, fx);
            acc += tg_dot_s16x8(in_px, w_oc + ((ptrdiff_t)fy * filter_w + fx) * filter_in_c, filter_in_c);
        }
    }
    return acc;
}

#if TG_HAS_DSP
/* One run of contiguous inputs into the sums of `lanes` (1 or 3) output channels: straight into the
 * int32 sums when the whole window holds at most TG_S16_CHUNK products (direct), else through s. */
static inline void tg_conv_s16_run(int32_t direct, int32_t lanes, int32_t *a, tg_acc_s16 *s, const int16_t *x,
                                   const int8_t *w, ptrdiff_t stride, int32_t n)
{
    if (!direct) {
        tg_acc_s16_run(s, x, w, stride, n);
    } else if (lanes == 3) {
        tg_dot3_s16x8(x, w, stride, n, a);
    } else {
        a[0] = tg_dot1_s16x8(x, w, n, a[0]);
    }
}

/* s->lanes output channels of one group at once (filter rows w_oc, w_oc + filter_size, ...) into
 * s->total: each run of contiguous inputs (a tap row when the taps are adjacent and the conv ungrouped,
 * else one tap) goes through tg_conv_s16_run. */
static void tg_conv_s16_lanes(const tg_conv_pixel *p, const int16_t *image, int32_t in_w, int32_t in_c,
                              int32_t dilation_h, int32_t dilation_w, int32_t filter_w, int32_t filter_in_c,
                              ptrdiff_t filter_size, const int8_t *w_oc, tg_acc_s16 *s)
{
    const int32_t direct = filter_size <= TG_S16_CHUNK;
    const int32_t lanes = s->lanes;
    int32_t a[3] = {0, 0, 0};
    const int32_t row_run = dilation_w == 1 && filter_in_c == in_c;
    for (int32_t fy = p->fy.first; fy < p->fy.end; ++fy) {
        const int8_t *w_row = w_oc + (ptrdiff_t)fy * filter_w * filter_in_c;
        if (row_run) {
            const int16_t *run = tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, 1, fy, p->fx.first);
            tg_conv_s16_run(direct, lanes, a, s, run, w_row + (ptrdiff_t)p->fx.first * in_c, filter_size,
                            (p->fx.end - p->fx.first) * in_c);
            continue;
        }
        for (int32_t fx = p->fx.first; fx < p->fx.end; ++fx) {
            const int16_t *tap = tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, dilation_w, fy, fx);
            tg_conv_s16_run(direct, lanes, a, s, tap,
                            w_row + (ptrdiff_t)fx * filter_in_c, filter_size, filter_in_c);
        }
    }
    tg_acc_s16_flush(s);
    for (int32_t j = 0; j < lanes; ++j) {
        s->total[j] += a[j];
    }
}

/* Every output channel of pixel p of an ungrouped convolution whose window holds at most TG_S16_CHUNK
 * values: the window as one run (tg_conv_s16_patch), three channels per pass over it. */
static void tg_conv_s16_pixel(const tg_conv_pixel *p, const int16_t *image, int32_t in_w, int32_t in_c,
                              int32_t dilation_h, int32_t dilation_w, int32_t filter_h, int32_t filter_w,
                              const int8_t *filter, int32_t out_c, const tg_s16_out *o, int16_t *out_px)
{
    int16_t patch[TG_S16_CHUNK];
    uint32_t pairs[TG_S16_CHUNK / 2];
    const int32_t k = filter_h * filter_w * in_c;
    const int16_t *x = tg_conv_s16_patch(p, image, in_w, in_c, dilation_h, dilation_w, filter_h, filter_w, patch);
    int32_t oc = 0;
    if (out_c >= 4) {
        tg_pair_s16(x, k, pairs);
    }
    for (; oc + 4 <= out_c; oc += 4) {
        int32_t a[4] = {0, 0, 0, 0};
        tg_dot4p_s16x8(pairs, x, filter + (ptrdiff_t)oc * k, k, k, a);
        for (int32_t j = 0; j < 4; ++j) {
            out_px[oc + j] = tg_finish_s16_dsp(a[j], o->bias, oc + j, o->mult, o->shift, 1, o->act_min, o->act_max);
        }
    }
    for (; oc + 3 <= out_c; oc += 3) {
        int32_t a[3] = {0, 0, 0};
        tg_dot3_s16x8(x, filter + (ptrdiff_t)oc * k, k, k, a);
        for (int32_t j = 0; j < 3; ++j) {
            out_px[oc + j] = tg_finish_s16_dsp(a[j], o->bias, oc + j, o->mult, o->shift, 1, o->act_min, o->act_max);
        }
    }
    for (; oc < out_c; ++oc) {
        const int32_t a = tg_dot1_s16x8(x, filter + (ptrdiff_t)oc * k, k, 0);
        out_px[oc] = tg_finish_s16_dsp(a, o->bias, oc, o->mult, o->shift, 1, o->act_min, o->act_max);
    }
}
#endif

int tg_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h,
    int32_t filter_w, int32_t filter_in_c, const int8_t *filter, const int64_t *bias, int32_t out_h,
    int32_t out_w, int32_t out_c, int16_t *output)
{
    const int32_t filters_per_group = tg_conv_filters_per_group(in_c, filter_in_c, out_c);
    if (filters_per_group == 0) {
        return TG_ERROR;
    }

    const ptrdiff_t filter_size = (ptrdiff_t)filter_h * filter_w * filter_in_c;
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
#if TG_HAS_DSP
    const tg_s16_out o = {bias, mult, shift, 1, act_min, act_max};
    const int32_t whole = filters_per_group == out_c && filter_size <= TG_S16_CHUNK;
#endif
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *in_batch = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        int16_t *out_px = output + (ptrdiff_t)p.pixel * out_c;
#if TG_HAS_DSP
        if (whole) {
            tg_conv_s16_pixel(&p, in_batch, in_w, in_c, dilation_h, dilation_w, filter_h, filter_w, filter, out_c,
                              &o, out_px);
            continue;
        }
#endif
        for (int32_t oc = 0; oc < out_c;) {
            const int32_t group = filters_per_group == out_c ? 0 : oc / filters_per_group;
            const int16_t *image = in_batch + (ptrdiff_t)group * filter_in_c;
#if TG_HAS_DSP
            const int32_t same_group = filters_per_group == out_c || (oc + 2) / filters_per_group == group;
            tg_acc_s16 s;
            tg_acc_s16_init(&s, oc + 3 <= out_c && same_group);
            tg_conv_s16_lanes(&p, image, in_w, in_c, dilation_h, dilation_w, filter_w, filter_in_c, filter_size,
                              filter + oc * filter_size, &s);
            for (int32_t j = 0; j < s.lanes; ++j, ++oc) {
                out_px[oc] = tg_finish_s16_dsp(s.total[j], bias, oc, mult, shift, 1, act_min, act_max);
            }
            continue;
#endif
            const int64_t acc = tg_conv_s16_channel(&p, image, in_w, in_c, dilation_h, dilation_w, filter_w,
                                                    filter_in_c, filter + oc * filter_size);
            out_px[oc] = tg_finish_s16(acc, bias, oc, mult, shift, 1, act_min, act_max);
            ++oc;
        }
    }
    return TG_OK;
}
