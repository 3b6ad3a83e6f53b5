"""int8 and 16x8 GRU and RNN (tg_rnn_s8, tg_rnn_s16) against TFLM running the unrolled export, and against
the NumPy reference.

Each case is a float one-op graph (random weights, fixed seed) quantized by tinygen's PTQ; the generated
C, the lowering's NumPy reference and TFLM on the exported .tflite (the cell's steps as TFLite builtins)
must agree byte for byte. Shapes cover both FC paths (depth % 4 == 0: the SMLAD kernel; otherwise the
reference kernel), one unit, one step; options cover both GRU reset forms, RNN tanh / relu,
go_backwards with either output order, return_sequences, and a stateful cell over 60 invokes then reset.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import TinygenError
from tinygen.ir import OpKind, validate
from tinygen.quant import ptq
from tinygen.quant.gru import CellAttrs
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.sequence import compare_sequence
from tinygen.verify.testing import host_model_for, run_reference
from oracle import tflm_interpreter, tflm_run

CASES = {  # kind, steps, features, units, attrs
    "gru_fast": (OpKind.GRU, 6, 8, 12, CellAttrs(return_sequences=True)),
    "gru_odd": (OpKind.GRU, 5, 7, 9, CellAttrs()),
    "gru_before_backwards": (OpKind.GRU, 4, 6, 5, CellAttrs(reset_after=False, go_backwards=True,
                                                            return_sequences=True)),
    "gru_input_order": (OpKind.GRU, 5, 4, 8, CellAttrs(go_backwards=True, return_sequences=True, input_order=True)),
    "gru_one_unit": (OpKind.GRU, 3, 3, 1, CellAttrs(return_sequences=True)),
    "gru_one_step": (OpKind.GRU, 1, 16, 16, CellAttrs()),
    "rnn_tanh": (OpKind.RNN, 7, 5, 6, CellAttrs(return_sequences=True)),
    "rnn_relu_backwards": (OpKind.RNN, 6, 8, 4, CellAttrs("relu", go_backwards=True)),
}


def cell_graph(kind, steps, features, units, attrs, stateful=False, seed=0) -> ir.Graph:
    """A float graph holding one GRU / RNN op with random weights."""
    rng = np.random.default_rng(seed)
    rows = (3 if kind == OpKind.GRU else 1) * units
    consts = {"W": (rows, features), "R": (rows, units), "bx": (rows,), "bh": (rows,)}
    t = {"x": ir.Tensor("x", (1, steps, features), "float32")}
    for name, shape in consts.items():
        scale = 0.5 if name in ("W", "R") else 0.2
        t[name] = ir.Tensor(name, shape, "float32", data=(rng.standard_normal(shape) * scale).astype(np.float32))
    ins = ["x", "W", "R", "bx", "bh"]
    if stateful:
        t["h"] = ir.Tensor("h", (1, units), "float32", data=np.zeros((1, units), np.float32), variable=True)
        ins.append("h")
    shape = (1, steps, units) if attrs.return_sequences else (1, units)
    t["y"] = ir.Tensor("y", shape, "float32")
    op = ir.Op(kind, "cell", ins, ["y"], attrs)
    return ir.Graph(t, [op], ["x"], ["y"], name="cell", source="cell.test")


def quantized(graph: ir.Graph, seed=1, n=48, activations="int8") -> tuple:
    x = np.random.default_rng(seed).standard_normal((n,) + graph.tensors["x"].shape[1:]).astype(np.float32)
    q = ptq.quantize(graph, x, activations=activations)
    validate.check(q)
    xt = q.tensors["x"]
    xq = np.clip(np.round(x / xt.scale) + xt.zero_point, -128, 127).astype(np.int8)
    return q, x, xq


@pytest.mark.parametrize("case", sorted(CASES))
def test_cell_c_equals_reference_and_tflm(case):
    q, _, xq = quantized(cell_graph(*CASES[case]))
    model = host_model_for(q)
    tfl = to_bytes(q)
    lowered = lower(q)
    for i in range(4):
        c = model([xq[i][None]])[0]
        ref = run_reference(q, [xq[i][None]], lowered=lowered)[0]
        tflm = tflm_run(tfl, [xq[i][None]])[0]
        assert np.array_equal(c, ref), f"{case}: C != reference on sample {i}"
        assert np.array_equal(c.reshape(-1), tflm.reshape(-1)), f"{case}: C != TFLM on sample {i}"


def test_device_kernel_path_equals_tflm():
    """The Cortex-M branch of the SMLAD FC (DSP instructions emulated) gives the same bytes."""
    q, _, xq = quantized(cell_graph(*CASES["gru_fast"]))
    model = host_model_for(q, kernel_path="device")
    tfl = to_bytes(q)
    for i in range(3):
        assert np.array_equal(model([xq[i][None]])[0].reshape(-1), tflm_run(tfl, [xq[i][None]])[0].reshape(-1))


def _differing(a, b) -> int:
    return sum(int(np.sum(np.asarray(u).reshape(-1) != np.asarray(v).reshape(-1))) for u, v in zip(a, b))


@pytest.mark.parametrize("kind,seq", [(OpKind.GRU, False), (OpKind.GRU, True), (OpKind.RNN, True)])
def test_stateful_sequence_of_60_then_reset_matches_tflm(kind, seq):
    q, _, xq = quantized(cell_graph(kind, 4, 8, 8, CellAttrs(return_sequences=seq), stateful=True), n=60)
    tfl = to_bytes(q)
    model = host_model_for(q)
    res = compare_sequence(model, q, lower(q), [xq[:, None]], tflm_interpreter(tfl), lambda: tflm_interpreter(tfl),
                           False, _differing)
    assert res == dict(diff_ref=0, diff_tflm=0, reset_diff=0, stateful=True)
    # the state matters: the same samples, each from a fresh state, give other outputs
    model.reset()
    carried = [model([xq[i][None]])[0] for i in range(10)]
    fresh = []
    for i in range(10):
        model.reset()
        fresh.append(model([xq[i][None]])[0])
    assert _differing(carried, fresh) > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_16x8_cell_c_equals_reference_and_tflm(case):
    """16x8: int16 values (zero point 0), int8 weights, int64 biases, tinygen's int16 kernels (tg_rnn_s16)."""
    q, x, _ = quantized(cell_graph(*CASES[case]), activations="int16")
    assert q.tensors["x"].dtype == "int16" and q.tensors["W"].dtype == "int8" and q.tensors["bx"].dtype == "int64"
    xq = np.clip(np.round(x / q.tensors["x"].scale), -32768, 32767).astype(np.int16)
    model, tfl, lowered = host_model_for(q), to_bytes(q), lower(q)
    for i in range(3):
        c = model([xq[i][None]])[0]
        assert np.array_equal(c, run_reference(q, [xq[i][None]], lowered=lowered)[0]), f"{case}: C != reference"
        assert np.array_equal(c.reshape(-1), tflm_run(tfl, [xq[i][None]])[0].reshape(-1)), f"{case}: C != TFLM"


