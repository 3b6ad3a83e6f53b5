"""Lowering of DETECTION_POSTPROCESS (float32, `runtime_c/detection/tg_detection_postprocess.c`).

The NumPy reference repeats TFLM's arithmetic: each box decoded in float64 (the exponential through the
C library's `exp`, as `math.exp` is) and rounded to float32; IoU in float32; candidates in a stable sort
by decreasing score; the per-box best class and the per-class merge ordered by (score decreasing,
position increasing). The scratch (decoded boxes, score and index lists) lives in the arena, sized here
and by the C twin `tg_detection_postprocess_f32_get_buffer_size`.
"""
from __future__ import annotations

import math

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg, register

_F32 = np.float32


def scratch_bytes(num_boxes: int, max_detections: int) -> int:
    r = num_boxes + max_detections
    return 4 * (8 * num_boxes + 4 * r) + num_boxes


def _c_float(v: float) -> str:
    return float(_F32(v)).hex() + "f"


def decode(boxes: np.ndarray, anchors: np.ndarray, scale: tuple) -> np.ndarray:
    """[N, 4] float32 corners (ymin, xmin, ymax, xmax) from centre-size encodings and anchors."""
    ys, xs, hs, ws = (float(_F32(s)) for s in scale)
    out = np.zeros((len(boxes), 4), _F32)
    for i, (e, a) in enumerate(zip(boxes.astype(np.float64), anchors.astype(np.float64))):
        yc = _F32(e[0] / ys * a[2] + a[0])
        xc = _F32(e[1] / xs * a[3] + a[1])
        hh = _F32(0.5 * math.exp(e[2] / hs) * a[2])
        hw = _F32(0.5 * math.exp(e[3] / ws) * a[3])
        out[i] = (yc - hh, xc - hw, yc + hh, xc + hw)
    return out


def _iou(d: np.ndarray, i: int, j: int) -> _F32:
    a, b = d[i], d[j]
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    if area_a <= 0 or area_b <= 0:
        return _F32(0.0)
    ih = max(min(a[2], b[2]) - max(a[0], b[0]), _F32(0.0))
    iw = max(min(a[3], b[3]) - max(a[1], b[1]), _F32(0.0))
    inter = _F32(ih * iw)
    return _F32(inter / _F32(_F32(area_a + area_b) - inter))


def nms(d: np.ndarray, scores: np.ndarray, max_out: int, thr: float, iou_thr: float) -> list:
    """Box indices one NMS pass selects, best first."""
    keep = [i for i in range(len(scores)) if scores[i] >= _F32(thr)]
    order = [keep[k] for k in np.argsort(-scores[keep], kind="stable")] if keep else []
    active, selected = [True] * len(order), []
    for i, bi in enumerate(order):
        if len(selected) >= min(len(order), max_out) or not any(active[i:]):
            break
        if not active[i]:
            continue
        selected.append(bi)
        active[i] = False
        for j in range(i + 1, len(order)):
            if active[j] and _iou(d, bi, order[j]) > _F32(iou_thr):
                active[j] = False
    return selected


def _top(values: list, k: int) -> list:
    """Positions of the k best values, ordered by (value decreasing, position increasing)."""
    return sorted(range(len(values)), key=lambda p: (-float(values[p]), p))[:k]


def reference(boxes, scores, anchors, a) -> list:
    """(boxes [1,M,4], classes [1,M], scores [1,M], num [1]) as float32; rows past the detections are 0."""
    m, k = a.max_detections, a.num_classes
    d = decode(np.asarray(boxes, _F32)[0, :, :4], np.asarray(anchors, _F32),
               (a.y_scale, a.x_scale, a.h_scale, a.w_scale))
    if np.any(d[:, 0] >= d[:, 2]) or np.any(d[:, 1] >= d[:, 3]):
        raise TinygenError("DETECTION_POSTPROCESS: a decoded box has ymin >= ymax or xmin >= xmax")
    sc = np.asarray(scores, _F32)[0]
    sc = sc[:, sc.shape[1] - k:]
    rows = []  # (box, class, score)
    if a.use_regular_nms:
        merged = []  # (box, class, score)
        for col in range(k):
            merged += [(b, col, sc[b, col]) for b in nms(d, sc[:, col], a.detections_per_class,
                                                          a.score_threshold, a.iou_threshold)]
            merged = [merged[p] for p in _top([r[2] for r in merged], min(len(merged), m))]
        rows = merged
    else:
        best = [_top(list(sc[b]), 1)[0] for b in range(len(sc))]
        best_scores = np.array([sc[b, best[b]] for b in range(len(sc))], _F32)
        rows = [(b, best[b], sc[b, best[b]]) for b in nms(d, best_scores, m, a.score_threshold, a.iou_threshold)]
    ob, oc, os_ = np.zeros((1, m, 4), _F32), np.zeros((1, m), _F32), np.zeros((1, m), _F32)
    for r, (b, c, s) in enumerate(rows):
        ob[0, r], oc[0, r], os_[0, r] = d[b], c, s
    return [ob, oc, os_, np.array([len(rows)], _F32)]


class DetectionPostprocessF32(Kernel):
    kinds = (OpKind.DETECTION_POSTPROCESS,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        boxes, scores, anchors = (graph.tensors[t] for t in op.inputs)
        n = boxes.shape[1]
        outs = [TensorArg(t, const=False) for t in op.outputs]
        anchor_data = np.ascontiguousarray(anchors.data, _F32)
        args = [TensorArg(boxes.name), TensorArg(scores.name), ConstArg(0), *outs,
                Literal(n), Literal(boxes.shape[2]), Literal(a.num_classes), Literal(scores.shape[2]),
                Literal(a.max_detections), Literal(a.detections_per_class), Literal(int(a.use_regular_nms)),
                *(Literal(_c_float(v)) for v in (a.score_threshold, a.iou_threshold, a.y_scale, a.x_scale,
                                                 a.h_scale, a.w_scale)), ScratchArg()]

        def ref(ins: list) -> list:
            return reference(ins[0], ins[1], anchor_data, a)

        return LoweredOp(op, "tg_detection_postprocess_f32", ("tg_detection_postprocess.c",), args,
                         [ConstArray("anchors", anchor_data)], ref,
                         scratch_bytes=scratch_bytes(n, a.max_detections),
                         notes=dict(boxes=n, classes=a.num_classes, regular_nms=a.use_regular_nms))


register(DetectionPostprocessF32())
