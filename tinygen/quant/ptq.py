"""Post-training quantization of a float IR graph to the TFLite int8 spec, or to its 16x8 variant.

Weights per-channel symmetric int8, biases int32 (scale in_scale * w_scale), activations per-tensor
asymmetric int8 from calibration ranges; ops that cannot requantize share their input's parameters.
With activations="int16" (TFLite's 16x8 mode) activations are per-tensor symmetric int16 (zero point
0, scale max|range| / 32767), biases int64, weights unchanged.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen import ir
from tinygen.console import progress
from tinygen.quant import float_ref
from tinygen.errors import CalibrationError, UnsupportedError
from tinygen.ir import Graph, OpKind, QuantParams
from tinygen.quant import gru, lstm, ranges

SYNTHETIC_SAMPLES = 16
_CHUNK = 16  # samples per float_ref batch
_KEEP = 20000  # values kept per tensor, per half, per chunk for the percentile / MSE estimators
FIXED_RANGES = {OpKind.SOFTMAX: (1.0 / 256, -128), OpKind.LOGISTIC: (1.0 / 256, -128), OpKind.TANH: (1.0 / 128, 0),
                OpKind.LOG_SOFTMAX: (16.0 / 256, 127)}  # TFLM's int8 LOG_SOFTMAX output: [-16, 0)
# 16x8: the int16 kernels want a 2^-15 output scale, zero point 0 (TFLite's int16 fixed parameters)
_FIXED16 = {OpKind.SOFTMAX: (1.0 / 32768, 0), OpKind.LOGISTIC: (1.0 / 32768, 0), OpKind.TANH: (1.0 / 32768, 0)}
ACTIVATIONS = ("int8", "int16")
_BIAS_DTYPE = {"int8": "int32", "int16": "int64"}
SHARES_INPUT_PARAMS = {OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D, OpKind.RESHAPE, OpKind.PAD, OpKind.CONCATENATION,
                       OpKind.TRANSPOSE, OpKind.STRIDED_SLICE, OpKind.REVERSE_V2,
                       OpKind.RESIZE_NEAREST_NEIGHBOR, OpKind.RESIZE_BILINEAR, OpKind.MAXIMUM, OpKind.MINIMUM}
_WEIGHT_AXIS = {OpKind.CONV_2D: 0, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 0}


def quantize(graph: Graph, calibration=None, estimator: str = "auto", bias_correction: bool = True,
             activations: str = "int8") -> Graph:
    """Return an int8 copy of the float `graph`; `calibration` is (N, *input shape[1:]) or one per input.

    activations="int16" gives the 16x8 form instead: int16 activations, int8 weights, int64 biases.

    The copy carries `quant_report` (estimator per tensor) and `warnings` (e.g. synthetic calibration).
    """
    if estimator not in ranges.ESTIMATORS:
        raise CalibrationError(f"unknown range estimator '{estimator}'; use one of {', '.join(ranges.ESTIMATORS)}")
    if activations not in ACTIVATIONS:
        raise UnsupportedError(f"activations '{activations}': use one of {', '.join(ACTIVATIONS)}")
    _check_graph(graph)
    graph = lstm.zero_states(graph)  # a float .tflite's LSTM states: zero at reset
    warnings = []
    if calibration is None:
        rng = np.random.default_rng(0)
        calibration = [rng.standard_normal((SYNTHETIC_SAMPLES,) + graph.tensors[t].shape[1:]).astype(np.float32)
                       for t in graph.inputs]
        warnings.append(f"no calibration data: activation ranges come from {SYNTHETIC_SAMPLES} standard-normal "
                        "samples; pass representative inputs for usable int8 accuracy")
    calib = check_calibration(graph, calibration)
    stats = _collect(graph, calib)
    q = graph.copy()
    range_notes: list = []
    report = quantize_activations(q, stats, estimator, activations, range_notes)
    done = lstm.quantize_lstms(graph, q, calib, activations)
    done |= gru.quantize_cells(graph, q, calib, activations)  # GRU / RNN: their steps, weights and state
    quantize_constants(q, activations, done)
    if bias_correction and not warnings:
        correct_biases(graph, q, calib)
    ir.verify(q, "quantize")
    q.warnings = warnings + range_notes
    q.quant_report = report
    return q


def _check_graph(graph: Graph) -> None:
    for op in graph.ops:
        if op.kind == OpKind.BATCH_NORM:
            raise UnsupportedError(f"layer '{op.name}' (BATCH_NORM): run passes.optimize before quantizing")
        if op.kind in (OpKind.QUANTIZE, OpKind.DEQUANTIZE):
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): the graph is already quantized")
    for t in graph.tensors.values():
        if t.dtype != "float32":
            raise UnsupportedError(f"tensor '{t.name}' is {t.dtype}: quantize expects a float32 graph")


def check_calibration(graph: Graph, calibration) -> list:
    if len(graph.inputs) == 1 and not isinstance(calibration, (list, tuple)):
        calibration = [calibration]
    if len(calibration) != len(graph.inputs):
        raise CalibrationError(f"calibration has {len(calibration)} arrays, the model has {len(graph.inputs)} inputs")
    out = []
    for name, c in zip(graph.inputs, calibration):
        c = np.asarray(c)
        want = graph.tensors[name].shape[1:]
        if c.dtype.kind not in "fiu":
            raise CalibrationError(f"calibration for input '{name}' has dtype {c.dtype}; expected float32")
        if c.ndim != len(want) + 1 or tuple(c.shape[1:]) != tuple(want):
            raise CalibrationError(f"calibration for input '{name}' has shape {c.shape}; expected (N, "
                                   f"{', '.join(map(str, want))})")
        if c.shape[0] == 0:
            raise CalibrationError(f"calibration for input '{name}' has no samples")
        c = c.astype(np.float32)
        if not np.all(np.isfinite(c)):
            raise CalibrationError(f"calibration for input '{name}' contains NaN or inf "
                                   f"({int(np.sum(~np.isfinite(c)))} values)")
        out.append(c)
    if len({c.shape[0] for c in out}) != 1:
        raise CalibrationError(f"calibration inputs have different sample counts: {[c.shape[0] for c in out]}")
    return out


def _collect(graph: Graph, calib: list) -> dict:
    """Per activation tensor: exact (min, max) and subsampled values of even / odd samples."""
    rng = np.random.default_rng(0)
    stats: dict = {}
    n = calib[0].shape[0]
    for start in range(0, n, _CHUNK):
        progress("calibration: samples", start, n)
        _, env = float_ref.run_batch(graph, [c[start:start + _CHUNK] for c in calib], collect=True)
        for name, v in env.items():
            if graph.tensors[name].is_const:
                continue
            if not np.all(np.isfinite(v)):
                raise CalibrationError(f"tensor '{name}' is NaN or inf on the calibration data")
            s = stats.setdefault(name, {"lo": np.inf, "hi": -np.inf, "halves": ([], [])})
            s["lo"], s["hi"] = min(s["lo"], float(v.min())), max(s["hi"], float(v.max()))
            parity = (np.arange(start, start + v.shape[0]) % 2)
            for k in (0, 1):
                vals = v[parity == k].ravel()
                if vals.size > _KEEP:
                    vals = rng.choice(vals, _KEEP, replace=False)
                s["halves"][k].append(vals)
    return stats


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, as TFLite's quantizer does (np.round rounds half to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


class ShareGroups:
    """Union-find over tensor names that must share quantization parameters."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, x: str) -> str:
        while self.parent.setdefault(x, x) != x:
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def symmetric16_params(lo: float, hi: float) -> tuple:
    """16x8 activation parameters: zero point 0, scale max(|lo|, |hi|) / 32767 (TFLite's converter)."""
    bound = max(abs(float(lo)), abs(float(hi)))
    return (bound / 32767.0 if bound > 0 else 1.0), 0


