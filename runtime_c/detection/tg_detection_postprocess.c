/* tinygen runtime: DETECTION_POSTPROCESS, float32; contract in tg_detection_postprocess.h.
 *
 * The arithmetic follows TFLM's kernel step for step: decoding in double, IoU in float, the candidate
 * order a stable sort by decreasing score, the per-box best class and the merge of the per-class
 * results ordered by (score decreasing, position increasing). */
#include "tg_detection_postprocess.h"

#include <math.h>
#include <string.h>

typedef struct {
    float *decoded;      /* num_boxes x 4: ymin, xmin, ymax, xmax */
    float *scores;       /* num_boxes: a class's scores, or each box's best score */
    float *keep_scores;  /* num_boxes */
    int32_t *keep_idx;   /* num_boxes */
    int32_t *selected;   /* num_boxes */
    int32_t *sorted;     /* num_boxes + max_detections */
    int32_t *index;      /* num_boxes + max_detections: best class (fast) or merged score positions */
    float *merged;       /* num_boxes + max_detections: merged scores (regular) */
    float *merged_tmp;   /* num_boxes + max_detections */
    uint8_t *active;     /* num_boxes */
} tg_dpp_scratch;

int32_t tg_detection_postprocess_f32_get_buffer_size(int32_t num_boxes, int32_t max_detections)
{
    const int32_t r = num_boxes + max_detections;
    return 4 * (8 * num_boxes + 4 * r) + num_boxes;
}

static tg_dpp_scratch split_scratch(void *scratch, int32_t n, int32_t m)
{
    tg_dpp_scratch s;
    float *f = (float *)scratch;
    const int32_t r = n + m;
    s.decoded = f;
    s.scores = f + 4 * n;
    s.keep_scores = f + 5 * n;
    s.keep_idx = (int32_t *)(f + 6 * n);
    s.selected = (int32_t *)(f + 7 * n);
    s.sorted = (int32_t *)(f + 8 * n);
    s.index = (int32_t *)(f + 8 * n + r);
    s.merged = f + 8 * n + 2 * r;
    s.merged_tmp = f + 8 * n + 3 * r;
    s.active = (uint8_t *)(f + 8 * n + 4 * r);
    return s;
}

static float max_f(float a, float b) { return (a < b) ? b : a; }
static float min_f(float a, float b) { return (b < a) ? b : a; }

static float iou(const float *d, int32_t i, int32_t j)
{
    const float *a = d + 4 * i, *b = d + 4 * j;
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float inter;
    if (area_a <= 0 || area_b <= 0) {
        return 0.0f;
    }
    inter = max_f(min_f(a[2], b[2]) - max_f(a[0], b[0]), 0.0f) *
            max_f(min_f(a[3], b[3]) - max_f(a[1], b[1]), 0.0f);
    return inter / (area_a + area_b - inter);
}

static int decode(const float *boxes, const float *anchors, int32_t n, int32_t stride, const float *scale,
                  float *d)
{
    int32_t i;
    int ok = 1;
    for (i = 0; i < n; ++i) {
        const float *e = boxes + (size_t)i * (size_t)stride;
        const float *a = anchors + 4 * i;
        const float yc = (float)((double)e[0] / (double)scale[0] * (double)a[2] + (double)a[0]);
        const float xc = (float)((double)e[1] / (double)scale[1] * (double)a[3] + (double)a[1]);
        const float hh = (float)(0.5 * exp((double)e[2] / (double)scale[2]) * (double)a[2]);
        const float hw = (float)(0.5 * exp((double)e[3] / (double)scale[3]) * (double)a[3]);
        float *o = d + 4 * i;
        o[0] = yc - hh;
        o[1] = xc - hw;
        o[2] = yc + hh;
        o[3] = xc + hw;
        if (o[0] >= o[2] || o[1] >= o[3]) {
            ok = 0;
        }
    }
    return ok;
}

/* (value decreasing, index increasing): the first k positions of idx hold the k first indices. */
static void partial_sort(const float *v, int32_t n, int32_t k, int32_t *idx)
{
    int32_t p, q;
    for (p = 0; p < n; ++p) {
        idx[p] = p;
    }
    for (p = 0; p < k; ++p) {
        int32_t best = p;
        for (q = p + 1; q < n; ++q) {
            const int32_t a = idx[q], b = idx[best];
            if (v[a] > v[b] || (!(v[a] < v[b]) && a < b)) {
                best = q;
            }
        }
        q = idx[p];
        idx[p] = idx[best];
        idx[best] = q;
    }
}