def test_16x8_stateful_sequence_matches_tflm():
    q, x, _ = quantized(cell_graph(OpKind.GRU, 4, 8, 8, CellAttrs(return_sequences=True), stateful=True), n=50,
                        activations="int16")
    xq = np.clip(np.round(x / q.tensors["x"].scale), -32768, 32767).astype(np.int16)
    tfl = to_bytes(q)
    res = compare_sequence(host_model_for(q), q, lower(q), [xq[:, None]], tflm_interpreter(tfl),
                           lambda: tflm_interpreter(tfl), False, _differing)
    assert res == dict(diff_ref=0, diff_tflm=0, reset_diff=0, stateful=True)


def test_bad_weight_shape_is_refused_naming_the_field():
    graph = cell_graph(*CASES["gru_odd"])
    graph.tensors["W"] = ir.Tensor("W", (27, 6), "float32", data=np.zeros((27, 6), np.float32))
    with pytest.raises(TinygenError, match=r"layer 'cell' \(GRU\): input weights 'W' has shape \[27, 6\], "
                                           r"expected \[27, 7\] \(rule: "):
        validate.check(graph)


def test_saved_graph_keeps_the_cell_options(tmp_path):
    """`tinygen verify` / export reload the quantized graph: the options and calibrated steps survive."""
    from tinygen.ir import serialize

    q, _, _ = quantized(cell_graph(*CASES["rnn_relu_backwards"]))
    serialize.save(q, tmp_path)
    (op,) = serialize.load(tmp_path).ops
    assert op.attrs == q.ops[0].attrs and op.attrs.nonlinearity == "relu" and op.attrs.params


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_scratch_size_equals_the_c_twin(activations):
    """The lowering's scratch_bytes equals tg_rnn_s8 / s16_get_buffer_size for the call's own arguments."""
    from tinygen.lower import csig
    from tinygen.lower.base import Literal
    from tinygen.paths import runtime_file, runtime_include_dirs
    from tinygen.verify.hostbuild import build_extension

    lowered = {case: lower(quantized(cell_graph(*CASES[case]), activations=activations)[0])[0]
               for case in ("gru_fast", "gru_before_backwards", "rnn_tanh")}
    twin = next(iter(lowered.values())).c_function + "_get_buffer_size"
    params = csig.signature(twin)
    cdef = f"int32_t {twin}({', '.join(f'int32_t {p.name}' for p in params)});"
    sources = sorted({runtime_file(src) for lop in lowered.values() for src in lop.c_sources})
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef, sources, runtime_include_dirs())
    for case, lop in lowered.items():
        call = {p.name: a.value for p, a in zip(csig.check_call(lop), lop.args) if isinstance(a, Literal)}
        assert lop.scratch_bytes == getattr(lib, twin)(*[int(call[p.name]) for p in params]) > 0, case
