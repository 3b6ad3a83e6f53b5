"""The pad family and its index-remapping cousins, int8 and int16, as single-op .tflite models against TFLM:
MIRROR_PAD (REFLECT, SYMMETRIC), PADV2 with a constant that is not the zero point, REVERSE_V2,
BROADCAST_TO.

Oracle: TFLM's interpreter. TFLM has no int16 MIRROR_PAD; that row is checked against desktop
TFLite's reference kernels (BUILTIN_REF), whose int8 results equal TFLM's on every int8 row here.

Plan: ranks 1..5; paddings zero, one-sided, both sides, up to the mirror limit (size - 1 for REFLECT,
size for SYMMETRIC) on every axis including batch and channels; reversal of one axis, of neighbouring
axes, of every axis; broadcasts from size 1, from missing leading axes, to rank 5; PADV2 constants at the
type's extremes; zero points non-zero for int8 (0 for int16, as 16x8 models have); random inputs over
the full range, all-min and all-max. Each model goes through the TFLite frontend, the C kernel (a
contiguous-row copy and the element loop both occur) and the NumPy reference.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.ops.pad_extra import MirrorPadAttrs, ReverseAttrs
from tinygen.verify import tflite_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

MP, RV, BT, PAD = ir.OpKind.MIRROR_PAD, ir.OpKind.REVERSE_V2, ir.OpKind.BROADCAST_TO, ir.OpKind.PAD


def _grow(shape, pads):
    return tuple(n + b + e for n, (b, e) in zip(shape, pads))


def _mp(shape, pads, mode):
    return (MP, shape, _grow(shape, pads), MirrorPadAttrs(tuple(pads), mode))


def _pv(shape, pads, value):
    return (PAD, shape, _grow(shape, pads), (ir.PadAttrs(tuple(pads)), value))


SHAPED = [  # kind, input shape, output shape, attrs
    _mp((1, 4, 5, 3), ((0, 0), (2, 1), (3, 0), (0, 0)), "REFLECT"),
    _mp((1, 4, 5, 3), ((0, 0), (3, 3), (4, 4), (0, 0)), "REFLECT"),
    _mp((1, 4, 5, 3), ((0, 0), (4, 4), (5, 1), (0, 0)), "SYMMETRIC"),
    _mp((2, 3, 4), ((1, 1), (2, 0), (0, 3)), "SYMMETRIC"),
    _mp((2, 3, 4), ((1, 0), (0, 2), (3, 3)), "REFLECT"),
    _mp((7,), ((6, 6),), "REFLECT"),
    _mp((2, 2, 2, 2, 3), ((0, 1), (1, 0), (0, 0), (2, 2), (0, 0)), "SYMMETRIC"),
    (RV, (2, 3, 4, 5), (2, 3, 4, 5), ReverseAttrs((1, 2))),
    (RV, (2, 3, 4, 5), (2, 3, 4, 5), ReverseAttrs((3,))),
    (RV, (2, 3, 4, 5), (2, 3, 4, 5), ReverseAttrs((0, 1, 2, 3))),
    (RV, (9,), (9,), ReverseAttrs((0,))),
    (RV, (1, 3, 2, 2, 4), (1, 3, 2, 2, 4), ReverseAttrs((1, 2, 3))),
    (BT, (1, 3, 1), (2, 4, 3, 5), ir.NoAttrs()),
    (BT, (3, 1, 2, 1, 4), (3, 5, 2, 3, 4), ir.NoAttrs()),
    (BT, (4,), (3, 2, 4), ir.NoAttrs()),
    (BT, (1, 1, 1, 6), (1, 5, 7, 6), ir.NoAttrs()),
    (BT, (2, 1), (2, 2, 9), ir.NoAttrs()),
    _pv((1, 4, 5, 3), ((0, 0), (2, 1), (0, 3), (0, 0)), "max"),
    _pv((2, 3, 4), ((1, 0), (0, 2), (1, 1)), "min"),
    _pv((1, 5, 6, 2), ((0, 0), (1, 1), (1, 1), (0, 1)), 37),
]
CASES = [(dtype, *c) for dtype in ("int8", "int16") for c in SHAPED]


def _graph(dtype, kind, in_shape, out_shape, attrs) -> ir.Graph:
    q = ir.QuantParams.make(0.05, -5 if dtype == "int8" else 0)
    t = {"x": ir.Tensor("x", in_shape, dtype, q), "y": ir.Tensor("y", out_shape, dtype, q)}
    inputs = ["x"]
    if kind == PAD:  # PADV2: the constant is quantized like the output
        attrs, value = attrs
        info = np.iinfo(np.dtype(dtype))
        value = {"max": info.max, "min": info.min}.get(value, value)
        t["c"] = ir.Tensor("c", (), dtype, q, np.asarray(value, dtype))
        inputs.append("c")
    return ir.Graph(t, [ir.Op(kind, "op", inputs, ["y"], attrs)], ["x"], ["y"], name="pad_ops")


def _samples(shape, dtype, seed) -> list:
    info = np.iinfo(np.dtype(dtype))
    rng = np.random.default_rng(seed)
    xs = [rng.integers(int(info.min), int(info.max), size=shape, endpoint=True).astype(dtype) for _ in range(3)]
    return xs + [np.full(shape, info.min, dtype), np.full(shape, info.max, dtype)]


def _oracle(dtype, kind, data: bytes):
    from oracle import tflm_run

    if kind == MP and dtype == "int16":
        return lambda x: tflite_ref.run(data, [x])[0]
    return lambda x: tflm_run(data, [x])[0]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1].value}-{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_equals_tflm(case, tmp_path):
    dtype, kind, in_shape = case[0], case[1], case[2]
    data = to_bytes(_graph(*case))
    if kind == PAD:
        assert "PADV2" in tflite_ref.builtin_names(data)
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    assert [op.kind for op in graph.ops] == [kind]
    lowered = lower(graph)
    model = host_model_for(graph)
    oracle = _oracle(dtype, kind, data)
    for k, x in enumerate(_samples(in_shape, dtype, 11 + k_case(case))):
        want = oracle(x)
        got_c = np.asarray(model([x])[0]).reshape(want.shape)
        got_ref = np.asarray(run_reference(graph, [x], lowered)[0]).reshape(want.shape)
        assert got_c.dtype == want.dtype and got_c.tobytes() == want.tobytes(), f"sample {k}: C"
        assert got_ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference"


def k_case(case) -> int:
    return CASES.index(case)


def test_int8_mirror_pad_oracles_agree():
    """The int16 MIRROR_PAD oracle (desktop TFLite) equals TFLM on the int8 rows."""
    from oracle import tflm_run

    for case in [c for c in CASES if c[1] == MP and c[0] == "int8"]:
        data = to_bytes(_graph(*case))
        x = _samples(case[2], "int8", 3)[0]
        assert tflm_run(data, [x])[0].tobytes() == tflite_ref.run(data, [x])[0].tobytes()


def test_contiguous_rows_and_element_loop_both_occur():
    plans = [lower(_graph(*c))[0].notes["contiguous_rows"] for c in CASES if c[1] != PAD]
    assert any(plans) and not all(plans)


@pytest.mark.parametrize("mode,pad", [("REFLECT", 4), ("SYMMETRIC", 5)])
def test_mirror_padding_beyond_the_input_is_refused(mode, pad, tmp_path):
    """TFLM's index rule reads outside the input there; tinygen refuses it with one line naming the layer."""
    case = ("int8", *_mp((1, 4, 5, 3), ((0, 0), (pad, 0), (0, 0), (0, 0)), mode))
    path = Path(tmp_path) / "m.tflite"
    path.write_bytes(to_bytes(_graph(*case)))
    with pytest.raises(TinygenError, match=rf"layer 'y' \(MIRROR_PAD\): padding \[{pad}, 0\] of dimension 1"):
        load_model(str(path))