/* NMS over one score per box; returns the number of selected box indices. */
static int32_t nms(const tg_dpp_scratch *s, const float *sc, int32_t n, int32_t max_out, float thr,
                   float iou_thr)
{
    int32_t kept = 0, i, j, out = 0, active_left, limit;
    for (i = 0; i < n; ++i) {
        if (sc[i] >= thr) {
            s->keep_scores[kept] = sc[i];
            s->keep_idx[kept] = i;
            ++kept;
        }
    }
    for (i = 0; i < kept; ++i) { /* stable insertion sort by decreasing score */
        const int32_t v = i;
        j = i;
        while (j > 0 && s->keep_scores[v] > s->keep_scores[s->sorted[j - 1]]) {
            s->sorted[j] = s->sorted[j - 1];
            --j;
        }
        s->sorted[j] = v;
    }
    limit = kept < max_out ? kept : max_out;
    for (i = 0; i < kept; ++i) {
        s->active[i] = 1;
    }
    active_left = kept;
    for (i = 0; i < kept; ++i) {
        int32_t bi;
        if (active_left == 0 || out >= limit) {
            break;
        }
        if (!s->active[i]) {
            continue;
        }
        bi = s->keep_idx[s->sorted[i]];
        s->selected[out++] = bi;
        s->active[i] = 0;
        --active_left;
        for (j = i + 1; j < kept; ++j) {
            if (s->active[j] && iou(s->decoded, bi, s->keep_idx[s->sorted[j]]) > iou_thr) {
                s->active[j] = 0;
                --active_left;
            }
        }
    }
    return out;
}

static void write_row(const tg_dpp_scratch *s, int32_t row, int32_t box, float cls, float score, float *ob,
                      float *oc, float *os)
{
    memcpy(ob + 4 * row, s->decoded + 4 * box, 4 * sizeof(float));
    oc[row] = cls;
    os[row] = score;
}

static int32_t fast_nms(const tg_dpp_scratch *s, const float *scores, int32_t n, int32_t k, int32_t cols,
                        int32_t m, float thr, float iou_thr, float *ob, float *oc, float *os)
{
    const int32_t off = cols - k;
    int32_t row, c, i, count;
    for (row = 0; row < n; ++row) {
        const float *bs = scores + (size_t)row * (size_t)cols + off;
        int32_t best = 0;
        for (c = 1; c < k; ++c) {
            if (bs[c] > bs[best]) {
                best = c;
            }
        }
        s->index[row] = best;
        s->scores[row] = bs[best];
    }
    count = nms(s, s->scores, n, m, thr, iou_thr);
    for (i = 0; i < count; ++i) {
        const int32_t b = s->selected[i];
        write_row(s, i, b, (float)s->index[b], scores[(size_t)b * (size_t)cols + off + s->index[b]], ob, oc, os);
    }
    return count;
}

static int32_t regular_nms(const tg_dpp_scratch *s, const float *scores, int32_t n, int32_t k, int32_t cols,
                           int32_t m, int32_t per_class, float thr, float iou_thr, float *ob, float *oc,
                           float *os)
{
    const int32_t off = cols - k;
    int32_t col, row, i, size = 0;
    for (col = 0; col < k; ++col) {
        int32_t count, total = size, to_sort;
        for (row = 0; row < n; ++row) {
            s->scores[row] = scores[(size_t)row * (size_t)cols + col + off];
        }
        count = nms(s, s->scores, n, per_class, thr, iou_thr);
        for (i = 0; i < count; ++i) {
            s->index[total] = s->selected[i] * cols + col + off;
            s->merged[total] = s->scores[s->selected[i]];
            ++total;
        }
        to_sort = total < m ? total : m;
        partial_sort(s->merged, total, to_sort, s->sorted);
        for (i = 0; i < to_sort; ++i) {
            const int32_t t = s->sorted[i];
            s->sorted[i] = s->index[t];
            s->merged_tmp[i] = s->merged[t];
        }
        for (i = 0; i < to_sort; ++i) {
            s->index[i] = s->sorted[i];
            s->merged[i] = s->merged_tmp[i];
        }
        size = to_sort;
    }
    for (i = 0; i < size; ++i) {
        const int32_t anchor = s->index[i] / cols;
        write_row(s, i, anchor, (float)(s->index[i] - anchor * cols - off), s->merged[i], ob, oc, os);
    }
    return size;
}

int tg_detection_postprocess_f32(const float *boxes, const float *scores, const float *anchors,
                                 float *out_boxes, float *out_classes, float *out_scores, float *out_num,
                                 int32_t num_boxes, int32_t box_stride, int32_t num_classes,
                                 int32_t num_columns, int32_t max_detections, int32_t detections_per_class,
                                 int32_t use_regular_nms, float score_threshold, float iou_threshold,
                                 float y_scale, float x_scale, float h_scale, float w_scale, void *scratch)
{
    const float scale[4] = {y_scale, x_scale, h_scale, w_scale};
    const tg_dpp_scratch s = split_scratch(scratch, num_boxes, max_detections);
    int32_t count, i;
    for (i = 0; i < max_detections; ++i) {
        out_boxes[4 * i] = out_boxes[4 * i + 1] = out_boxes[4 * i + 2] = out_boxes[4 * i + 3] = 0.0f;
        out_classes[i] = out_scores[i] = 0.0f;
    }
    out_num[0] = 0.0f;
    if (!decode(boxes, anchors, num_boxes, box_stride, scale, s.decoded)) {
        return TG_ERROR;
    }
    if (use_regular_nms) {
        count = regular_nms(&s, scores, num_boxes, num_classes, num_columns, max_detections,
                            detections_per_class, score_threshold, iou_threshold, out_boxes, out_classes,
                            out_scores);
    } else {
        count = fast_nms(&s, scores, num_boxes, num_classes, num_columns, max_detections, score_threshold,
                         iou_threshold, out_boxes, out_classes, out_scores);
    }
    out_num[0] = (float)count;
    return TG_OK;
}
