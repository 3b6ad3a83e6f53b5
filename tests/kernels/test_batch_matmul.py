"""BATCH_MATMUL as single-operator .tflite models written with tinygen's flatbuffer writer: int8 (zero points
anywhere in range, rescales below and above one) and int16, adj_x / adj_y, ranks 2-5 with broadcast batch
dimensions, the right operand an activation or a constant. The generated C (portable and SIMD-emulated builds)
and the NumPy reference must equal TFLM's interpreter byte for byte."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from layout_models import one_op
from single_op import tflm
from oracle import num_outputs, tflm_run_with
from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.verify.testing import host_model_for, run_reference

Q = ir.QuantParams.make


def _samples(graph, rng) -> list:
    out = []
    for mode in ("rand", "rand", "min", "max", "mix"):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            info = np.iinfo(np.dtype(t.dtype))
            if mode == "rand":
                v = rng.integers(info.min, info.max, size=t.shape, endpoint=True)
            elif mode == "mix":
                v = rng.choice([info.min, info.max, 0, -1], size=t.shape)
            else:
                v = np.full(t.shape, info.min if mode == "min" else info.max)
            xs.append(v.astype(t.dtype))
        out.append(xs)
    return out


def check(data: bytes, tmp_path, name: str = "m", emulate_dsp: bool = False) -> list:
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph, kernel_path="device" if emulate_dsp else "portable")
    rng = np.random.default_rng(zlib.crc32(data))
    interp, n_out = tflm(data), num_outputs(data)
    for k, xs in enumerate(_samples(graph, rng)):
        want = tflm_run_with(interp, xs, n_out)
        got_c, got_ref = model(xs), run_reference(graph, xs, lowered)
        for j, w in enumerate(want):
            c = np.asarray(got_c[j]).reshape(w.shape)
            r = np.asarray(got_ref[j]).reshape(w.shape)
            assert c.dtype == w.dtype and c.tobytes() == w.tobytes(), \
                f"sample {k}: C != TFLM at {np.argwhere(c != w)[:4].tolist()}"
            assert r.tobytes() == w.tobytes(), f"sample {k}: reference != TFLM at {np.argwhere(r != w)[:4].tolist()}"
    return lowered


def bmm_model(lhs: tuple, rhs: tuple, adj_x: bool, adj_y: bool, dtype: str, quants: tuple, rhs_data=None) -> bytes:
    a = lhs[-1] if adj_x else lhs[-2]
    c = rhs[-2] if adj_y else rhs[-1]
    n = max(len(lhs), len(rhs)) - 2
    lb = (1,) * (n - len(lhs) + 2) + tuple(lhs[:-2])
    rb = (1,) * (n - len(rhs) + 2) + tuple(rhs[:-2])
    out = tuple(max(p, q) for p, q in zip(lb, rb)) + (a, c)
    qx, qw, qy = quants
    return one_op("BATCH_MATMUL", [("x", lhs, dtype, qx, None), ("w", rhs, dtype, qw, rhs_data)],
                  [("y", out, dtype, qy, None)], "BatchMatMulOptions", (("AdjX", adj_x), ("AdjY", adj_y)))


# (lhs shape, rhs shape) as stored without adj flags; adj flags swap the last two dims of the stored shapes
SHAPES = [
    ((3, 5), (5, 4)),
    ((1, 16, 32), (1, 32, 16)),
    ((2, 3, 7), (2, 7, 5)),
    ((2, 3, 7), (7, 6)),
    ((4, 6), (3, 6, 5)),
    ((2, 1, 3, 8), (1, 4, 8, 3)),
    ((3, 2, 5, 9), (2, 9, 2)),
    ((2, 3, 5, 9), (2, 1, 9, 2)),
    ((2, 1, 2, 3, 5), (1, 2, 1, 5, 3)),
    ((1, 1, 13), (1, 13, 1)),
]
QUANT8 = [(Q(0.05, -3), Q(0.02, 5), Q(0.3, 7)), (Q(0.1, -128), Q(0.07, 127), Q(0.01, -20)),
          (Q(0.5, 10), Q(0.5, -10), Q(0.05, 0))]
QUANT16 = [(Q(0.001, 0), Q(0.002, 0), Q(0.01, 0)), (Q(0.02, 0), Q(0.01, 0), Q(0.0001, 0))]


def _stored(shape: tuple, adj: bool) -> tuple:
    return tuple(shape[:-2]) + (shape[-1], shape[-2]) if adj else tuple(shape)


@pytest.mark.parametrize("case", range(len(SHAPES)))
@pytest.mark.parametrize("adj_x,adj_y", [(False, False), (True, False), (False, True), (True, True)])
def test_int8_activation_operands_equal_tflm(case, adj_x, adj_y, tmp_path):
    lhs, rhs = SHAPES[case]
    for k, quants in enumerate(QUANT8[:2] if case % 2 else QUANT8[1:]):
        data = bmm_model(_stored(lhs, adj_x), _stored(rhs, adj_y), adj_x, adj_y, "int8", quants)
        check(data, tmp_path, f"q{k}", emulate_dsp=bool(k % 2))


@pytest.mark.parametrize("case", [0, 2, 3, 5, 7])
@pytest.mark.parametrize("adj_y", [False, True])
def test_int8_constant_rhs_equal_tflm(case, adj_y, tmp_path):
    lhs, rhs = SHAPES[case]
    stored = _stored(rhs, adj_y)
    w = np.random.default_rng(case).integers(-128, 128, size=stored).astype(np.int8)
    data = bmm_model(lhs, stored, False, adj_y, "int8", QUANT8[0], rhs_data=w)
    lowered = check(data, tmp_path, emulate_dsp=adj_y)
    assert lowered[-1].notes["rhs_const"] and lowered[-1].scratch_bytes == 0


@pytest.mark.parametrize("case", range(len(SHAPES)))
@pytest.mark.parametrize("adj_x,adj_y", [(False, False), (True, True), (True, False)])
def test_int16_equal_tflm(case, adj_x, adj_y, tmp_path):
    lhs, rhs = SHAPES[case]
    for k, quants in enumerate(QUANT16):
        check(bmm_model(_stored(lhs, adj_x), _stored(rhs, adj_y), adj_x, adj_y, "int16", quants), tmp_path, f"q{k}")


def test_int16_constant_rhs_equal_tflm(tmp_path):
    w = np.random.default_rng(3).integers(-32768, 32768, size=(2, 7, 5)).astype(np.int16)
    check(bmm_model((2, 3, 7), (2, 7, 5), False, False, "int16", QUANT16[0], rhs_data=w), tmp_path)


def test_mixed_types_are_refused(tmp_path):
    path = tmp_path / "m.tflite"
    bad = one_op("BATCH_MATMUL", [("x", (2, 3), "int8", Q(0.1, 0), None), ("w", (3, 2), "int8", Q(0.1, 0), None)],
                 [("y", (2, 2), "int16", Q(0.1, 0), None)], "BatchMatMulOptions", (("AdjX", False), ("AdjY", False)))
    path.write_bytes(bad)
    with pytest.raises(TinygenError, match=r"BATCH_MATMUL.*int8"):
        lower(load_model(str(path)))


def test_keras_matmul_through_tf_converter_equal_tflm(tmp_path):
    """keras.ops.matmul of two activations (an attention-sized 1x16x32 @ 1x32x16), int8 through TF's converter."""
    import keras

    from tfconvert import convert_multi

    a, b = keras.Input((16, 32), batch_size=1, name="a"), keras.Input((32, 16), batch_size=1, name="b")
    rng = np.random.default_rng(1)
    data = convert_multi(keras.Model([a, b], keras.ops.matmul(a, b)),
                         [rng.normal(size=(32, 16, 32)), rng.normal(size=(32, 32, 16))])
    lowered = check(data, tmp_path, emulate_dsp=True)
    assert [lop.op.kind.value for lop in lowered] == ["BATCH_MATMUL"]