def _min_widths(q: Graph, groups: ShareGroups, activations: str) -> dict:
    """Group root -> (narrowest range, op) for inputs whose kernels need a minimum scale: TFLM's int8 softmax
    needs beta * input scale * 2^26 > 1 (its input multiplier is a Q5.26 value above one), the int16
    LOGISTIC / TANH input scale * 3 * 4096 * 2^30 > 2^14 (an input shift of at most 30). A tiny input range
    (an untrained classifier's logits) is widened to that width, plus a margin for float32 rounding."""
    if activations == "int16":
        width = 2 * 32767 * 2.0 ** 14 / (3 * 4096 * 2.0 ** 30) * 1.001
        return {groups.find(op.inputs[0]): (width, op) for op in q.ops if op.kind in (OpKind.LOGISTIC, OpKind.TANH)}
    return {groups.find(op.inputs[0]): (255.0 * 2.0 ** -26 / op.attrs.beta * 1.001, op)
            for op in q.ops if op.kind == OpKind.SOFTMAX and op.attrs.beta > 0}


def _widened(names: list, lo: float, hi: float, need, notes: list) -> tuple:
    """The range of a share group after TF's tiny-range rule and a SOFTMAX input's minimum width."""
    value = lo if hi - lo <= 0 else None
    lo, hi = ranges.widen_tiny(lo, hi)
    if value is not None and notes is not None:
        notes.append(f"tensor '{names[0]}' is constant ({value:g}) on the calibration data: its range "
                     f"is [{min(lo, 0.0):g}, {max(hi, 0.0):g}] (TF's converter widens a range below 1e-6 the same way)")
    if need is not None and max(hi, 0.0) - min(lo, 0.0) < need[0]:
        if notes is not None:
            notes.append(f"layer '{need[1].name}' ({need[1].kind.value}): input range [{lo:g}, {hi:g}] is narrower "
                         f"than TFLM's kernel accepts; widened to +-{need[0] / 2:g}")
        lo, hi = min(lo, -need[0] / 2), max(hi, need[0] / 2)
    return lo, hi


