"""The Ambiq speech-enhancement model (zoo/ambiq__nnse_lstm_16x8.tflite: conv front-end and an unrolled
16x8 LSTM cell built from SPLIT, UNPACK, STRIDED_SLICE, LOGISTIC, TANH, MUL, ADD and FULLY_CONNECTED):
the generated C and the NumPy reference equal TFLM's interpreter byte for byte on all three outputs,
over 20 inputs. Its gate LOGISTIC / TANH have an input scale near 17, far above the int16 kernels' usual
range: TFLM's int32 rescaling product then wraps, and tinygen's must wrap the same way (checked on
single-op models too)."""
from __future__ import annotations

import numpy as np
import pytest

from layout_models import one_op
from oracle import tflm_run
from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.ir import OpKind
from tinygen.verify.testing import host_model_for, run_reference

MODEL = "zoo/ambiq__nnse_lstm_16x8.tflite"
N_SAMPLES = 20


def _inputs(graph, k: int, rng) -> list:
    """Full int16 range for even samples; a tenth of it (typical activations) for odd ones."""
    span = 32767 if k % 2 == 0 else 3276
    return [rng.integers(-span - 1, span, size=graph.tensors[n].shape, endpoint=True).astype(np.int16)
            for n in graph.inputs]


def test_nnse_lstm_equals_tflm_on_every_output(models_dir):
    path = models_dir / MODEL
    data = path.read_bytes()
    graph = load_model(str(path))
    kinds = {op.kind for op in graph.ops}
    assert {OpKind.STRIDED_SLICE, OpKind.LOGISTIC, OpKind.TANH, OpKind.FULLY_CONNECTED} <= kinds
    lowered = lower(graph)
    model = host_model_for(graph)
    rng = np.random.default_rng(2024)
    wrapped = 0
    for k in range(N_SAMPLES):
        xs = _inputs(graph, k, rng)
        want = tflm_run(data, xs)
        got_c = model(xs)
        got_ref, env = run_reference(graph, xs, lowered, collect=True)
        assert len(want) == len(graph.outputs) == 3
        for j, w in enumerate(want):
            c = np.asarray(got_c[j]).reshape(w.shape)
            r = np.asarray(got_ref[j]).reshape(w.shape)
            assert c.dtype == w.dtype == np.int16
            assert c.tobytes() == w.tobytes(), f"sample {k} output {j}: C differs at {np.argwhere(c != w)[:5]}"
            assert r.tobytes() == w.tobytes(), f"sample {k} output {j}: reference differs"
        for lop in lowered:
            if lop.op.kind in (OpKind.LOGISTIC, OpKind.TANH):
                q = env[lop.op.inputs[0]].astype(np.int64)
                wrapped += int((np.abs(q * lop.notes["input_mult"]) >= 1 << 31).sum())
    assert wrapped > 0, "no sample reached the wrapping rescale: the inputs do not test it"


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", [16.93218421936035, 3.0, 0.7])
def test_int16_sigmoid_with_a_large_input_scale_equals_tflm(op, scale, tmp_path):
    qx = ir.QuantParams.make(scale, 0)
    qy = ir.QuantParams.make(2.0 ** -15, 0)
    data = one_op(op, [("x", (4, 64), "int16", qx, None)], [("y", (4, 64), "int16", qy, None)])
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
    x = np.arange(-32768, 32768, 256, dtype=np.int64).reshape(4, 64).astype(np.int16)
    x[0, :4] = (-32768, 32767, 0, -1)
    (want,) = tflm_run(data, [x])
    (got_c,) = model([x])
    (got_ref,) = run_reference(graph, [x], lowered)
    assert np.asarray(got_c).reshape(want.shape).tobytes() == want.tobytes()
    assert np.asarray(got_ref).reshape(want.shape).tobytes() == want.tobytes()


def test_nnse_lstm_clean_under_sanitizers(models_dir, tmp_path):
    """ASan + UBSan build of the whole model (the wrapping gate rescale included): no report, same bytes."""
    from test_hardening import _inputs as hardening_inputs
    from test_hardening import sanitized_run_equals_normal_builds

    graph = load_model(str(models_dir / MODEL))
    sanitized_run_equals_normal_builds(graph, tmp_path, hardening_inputs(graph, n=6), "portable", "nnse")


@pytest.mark.qemu
def test_nnse_lstm_on_cortex_m4_equals_host_and_tflm(models_dir, tmp_path):
    """Cortex-M4 firmware (-Werror) under QEMU: equal to the host build and to TFLM on 3 inputs."""
    import shutil

    import tinygen

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    assert not missing, f"missing tools {missing}: run `make sysdeps`"
    path = models_dir / MODEL
    out = tmp_path / "nnse"
    result = tinygen.compile(str(path), out, board="cortex-m4", name="nnse")
    shapes = [tuple(i["shape"]) for i in result.report["inputs"]]
    rng = np.random.default_rng(1)
    xs = [np.stack([rng.integers(-32768, 32768, size=s).astype(np.int16) for _ in range(3)]) for s in shapes]
    batch = [x.reshape((3,) + s[1:]) for x, s in zip(xs, shapes)]
    on_target = tinygen.run(out, batch, target="qemu")
    host = tinygen.run(out, batch)
    for a, b in zip(on_target, host):
        assert np.array_equal(a, b)
    for i in range(3):
        for k, w in enumerate(tflm_run(path.read_bytes(), [x[i] for x in xs])):
            assert on_target[k][i].reshape(w.shape).tobytes() == w.tobytes()
