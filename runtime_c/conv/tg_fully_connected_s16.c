/* tinygen runtime: 16x8 fully connected layer; contract in tg_fully_connected_s16.h. */
#include "tg_fully_connected_s16.h"

#include "tg_dsp_s16.h"

int tg_fully_connected_s16(int32_t filter_offset, int32_t act_min, int32_t act_max, const int32_t *mult,
    const int32_t *shift, int32_t per_channel, int32_t batches, int32_t accum_depth, const int16_t *input,
    int32_t out_depth, const int8_t *filter, const int64_t *bias, int16_t *output)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int16_t *x = input + (ptrdiff_t)b * accum_depth;
        int32_t o = 0;
#if TG_HAS_DSP
        /* three output rows share each input load (tg_dsp_s16.h); symmetric weights only */
        while (filter_offset == 0 && o < out_depth) {
            tg_acc_s16 s;
            tg_acc_s16_init(&s, o + 3 <= out_depth);
            const int32_t lanes = s.lanes;
            tg_acc_s16_run(&s, x, filter + (ptrdiff_t)o * accum_depth, accum_depth, accum_depth);
            tg_acc_s16_flush(&s);
            for (int32_t j = 0; j < lanes; ++j) {
                *output++ = tg_finish_s16_dsp(s.total[j], bias, o, mult, shift, per_channel, act_min, act_max);
                ++o;
            }
        }
#endif
        for (; o < out_depth; ++o) {
            const int8_t *w = filter + (ptrdiff_t)o * accum_depth;
            int64_t acc = 0;
            for (int32_t k = 0; k < accum_depth; ++k) {
                acc += (int64_t)((int32_t)w[k] + filter_offset) * x[k];
            }
            *output++ = tg_finish_s16(acc, bias, o, mult, shift, per_channel, act_min, act_max);
        }
    }
    return TG_OK;
}