def quantize_activations(q: Graph, stats: dict, estimator: str, activations: str = "int8", notes: list = None) -> dict:
    """Activation parameters per share group from `stats`; `notes` (a list) collects warnings about ranges
    that had to be widened."""
    groups, fixed = ShareGroups(), {}
    fixed_params = _FIXED16 if activations == "int16" else FIXED_RANGES
    params_of = symmetric16_params if activations == "int16" else ranges.asymmetric_params
    for op in q.ops:
        if op.kind in fixed_params:
            fixed[op.outputs[0]] = (op, fixed_params[op.kind])
        if op.kind in SHARES_INPUT_PARAMS:
            for t in op.inputs:
                if t is not None and not q.tensors[t].is_const:
                    groups.union(t, op.outputs[0])
    members: dict = {}
    for name in stats:
        members.setdefault(groups.find(name), []).append(name)
    widths = _min_widths(q, groups, activations)
    report = {}
    for names in members.values():
        pinned = {fixed[n][1] for n in names if n in fixed}
        if len(pinned) > 1:
            ops = ", ".join(f"'{fixed[n][0].name}'" for n in names if n in fixed)
            raise UnsupportedError(f"layers {ops} need different fixed output scales but must share one")
        if pinned:
            scale, zp = pinned.pop()
            how = "fixed"
        else:
            halves = tuple(np.concatenate([v for n in names for v in stats[n]["halves"][k]]) for k in (0, 1))
            exact = (min(stats[n]["lo"] for n in names), max(stats[n]["hi"] for n in names))
            lo, hi, how = ranges.estimate(halves, estimator, exact)
            lo, hi = _widened(names, lo, hi, widths.get(groups.find(names[0])), notes)
            scale, zp = params_of(lo, hi)
        for n in names:
            t = q.tensors[n]
            q.tensors[n] = dataclasses.replace(t, dtype=activations, quant=QuantParams.make(scale, zp))
            report[n] = how
    return report


