"""DETECTION_POSTPROCESS: the SSD box decoder and non-max suppression that TF's object-detection export
writes as the TFLite custom op `TFLite_Detection_PostProcess` (TFLM: DETECTION_POSTPROCESS).

Inputs: box encodings float32 [1, N, >=4] (centre-size y, x, h, w), class scores float32 [1, N, C or C+1]
(a leading background column when C+1), anchors a float32 constant [N, 4] (y, x, h, w). Outputs, all
float32: boxes [1, M, 4] (ymin, xmin, ymax, xmax), classes [1, M], scores [1, M], num_detections [1].
The options are a flexbuffer map in the operator's custom_options. As in TFLM the kernel reads float
inputs only (an int8 head is dequantized before it); the arithmetic follows TFLM's float32 / float64
steps (`lower/detection.py`, `runtime_c/detection/`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flatbuffers import flexbuffers

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

CUSTOM_CODE = "TFLite_Detection_PostProcess"
_DEFAULT_PER_CLASS = 100  # TFLM's detections_per_class when the map lacks it


@dataclass(frozen=True)
class DetectionPostprocessAttrs:
    max_detections: int
    max_classes_per_detection: int
    detections_per_class: int
    score_threshold: float  # float32 values
    iou_threshold: float
    num_classes: int
    y_scale: float
    x_scale: float
    h_scale: float
    w_scale: float
    use_regular_nms: bool = False


_F32 = ("nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale")
_INTS = ("max_detections", "max_classes_per_detection", "num_classes")


def attrs_from_flexbuffer(raw: bytes, fail) -> DetectionPostprocessAttrs:
    """The options map as TFLM's Init reads it; `fail(msg)` makes the error for a missing / bad field."""
    try:
        m = flexbuffers.Loads(raw)
    except Exception as e:  # noqa: BLE001 - any decoding failure of the blob is a format error
        raise fail(f"custom_options is not a flexbuffer map ({type(e).__name__})") from None
    if not isinstance(m, dict):
        raise fail("custom_options is not a flexbuffer map")
    for k in _INTS + _F32:
        if not isinstance(m.get(k), (int, float)) or isinstance(m.get(k), bool):
            raise fail(f"custom_options field '{k}' is missing or not a number")
    f32 = {k: float(np.float32(m[k])) for k in _F32}
    per_class = m.get("detections_per_class")
    return DetectionPostprocessAttrs(
        int(m["max_detections"]), int(m["max_classes_per_detection"]),
        _DEFAULT_PER_CLASS if per_class is None else int(per_class),
        f32["nms_score_threshold"], f32["nms_iou_threshold"], int(m["num_classes"]),
        f32["y_scale"], f32["x_scale"], f32["h_scale"], f32["w_scale"], bool(m.get("use_regular_nms", False)))


def attrs_to_flexbuffer(a: DetectionPostprocessAttrs) -> bytes:
    return bytes(flexbuffers.Dumps({
        "max_detections": a.max_detections, "max_classes_per_detection": a.max_classes_per_detection,
        "detections_per_class": a.detections_per_class, "use_regular_nms": bool(a.use_regular_nms),
        "nms_score_threshold": a.score_threshold, "nms_iou_threshold": a.iou_threshold,
        "num_classes": a.num_classes, "y_scale": a.y_scale, "x_scale": a.x_scale,
        "h_scale": a.h_scale, "w_scale": a.w_scale}))


# ---- TFLite converter and export -----------------------------------------------------------------


def tflite_detection_postprocess(c: OpContext):
    attrs = attrs_from_flexbuffer(c.op.options.get("custom_options", b""), c.bad)
    for k in range(3):
        c.input(k)
    if len(c.op.outputs) != 4:
        raise c.bad(f"expected 4 outputs (boxes, classes, scores, num_detections), found {len(c.op.outputs)}")
    return [(OpKind.DETECTION_POSTPROCESS, attrs, list(c.op.inputs[:3]), list(c.op.outputs))]


def export_detection_postprocess(w, op, ins: list, outs: list) -> None:
    w.emit_custom(CUSTOM_CODE, ins, outs, attrs_to_flexbuffer(op.attrs))