def test_export_rule_writes_what_tflm_runs(tmp_path):
    """BATCH_MATMUL written back from the IR (adj flags, a constant right operand) runs in TFLM to the same bytes
    as the original, and tinygen's C equals TFLM on it."""
    from tinygen.verify.export_tflite import to_bytes

    w = np.random.default_rng(5).integers(-128, 128, size=(2, 5, 7)).astype(np.int8)
    models = [bmm_model((2, 7, 3), (2, 5, 7), True, True, "int8", QUANT8[0], rhs_data=w),
              bmm_model((2, 3, 5), (5, 4), False, False, "int16", QUANT16[0])]
    for k, data in enumerate(models):
        path = tmp_path / f"orig{k}.tflite"
        path.write_bytes(data)
        graph = load_model(str(path))
        again = to_bytes(graph)
        for xs in _samples(graph, np.random.default_rng(k)):
            want = tflm_run_with(tflm(data), xs, 1)[0]
            got = tflm_run_with(tflm(again), xs, 1)[0]
            assert got.tobytes() == want.tobytes(), f"model {k}"
        check(again, tmp_path, f"again{k}")


@pytest.mark.qemu
@pytest.mark.parametrize("form", ["activation", "constant"])
def test_int8_firmware_on_cortex_m4_equals_tflm(form, tmp_path):
    """The device kernel path (inline assembly: LDMIA, SXTB16, SMLAD) as Cortex-M4 firmware under QEMU: an
    attention-sized 1x16x32 @ 1x32x16 and a depth-35 product (tail values), equal to TFLM on 4 inputs."""
    import shutil

    import tinygen

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    assert not missing, f"missing tools {missing}: run `make sysdeps`"
    for k, (lhs, rhs) in enumerate([((1, 16, 32), (1, 32, 16)), ((2, 3, 35), (35, 6))]):
        w = np.random.default_rng(k).integers(-128, 128, size=rhs).astype(np.int8) if form == "constant" else None
        data = bmm_model(lhs, rhs, False, False, "int8", QUANT8[k], rhs_data=w)
        path = tmp_path / f"m{k}.tflite"
        path.write_bytes(data)
        out = tmp_path / f"out{k}"
        tinygen.compile(str(path), out, board="cortex-m4", name="bmm")
        graph = load_model(str(path))
        samples = _samples(graph, np.random.default_rng(k))[:4]
        batches = []
        for i, name in enumerate(graph.inputs):
            shape = graph.tensors[name].shape  # the runner takes (N, *shape[1:]) when the batch is 1
            batches.append(np.stack([s[i].reshape(shape[1:] if shape[0] == 1 else shape) for s in samples]))
        on_target = tinygen.run(out, batches, target="qemu")[0]
        interp = tflm(data)
        for j, xs in enumerate(samples):
            want = tflm_run_with(interp, xs, 1)[0]
            assert np.asarray(on_target[j]).reshape(want.shape).tobytes() == want.tobytes(), f"product {k}, sample {j}"