def quantize_constants(q: Graph, activations: str = "int8", done: set = None) -> None:
    done = set(done or ())  # `done`: constants already quantized by their op's own rule (LSTMs: quant/lstm.py)
    for op in q.ops:
        if op.kind in _WEIGHT_AXIS and op.inputs[1] not in done:
            _quantize_weights(q, op, _WEIGHT_AXIS[op.kind], _BIAS_DTYPE[activations])
            done.update(t for t in op.inputs[1:] if t is not None)
    # other constant operands (e.g. of ADD / MUL) are quantized like the activations they meet
    for op in q.ops:
        for t in op.inputs:
            if t is not None and t not in done and q.tensors[t].is_const:
                c = q.tensors[t]
                # PRELU's alpha is int8 under both activation types (TFLM's int16 PRELU takes an int8 alpha)
                dtype = "int8" if op.kind == OpKind.PRELU and t == op.inputs[1] else activations
                params_of = symmetric16_params if dtype == "int16" else ranges.asymmetric_params
                info = np.iinfo(dtype)
                scale, zp = params_of(*ranges.minmax(c.data))
                data = np.clip(_round(c.data / np.float32(scale)) + zp, info.min, info.max).astype(dtype)
                q.tensors[t] = dataclasses.replace(c, dtype=dtype, data=data,
                                                   quant=QuantParams.make(scale, zp))
                done.add(t)


def _quantize_weights(q: Graph, op: ir.Op, axis: int, bias_dtype: str = "int32") -> None:
    """Per-channel symmetric int8 weights (+-127, zp 0) and a bias (int32, or int64 for 16x8) at
    in_scale * w_scale[c]."""
    w = q.tensors[op.inputs[1]]
    data = w.data.astype(np.float64)
    reduce_axes = tuple(i for i in range(data.ndim) if i != axis)
    absmax = np.max(np.abs(data), axis=reduce_axes)
    w_scale = np.where(absmax > 0, absmax / 127.0, 1.0)
    bias_name = op.inputs[2] if len(op.inputs) > 2 else None
    if bias_name is not None and bias_dtype == "int32":
        # A channel with tiny weights but a large (BatchNorm-folded) bias would need a bias beyond int32
        # at in_scale * w_scale: widen that channel's weight scale so |bias| stays within 2^30,
        # leaving 2^30 of headroom for the products (TFLite's converter makes the same adjustment).
        in_scale = np.float64(q.tensors[op.inputs[0]].scale)
        need = np.abs(q.tensors[bias_name].data.astype(np.float64).reshape(-1)) / (in_scale * float(1 << 30))
        w_scale = np.maximum(w_scale, need)
    w_scale = w_scale.astype(np.float32).astype(np.float64)
    shape = [1] * data.ndim
    shape[axis] = -1
    qw = np.clip(_round(data / w_scale.reshape(shape)), -127, 127).astype(np.int8)
    q.tensors[w.name] = dataclasses.replace(w, dtype="int8", data=qw,
                                            quant=QuantParams.make(w_scale, 0, axis))
    if bias_name is None:
        return
    b = q.tensors[bias_name]
    in_scale = q.tensors[op.inputs[0]].scale
    b_scale = np.float64(in_scale) * w_scale
    qb = _round(b.data.astype(np.float64).reshape(-1) / b_scale).reshape(b.data.shape)  # n values, any shape
    info = np.iinfo(bias_dtype)
    qb = np.clip(qb, float(info.min), float(info.max)).astype(bias_dtype)
    q.tensors[bias_name] = dataclasses.replace(b, dtype=bias_dtype, data=qb,
                                               quant=QuantParams.make(b_scale, 0, 0))


_BIAS_SAMPLES = 256  # samples used to measure each layer's mean shift


def _single_op_graph(op: ir.Op, tensors: dict) -> Graph:
    """A float graph holding just `op` (its constants from `tensors`), for re-running one layer."""
    ins = [t for t in op.inputs if t is not None and tensors[t].data is None]
    used = {t for t in op.inputs if t is not None} | set(op.outputs)
    return Graph({k: tensors[k] for k in used}, [op], ins, list(op.outputs))


def _dequantized(t: ir.Tensor) -> ir.Tensor:
    q = t.quant
    scale = np.asarray(q.scale, np.float64)
    if q.axis is not None:
        shape = [1] * t.data.ndim
        shape[q.axis] = -1
        scale = scale.reshape(shape)
    data = ((t.data.astype(np.float64) - np.asarray(q.zero_point).reshape(scale.shape)) * scale).astype(np.float32)
    return dataclasses.replace(t, dtype="float32", data=data, quant=None)


