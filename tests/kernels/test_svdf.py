"""SVDF (int8, int8 or int16 memory) against TFLM over sequences of invokes.

Each case is a one-op .tflite written by tinygen's own exporter (the op's export rule, the state an
`is_variable` tensor) and read back through the TFLite frontend; TFLM runs it with one interpreter fed
the samples in order, the generated C with one instance, and the lowering's NumPy reference with one
state: all three must agree byte for byte on every step, and `<name>_reset()` must give a fresh
interpreter's outputs again.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.ir import validate
from tinygen.memory.state import initial_state
from tinygen.ops.svdf import SvdfAttrs
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference
from oracle import tflm_interpreter, tflm_run_with

CASES = {  # batch, input_size, filters, rank, memory, state dtype, input zp, state zp, output zp
    "int8_rank1": (1, 12, 6, 1, 5, "int8", -3, 7, -5),
    "int8_rank2_batch2": (2, 9, 8, 2, 4, "int8", 10, -20, 3),
    "int8_memory1": (1, 5, 4, 2, 1, "int8", 0, 0, 0),
    "int16_rank1": (1, 16, 8, 1, 6, "int16", -128, 0, 9),
    "int16_rank2_batch2": (2, 7, 6, 3, 3, "int16", 5, 0, -1),
    # shapes of the SMLAD paths (tg_svdf.h): filters not a multiple of 4, input lengths not a multiple of 4,
    # memory 1 and 2 (no old pair), even and odd memories on both sides of a group of 4, rank > 1
    "int16_memory1_odd": (1, 3, 5, 1, 1, "int16", 7, 0, 4),
    "int16_memory2_rank2": (1, 13, 10, 2, 2, "int16", -9, 0, 0),
    "int16_memory7_batch3": (3, 41, 9, 3, 7, "int16", 1, 0, -7),
    "int8_memory2_rank3": (1, 4, 3, 3, 2, "int8", 0, 11, -2),
    "int8_memory9_rank4": (1, 21, 12, 4, 9, "int8", -1, -4, 6),
    "int8_memory8_batch2": (2, 30, 7, 1, 8, "int8", 127, 0, 1),
}


def svdf_graph(batch, n_in, filters, rank, memory, sdt, in_zp, st_zp, out_zp, seed=0, scales=None):
    rng = np.random.default_rng(seed)
    units = filters // rank
    in_s, wf_s, st_s, wt_s, out_s = scales or (0.05, 0.02, 0.1 if sdt == "int8" else 0.002, 0.01, 0.08)
    q = ir.QuantParams.make
    lo, hi = (-127, 127) if sdt == "int8" else (-32767, 32767)
    bias_s = float(np.float32(st_s) * np.float32(wt_s))
    t = {
        "x": ir.Tensor("x", (batch, n_in), "int8", q(in_s, in_zp)),
        "wf": ir.Tensor("wf", (filters, n_in), "int8", q(wf_s, 0),
                        rng.integers(-127, 128, (filters, n_in)).astype(np.int8)),
        "wt": ir.Tensor("wt", (filters, memory), sdt, q(wt_s, 0),
                        rng.integers(lo, hi + 1, (filters, memory)).astype(sdt)),
        "b": ir.Tensor("b", (units,), "int32", q(bias_s, 0),
                       rng.integers(-5000, 5000, units).astype(np.int32)),
        "s": ir.Tensor("s", (batch, memory * filters), sdt, q(st_s, st_zp), variable=True),
        "y": ir.Tensor("y", (batch, units), "int8", q(out_s, out_zp)),
    }
    op = ir.Op(ir.OpKind.SVDF, "svdf", ["x", "wf", "wt", "b", "s"], ["y"], SvdfAttrs(rank))
    return ir.Graph(t, [op], ["x"], ["y"], name="svdf", source="svdf.test")


@pytest.mark.parametrize("kernel_path", ["portable", "device"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_svdf_sequence_matches_tflm(case, kernel_path, tmp_path):
    """portable: the plain C branch; device: the Cortex-M branch with its DSP instructions emulated."""
    spec = CASES[case]
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(to_bytes(svdf_graph(*spec)))
    g = load_model(str(path))
    assert g.ops[0].kind == ir.OpKind.SVDF and g.tensors["s"].variable
    batch, n_in = spec[0], spec[1]
    xs = np.random.default_rng(1).integers(-128, 128, (25, batch, n_in)).astype(np.int8)
    xs[10] = -128
    xs[11] = 127
    interp = tflm_interpreter(path)
    want = [tflm_run_with(interp, [x])[0] for x in xs]
    assert len({w.tobytes() for w in want}) > 5
    model = host_model_for(g, name="svdf", kernel_path=kernel_path)
    state, lowered = initial_state(g), lower(g)
    for k, x in enumerate(xs):
        got = model([x])[0]
        ref = run_reference(g, [x], lowered=lowered, state=state)[0]
        np.testing.assert_array_equal(got, want[k], err_msg=f"step {k}: C vs TFLM")
        np.testing.assert_array_equal(ref, want[k], err_msg=f"step {k}: NumPy reference vs TFLM")
    model.reset()
    for k in range(4):
        np.testing.assert_array_equal(model([xs[k]])[0], want[k], err_msg=f"after reset, step {k}")


@pytest.mark.parametrize("kernel_path", ["portable", "device"])
def test_svdf_saturating_state_matches_tflm(kernel_path, tmp_path):
    """Scales that drive the new state column into its clamp (and the zero point added before it)."""
    g0 = svdf_graph(1, 20, 4, 1, 3, "int8", 0, 100, 0, seed=3, scales=(0.5, 0.5, 0.01, 0.01, 0.05))
    path = tmp_path / "sat.tflite"
    path.write_bytes(to_bytes(g0))
    g = load_model(str(path))
    xs = np.random.default_rng(2).integers(-128, 128, (12, 1, 20)).astype(np.int8)
    interp = tflm_interpreter(path)
    model = host_model_for(g, name="svdf", kernel_path=kernel_path)
    for x in xs:
        np.testing.assert_array_equal(model([x])[0], tflm_run_with(interp, [x])[0])


def test_svdf_refusals_name_the_layer():
    g = svdf_graph(*CASES["int8_rank1"])
    g.tensors["s"].variable = False
    with pytest.raises(TinygenError, match=r"layer 'svdf' \(SVDF\): reads 's', which is neither"):
        validate.check(g)
    g.inputs.append("s")  # a state fed from outside is not TFLM's SVDF either
    with pytest.raises(TinygenError, match=r"layer 'svdf' \(SVDF\): the activation state 's' must be a variable"):
        validate.check(g)
    g = svdf_graph(*CASES["int8_rank1"])
    g.tensors["b"].quant = ir.QuantParams.make(0.5, 0)
    with pytest.raises(TinygenError, match="bias scale 0.5 is not state scale"):
        validate.check(g)
    g = svdf_graph(*CASES["int8_rank1"])
    g.tensors["wt"] = ir.Tensor("wt", (6, 5), "int16", ir.QuantParams.make(0.01, 0), np.zeros((6, 5), np.int16))
    with pytest.raises(TinygenError, match="weights_time is int16 and the state int8"):
        validate.check(g)


@pytest.mark.parametrize("case", ["int8_rank2_batch2", "int16_rank1"])
def test_svdf_clean_under_sanitizers(case, tmp_path):
    """ASan + UBSan: the shift, the wrapped sums and the narrowing of the new state column are defined C."""
    from test_hardening import sanitized_run_equals_normal_builds

    spec = CASES[case]
    g = svdf_graph(*spec, scales=(0.5, 0.5, 0.01, 0.01, 0.05) if spec[5] == "int8" else None)
    xs = np.random.default_rng(4).integers(-128, 128, (15, spec[0], spec[1])).astype(np.int8)
    sanitized_run_equals_normal_builds(g, tmp_path, [[x] for x in xs], "portable", case)


@pytest.mark.qemu
def test_svdf_firmware_under_qemu_equals_tflm(tmp_path):
    import shutil

    import tinygen

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    spec = CASES["int16_rank2_batch2"]
    path = tmp_path / "svdf.tflite"
    path.write_bytes(to_bytes(svdf_graph(*spec)))
    out = tmp_path / "out"
    tinygen.compile(str(path), out, board="cortex-m4", name="svdf", measure_stack=False, compare_tflm_arena=False)
    xs = np.random.default_rng(6).integers(-128, 128, (10, spec[0], spec[1])).astype(np.int8)
    interp = tflm_interpreter(path)
    want = np.stack([tflm_run_with(interp, [x])[0] for x in xs])
    np.testing.assert_array_equal(tinygen.run(out, [xs], target="qemu")[0], want)
