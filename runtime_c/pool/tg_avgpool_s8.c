/* tinygen runtime: int8 AVERAGE_POOL_2D; contract in tg_pool.h, body in tg_avgpool_body.inc.
 *
 * On cores with the DSP extension, windows of at most 255 elements sum 8 channels at a time in 16-bit
 * lanes, 16 or 8 channels per pass (two SXTAB16 per 4 input bytes): |sum| <= 255 * 128 fits a lane, so the lane sums are the
 * exact int32 sums, and the rounding division is the plain loop's. Other channels take the plain loop.
 */
#include "tg_pool.h"

#include "tg_dsp.h"
#include "tg_window.h"

#if TG_HAS_DSP
static inline int8_t avg_round(int32_t sum, int32_t count, int32_t act_min, int32_t act_max)
{
    /* Integer division truncates toward zero: +-count/2 makes it round half away. */
    const int32_t q = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)tg_clamp(q, act_min, act_max);
}

static inline int32_t lane_lo(uint32_t v)
{
    return (int32_t)(int16_t)(uint16_t)(v & 0xFFFFu);
}

static inline int32_t lane_hi(uint32_t v)
{
    return (int32_t)(int16_t)(uint16_t)(v >> 16);
}

/* Rounds the 8 channel sums of a0..a3 (lanes c0 c2 | c1 c3 | c4 c6 | c5 c7) into o[0..7]. */
static inline void emit8(int8_t *o, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, int32_t count,
                         int32_t act_min, int32_t act_max)
{
    o[0] = avg_round(lane_lo(a0), count, act_min, act_max);
    o[1] = avg_round(lane_lo(a1), count, act_min, act_max);
    o[2] = avg_round(lane_hi(a0), count, act_min, act_max);
    o[3] = avg_round(lane_hi(a1), count, act_min, act_max);
    o[4] = avg_round(lane_lo(a2), count, act_min, act_max);
    o[5] = avg_round(lane_lo(a3), count, act_min, act_max);
    o[6] = avg_round(lane_hi(a2), count, act_min, act_max);
    o[7] = avg_round(lane_hi(a3), count, act_min, act_max);
}

/* Channels [0, 8 * (channels / 8)) of one output pixel, 16 then 8 at a time; returns how many were
 * written. A window spanning whole input rows is one run of pixels. */
static int32_t avgpool_s8_blocks(const int8_t *in_b, int32_t in_w, int32_t channels, const tg_window *w,
                                 int32_t count, int32_t act_min, int32_t act_max, int8_t **out)
{
    if (count > 255) {
        return 0;
    }
    const int whole_rows = w->x0 == 0 && w->x1 == in_w;
    const int32_t rows = whole_rows ? 1 : w->y1 - w->y0, cols = whole_rows ? count : w->x1 - w->x0;
    const size_t step = (size_t)channels, row_skip = (size_t)(in_w - cols) * step;
    const int8_t *first = in_b + ((size_t)w->y0 * (size_t)in_w + (size_t)w->x0) * step;
    int8_t *o = *out;
    int32_t c = 0;
    for (; c + 16 <= channels; c += 16, o += 16) {
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        const int8_t *p = first + c;
        for (int32_t y = 0; y < rows; ++y, p += row_skip) {
            for (const int8_t *end = p + (size_t)cols * step; p != end; p += step) {
                const uint32_t w0 = tg_read_u32(p), w1 = tg_read_u32(p + 4);
                const uint32_t w2 = tg_read_u32(p + 8), w3 = tg_read_u32(p + 12);
                a0 = tg_sxtab16(a0, w0);
                a1 = tg_sxtab16_r8(a1, w0);
                a2 = tg_sxtab16(a2, w1);
                a3 = tg_sxtab16_r8(a3, w1);
                b0 = tg_sxtab16(b0, w2);
                b1 = tg_sxtab16_r8(b1, w2);
                b2 = tg_sxtab16(b2, w3);
                b3 = tg_sxtab16_r8(b3, w3);
            }
        }
        emit8(o, a0, a1, a2, a3, count, act_min, act_max);
        emit8(o + 8, b0, b1, b2, b3, count, act_min, act_max);
    }
    if (c + 8 <= channels) {
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int8_t *p = first + c;
        for (int32_t y = 0; y < rows; ++y, p += row_skip) {
            for (const int8_t *end = p + (size_t)cols * step; p != end; p += step) {
                const uint32_t w0 = tg_read_u32(p), w1 = tg_read_u32(p + 4);
                a0 = tg_sxtab16(a0, w0);
                a1 = tg_sxtab16_r8(a1, w0);
                a2 = tg_sxtab16(a2, w1);
                a3 = tg_sxtab16_r8(a3, w1);
            }
        }
        emit8(o, a0, a1, a2, a3, count, act_min, act_max);
        o += 8;
        c += 8;
    }
    *out = o;
    return c;
}
#define TG_AVGPOOL_BLOCKS avgpool_s8_blocks
#endif

#define TG_FN tg_avgpool_s8
#define TG_T int8_t
#include "tg_avgpool_body.inc"