@pytest.mark.parametrize("dtype,oracle", [("int8", "TFLM"), ("int16", "desktop TFLite")])
def test_verify_picks_the_oracle_that_runs_mirror_pad(dtype, oracle, tmp_path):
    """`tinygen verify`: TFLM for int8 MIRROR_PAD, desktop TFLite's reference kernels for int16 (no TFLM
    kernel); bit-exact with both."""
    import tinygen
    from tinygen.verify.compare import verify_out

    case = (dtype, *_mp((1, 4, 5, 3), ((0, 0), (2, 1), (3, 0), (0, 0)), "REFLECT"))
    path = Path(tmp_path) / "m.tflite"
    path.write_bytes(to_bytes(_graph(*case)))
    assert tflite_ref.tflm_unreliable(path.read_bytes()) == ([] if dtype == "int8" else ["MIRROR_PAD"])
    out = Path(tmp_path) / "build"
    tinygen.compile(str(path), out, name="mp")
    result = verify_out(out, samples=3)
    assert result["ok"] and result["oracles"]["tflm"] == 0, result["lines"]
    assert ("desktop TFLite reference kernels" in "\n".join(result["lines"])) == (oracle != "TFLM")


def test_broadcast_to_of_a_constant_is_folded(tmp_path):
    """BROADCAST_TO of a constant (a bias broadcast before an ADD) becomes a constant in the frontend; the
    model still equals TFLM."""
    from oracle import tflm_run

    q = ir.QuantParams.make(0.05, -5)
    t = {"x": ir.Tensor("x", (1, 4, 5, 3), "int8", q),
         "c": ir.Tensor("c", (1, 1, 3), "int8", q, np.array([[[-100, 7, 120]]], np.int8)),
         "b": ir.Tensor("b", (1, 4, 5, 3), "int8", q),
         "y": ir.Tensor("y", (1, 4, 5, 3), "int8", ir.QuantParams.make(0.09, 3))}
    ops = [ir.Op(BT, "bt", ["c"], ["b"], ir.NoAttrs()),
           ir.Op(ir.OpKind.ADD, "add", ["x", "b"], ["y"], ir.ElementwiseAttrs())]
    data = to_bytes(ir.Graph(t, ops, ["x"], ["y"], name="bt_const"))
    path = Path(tmp_path) / "m.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    assert [op.kind for op in graph.ops] == [ir.OpKind.ADD]
    model = host_model_for(graph)
    for x in _samples((1, 4, 5, 3), "int8", 4):
        assert np.asarray(model([x])[0]).tobytes() == tflm_run(data, [x])[0].tobytes()