def ignore_unwritten_rows(graph, differing):
    """`differing(c_out, other)` for one sample, made blind to the rows TFLM's fast NMS leaves unwritten:
    past num_detections its output rows hold whatever its arena held before (tinygen writes 0 there), so
    those rows of `other` are taken from the C's before counting. Other outputs and graphs: unchanged."""
    spots = [[graph.outputs.index(t) for t in op.outputs] for op in graph.ops
             if op.kind == OpKind.DETECTION_POSTPROCESS and not op.attrs.use_regular_nms
             and all(t in graph.outputs for t in op.outputs)]
    if not spots:
        return differing

    def diff(c_out: list, other: list) -> int:
        other = [np.array(o).reshape(np.shape(c)).astype(np.asarray(c).dtype) for c, o in zip(c_out, other)]
        for *rows, num in spots:
            n = int(max(np.asarray(c_out[num]).reshape(-1)[0], other[num].reshape(-1)[0]))
            for k in rows:
                other[k][:, n:] = np.asarray(c_out[k])[:, n:]
        return differing(c_out, other)

    return diff


# ---- checks ----------------------------------------------------------------------------------------


def check_inputs(c: CheckContext) -> None:
    """box encodings float32 [1, N, >=4], class scores float32 [1, N, num_classes (+1 background)],
    anchors a float32 constant [N, 4] (TFLM's kernel reads float inputs only: dequantize an int8 head)"""
    boxes, scores, anchors = c.ins[:3]
    a = c.a
    for t in (boxes, scores, anchors):
        if t.dtype != "float32":
            raise c.unsupported(f"input '{t.name}' is {t.dtype}; the kernel reads float32 (as TFLM's)")
    if len(boxes.shape) != 3 or boxes.shape[0] != 1 or boxes.shape[2] < 4:
        raise c.bad(f"box encodings '{boxes.name}' have shape {list(boxes.shape)}, expected [1, N, >=4]")
    n = boxes.shape[1]
    if tuple(scores.shape[:2]) != (1, n) or len(scores.shape) != 3 or scores.shape[2] - a.num_classes not in (0, 1):
        raise c.bad(f"class scores '{scores.name}' have shape {list(scores.shape)}, expected "
                    f"[1, {n}, {a.num_classes} or {a.num_classes + 1}]")
    if not anchors.is_const or tuple(anchors.shape) != (n, 4):
        raise c.unsupported(f"anchors '{anchors.name}' must be a constant [{n}, 4], got {list(anchors.shape)}")


def check_options(c: CheckContext) -> None:
    """num_classes, max_detections (and detections_per_class for regular NMS) are positive, the IoU
    threshold is in (0, 1], fast NMS keeps one class per detection (TFLM writes its outputs for more
    than one at strided offsets that overrun them)"""
    a = c.a
    if a.num_classes < 1 or a.max_detections < 1:
        raise c.bad(f"num_classes {a.num_classes} and max_detections {a.max_detections} must be positive")
    if not 0.0 < a.iou_threshold <= 1.0:
        raise c.bad(f"nms_iou_threshold {a.iou_threshold} is outside (0, 1]")
    if a.use_regular_nms and a.detections_per_class < 1:
        raise c.bad(f"detections_per_class {a.detections_per_class} must be positive")
    if not a.use_regular_nms and a.max_classes_per_detection != 1 and a.num_classes > 1:
        raise c.unsupported(f"max_classes_per_detection {a.max_classes_per_detection}: only 1 is supported")
    if a.max_classes_per_detection < 1:
        raise c.bad(f"max_classes_per_detection {a.max_classes_per_detection} must be positive")


def check_outputs(c: CheckContext) -> None:
    """outputs are float32 boxes [1, M, 4], classes [1, M], scores [1, M], num_detections [1] with
    M = max_detections"""
    m = c.a.max_detections
    want = ((1, m, 4), (1, m), (1, m), (1,))
    for name, shape in zip(c.op.outputs, want):
        t = c.graph.tensors[name]
        if t.dtype != "float32" or tuple(t.shape) != shape:
            raise c.bad(f"output '{name}' is {t.dtype}{list(t.shape)}, expected float32{list(shape)}")


register(OpSpec(
    OpKind.DETECTION_POSTPROCESS, "SSD box decoding and non-max suppression (fast or regular), float32 "
    "outputs: boxes, classes, scores, number of detections",
    tflite=(TfliteOp(f"CUSTOM({CUSTOM_CODE})", tflite_detection_postprocess),),
    keras=NotApplicable("no Keras layer: TF's object-detection export writes it as a TFLite custom op"),
    checks=(check_inputs, check_options, check_outputs),
    float_ref=NotApplicable("only .tflite models hold it; the lowering's NumPy reference follows TFLM's "
                            "float arithmetic (lower/detection.py)"),
    bounds=NotApplicable("float arithmetic: no accumulator"),
    export=export_detection_postprocess, kernels=Lowering(("float32",)), inputs=(3, 3),
    attrs=DetectionPostprocessAttrs, outputs=4,
))