def correct_biases(fgraph: Graph, q: Graph, calib: list) -> None:
    """Empirical bias correction: cancel each layer's mean output shift caused by quantization.

    Layer by layer in execution order, with the int8 network's own (already corrected) activations
    as input, the per-channel mean of (dequantized int8 accumulator - float pre-activation) over
    the calibration samples is subtracted from the int32 bias (Nagel et al., ICCV 2019, the
    empirical variant). Only constants change, so the C and the NumPy reference stay bit-exact.
    """
    from tinygen.lower.base import activation_inputs, lower_op

    n = min(calib[0].shape[0], _BIAS_SAMPLES)
    xs = [c[:n] for c in calib]
    _, fenv = float_ref.run_batch(fgraph, xs, collect=True)
    qenv = {}
    for name, x in zip(q.inputs, xs):
        t = q.tensors[name]
        v = x / np.float32(t.scale)
        v = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + t.zero_point
        info = np.iinfo(t.dtype)
        qenv[name] = np.clip(v, info.min, info.max).astype(t.dtype)
    from tinygen.memory.state import initial_state
    for name, v in initial_state(q).items():  # every sample starts from the reset state
        qenv[name] = np.repeat(v[None], n, axis=0)
    for op in q.ops:
        if op.kind in _WEIGHT_AXIS and len(op.inputs) > 2 and op.inputs[2] is not None:
            _correct_op(fgraph, q, op, qenv, fenv)
        lop = lower_op(op, q)
        names = activation_inputs(op, q)
        outs = [[] for _ in op.outputs]
        for i in range(n):
            sample = [qenv[t][i].reshape(q.tensors[t].shape) for t in names]
            for k, o in enumerate(lop.reference(sample)):
                outs[k].append(np.asarray(o).reshape(q.tensors[op.outputs[k]].shape[1:] or (1,)))
        for k, t in enumerate(op.outputs):
            qenv[t] = np.stack(outs[k]).reshape((n,) + q.tensors[t].shape[1:]).astype(q.tensors[t].dtype)


def _correct_op(fgraph: Graph, q: Graph, op: ir.Op, qenv: dict, fenv: dict) -> None:
    src, w_name, b_name = op.inputs[0], op.inputs[1], op.inputs[2]
    linear = dataclasses.replace(op, attrs=dataclasses.replace(op.attrs, activation=ir.Activation.NONE))
    out = op.outputs[0]
    # float pre-activation on the float network's input
    ft = {src: fgraph.tensors[src], w_name: fgraph.tensors[w_name], b_name: fgraph.tensors[b_name],
          out: fgraph.tensors[out]}
    want = float_ref.run_batch(_single_op_graph(linear, ft), [fenv[src]])[0]
    # the int8 accumulator, dequantized: same layer on dequantized int8 input, weights and bias
    x_q = q.tensors[src]
    deq_in = ((qenv[src].astype(np.float32) - x_q.zero_point) * np.float32(x_q.scale)).astype(np.float32)
    qt = {src: dataclasses.replace(x_q, dtype="float32", quant=None), w_name: _dequantized(q.tensors[w_name]),
          b_name: _dequantized(q.tensors[b_name]), out: dataclasses.replace(q.tensors[out], dtype="float32", quant=None)}
    got = float_ref.run_batch(_single_op_graph(linear, qt), [deq_in])[0]
    channels = want.shape[-1]
    shift = (got.astype(np.float64) - want).reshape(-1, channels).mean(axis=0)
    b = q.tensors[b_name]
    b_scale = np.asarray(b.quant.scale, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fix = _round(shift / b_scale)
    fix = np.clip(np.where(np.isfinite(fix), fix, 0.0), -(2.0 ** 31), 2.0 ** 31)
    info = np.iinfo(b.dtype)  # int32, or int64 for 16x8 (|bias| and the fix stay far below 2^62)
    data = np.clip(b.data.astype(np.int64) - fix.astype(np.int64), info.min, info.max)
    q.tensors[b_name] = dataclasses.replace(b, data=data.astype(b.dtype))