@pytest.mark.qemu
@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_firmware_under_qemu_equals_tflm(dtype, tmp_path):
    """REVERSE_V2 -> MIRROR_PAD (int8; int16 has no TFLM kernel, so REVERSE_V2 -> PADV2) -> BROADCAST_TO
    as Cortex-M4 firmware (the kernels' DSP build), against TFLM."""
    import shutil

    import tinygen
    from oracle import tflm_run

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    rv = _graph(dtype, RV, (1, 4, 5, 3), (1, 4, 5, 3), ReverseAttrs((1, 2)))
    pad = (_mp((1, 4, 5, 3), ((0, 0), (2, 1), (3, 0), (0, 0)), "SYMMETRIC") if dtype == "int8"
           else _pv((1, 4, 5, 3), ((0, 0), (2, 1), (3, 0), (0, 0)), 1234))
    mid = _graph(dtype, *pad)
    bt = _graph(dtype, BT, (1, 7, 8, 3), (2, 7, 8, 3), ir.NoAttrs())
    g = rv
    g.tensors.update({"m": dataclasses.replace(mid.tensors["y"], name="m"),
                      "z": dataclasses.replace(bt.tensors["y"], name="z")})
    g.tensors.update({k: v for k, v in mid.tensors.items() if k == "c"})
    g.ops += [dataclasses.replace(mid.ops[0], name="pad", inputs=["y"] + mid.ops[0].inputs[1:], outputs=["m"]),
              dataclasses.replace(bt.ops[0], name="bt", inputs=["m"], outputs=["z"])]
    g.outputs = ["z"]
    data = to_bytes(g)
    path = Path(tmp_path) / "chain.tflite"
    path.write_bytes(data)
    out = Path(tmp_path) / "fw"
    tinygen.compile(str(path), out, board="cortex-m4", name="chain")
    xs = _samples((1, 4, 5, 3), dtype, 6)[:3]
    on_target = tinygen.run(out, [np.stack([x[0] for x in xs])], target="qemu")[0]
    for i, x in enumerate(xs):
        (want,) = tflm_run(data, [x])
        assert np.asarray(on_target[i]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {i}"
