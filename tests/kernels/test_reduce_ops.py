"""Reductions (MEAN, SUM, REDUCE_MAX, REDUCE_MIN), ARG_MAX / ARG_MIN and CUMSUM as single-operator .tflite
models written with tinygen's flatbuffer writer (raw operands: negative and repeated axes, both keep_dims,
ranks 1-5, int8 and int16 where TFLM runs them): the generated C and the NumPy reference must equal TFLM's
interpreter byte for byte, on random inputs over the full range, the extremes and tie-heavy inputs."""
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
    """Two random samples over the full range, all-min, all-max, then two over {-2..2} (ties)."""
    out = []
    for mode in ("rand", "rand", "min", "max", "ties", "ties"):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            info = np.iinfo(np.dtype(t.dtype))
            if mode == "rand":
                v = rng.integers(info.min, info.max, size=t.shape, endpoint=True)
            elif mode == "ties":
                v = rng.integers(-2, 2, size=t.shape, endpoint=True)
            else:
                v = np.full(t.shape, info.min if mode == "min" else info.max)
            xs.append(v.astype(t.dtype))
        out.append(xs)
    return out


def check(data: bytes, tmp_path, name: str = "m") -> list:
    """C and the lowering's reference equal TFLM on every sample; returns the lowered ops."""
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
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


def reduce_model(opname: str, shape: tuple, axes: list, keep: bool, dtype: str, qx, qy) -> bytes:
    rank = len(shape)
    norm = {a % rank for a in axes}
    out = tuple(1 if d in norm else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in norm)
    return one_op(opname, [("x", shape, dtype, qx, None), ("axes", (len(axes),), "int32", None, np.array(axes, np.int32))],
                  [("y", out, dtype, qy, None)], "ReducerOptions", (("KeepDims", keep),))


# (shape, axes as written in the model)
AXES = [
    ((7,), [0]),
    ((4, 9), [1]),
    ((4, 9), [-2]),
    ((3, 5, 6), [0, 2]),
    ((3, 5, 6), [2, -1, 2]),
    ((1, 6, 7, 5), [1, 2]),
    ((2, 6, 7, 5), [0, 1, 2]),
    ((2, 3, 4, 5), [0, 1, 2, 3]),
    ((2, 3, 4, 5), [3, 1]),
    ((2, 3, 4, 5, 3), [1, 3]),
    ((2, 3, 4, 5, 3), [0, 2, 4]),
    ((2, 3, 2, 5, 3), [-1, -2, -3, -4, -5]),
]
# (input quant, output quant) per dtype: shared, rescaled down and up, zero points at the edges
QUANTS = {
    "int8": [(Q(0.05, 3), Q(0.05, 3)), (Q(0.02, -7), Q(0.3, 11)), (Q(0.4, 120), Q(0.01, -128))],
    "int16": [(Q(0.002, 0), Q(0.002, 0)), (Q(0.001, 0), Q(0.01, 0)), (Q(0.01, 0), Q(0.0007, 0))],
}


@pytest.mark.parametrize("opname", ["MEAN", "SUM"])
@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("case", range(len(AXES)))
def test_mean_sum_equal_tflm(opname, dtype, case, tmp_path):
    shape, axes = AXES[case]
    for k, (qx, qy) in enumerate(QUANTS[dtype]):
        check(reduce_model(opname, shape, axes, (case + k) % 2 == 0, dtype, qx, qy), tmp_path, f"r{k}")


@pytest.mark.parametrize("opname", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("case", range(len(AXES)))
def test_max_min_equal_tflm(opname, case, tmp_path):
    shape, axes = AXES[case]
    for keep in (False, True):
        check(reduce_model(opname, shape, axes, keep, "int8", Q(0.1, -5), Q(0.1, -5)), tmp_path)


@pytest.mark.parametrize("opname", ["SUM", "MEAN"])
def test_long_sum_wraps_like_tflm(opname, tmp_path):
    """int16 SUM / MEAN of 2^17 values: the int32 sum wraps in TFLM, and identically in tinygen."""
    qy = Q(1000.0, 0) if opname == "SUM" else Q(0.001, 0)  # outputs in range: a wrapped sum flips their sign
    lowered = check(reduce_model(opname, (1, 1 << 17), [1], False, "int16", Q(0.001, 0), qy), tmp_path)
    assert lowered[0].c_function == "tg_reduce_s16"


def test_max_with_rescale_is_refused(tmp_path):
    data = reduce_model("REDUCE_MAX", (2, 4), [1], False, "int8", Q(0.1, 0), Q(0.2, 0))
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    with pytest.raises(TinygenError, match=r"REDUCE_MAX.*quantiz"):
        lower(load_model(str(path)))


# ---- ARG_MAX / ARG_MIN -------------------------------------------------------------------------


@pytest.mark.parametrize("opname", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("shape,axis", [((9,), 0), ((3, 8), 1), ((3, 8), -2), ((2, 5, 6), 1), ((2, 4, 5, 6), -1),
                                        ((2, 4, 5, 6), 0), ((1, 3, 3, 20), 3)])
def test_arg_equal_tflm(opname, shape, axis, tmp_path):
    out = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
    table = "ArgMaxOptions" if opname == "ARG_MAX" else "ArgMinOptions"
    data = one_op(opname, [("x", shape, "int8", Q(0.1, 4), None), ("axis", (1,), "int32", None, np.array([axis], np.int32))],
                  [("y", out, "int32", None, None)], table, (("OutputType", 2),))
    check(data, tmp_path)


# ---- CUMSUM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,axis", [((10,), 0), ((3, 7), 1), ((3, 7), -2), ((2, 3, 4, 5), 2), ((2, 3, 4, 40), 3)])
@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_cumsum_equal_tflm(shape, axis, exclusive, reverse, tmp_path):
    """Output scales from 2^-20 * 2 in_scale (smallest TFLM accepts) to coarse; a 40-long axis wraps the
    int32 accumulator on full-range inputs (TFLM's and tinygen's wrap the same)."""
    for k, (qx, qy) in enumerate([(Q(0.1, 0), Q(0.5, 0)), (Q(0.05, -20), Q(0.4, 7)), (Q(0.2, 127), Q(3.0, -128))]):
        data = one_op("CUMSUM", [("x", shape, "int8", qx, None), ("axis", (), "int32", None, np.array(axis, np.int32))],
                      [("y", shape, "int8", qy, None)], "CumsumOptions", (("Exclusive", exclusive), ("Reverse", reverse)))
        check(data, tmp_path, f"c{k}")


# ---- TF's converter ----------------------------------------------------------------------------


def test_keras_reductions_through_tf_converter_equal_tflm(tmp_path):
    """keras.ops.sum / max / min / mean on a fixed-batch input, int8 through TF's converter (which writes SUM,
    REDUCE_MAX, REDUCE_MIN, MEAN with its own quantization choices)."""
    import keras

    from tfconvert import convert

    x = keras.Input((6, 8), batch_size=1)
    outs = [keras.ops.sum(x, axis=-1, keepdims=True), keras.ops.max(x, axis=1), keras.ops.min(x, axis=(1, 2)),
            keras.ops.mean(x, axis=1, keepdims=True)]
    data = convert(keras.Model(x, outs), np.random.default_rng(0).normal(size=(32, 6, 8)))
    lowered = check(data, tmp_path)
    assert sorted(lop.op.kind.value for lop in lowered) == ["MEAN", "REDUCE_MAX", "REDUCE_MIN", "SUM"]


def test_export_rules_write_what_tflm_runs(tmp_path):
    """tinygen's export rules (SUM / REDUCE_MAX / REDUCE_MIN / ARG_MIN / CUMSUM written back from the IR) give
    models TFLM runs to the same bytes as the originals, and tinygen's C equals TFLM on them."""
    from tinygen.verify.export_tflite import to_bytes

    q8 = Q(0.05, 3)
    models = [reduce_model("SUM", (2, 3, 4), [-1, 0], True, "int16", Q(0.002, 0), Q(0.01, 0)),
              reduce_model("REDUCE_MAX", (2, 3, 4), [1], False, "int8", q8, q8),
              reduce_model("REDUCE_MIN", (2, 3, 4), [0, 2], True, "int8", q8, q8),
              one_op("ARG_MIN", [("x", (3, 5), "int8", q8, None), ("axis", (1,), "int32", None, np.array([-1], np.int32))],
                     [("y", (3,), "int32", None, None)], "ArgMinOptions", (("OutputType", 2),)),
              one_op("CUMSUM", [("x", (3, 5), "int8", q8, None), ("axis", (), "int32", None, np.array(0, np.int32))],
                     [("y", (3, 5), "int8", Q(0.2, -1), None)], "CumsumOptions", (("Exclusive", True), ("Reverse", True)))]
    for k, data in enumerate(models):
        path = tmp_path / f"orig{k}.tflite"
        path.write_bytes(data)
        again = to_bytes(load_model(str(path)))
        rng = np.random.default_rng(k)
        graph = load_model(str(path))
        for xs in _samples(graph, rng):
            want = tflm_run_with(tflm(data), xs, 1)[0]
            got = tflm_run_with(tflm(again), xs, 1)[0]
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), f"model {k}"
        check(again, tmp_path, f"again{k}")


def test_in_place_chain_equals_tflm(tmp_path):
    """CUMSUM -> CUMSUM -> SUM -> REDUCE_MAX: the second CUMSUM and the SUM write over their arena inputs (the
    planner honours the in-place declarations), and the chain still equals TFLM."""
    from layout_models import ops_model
    from tinygen.memory.plan import plan

    q1, q2, q3 = Q(0.05, 3), Q(0.5, -2), Q(2.0, 1)
    ax = [("a0", (), "int32", None, np.array(1, np.int32)), ("a1", (1,), "int32", None, np.array([-1], np.int32)),
          ("a2", (1,), "int32", None, np.array([0], np.int32))]
    tensors = [("x", (4, 6, 5), "int8", q1, None), ("c1", (4, 6, 5), "int8", q2, None),
               ("c2", (4, 6, 5), "int8", q3, None), ("s", (6, 5), "int8", q3, None), ("m", (6,), "int8", q3, None)] + ax
    cs = ("CumsumOptions", (("Exclusive", False), ("Reverse", False)))
    ops = [("CUMSUM", ["x", "a0"], ["c1"]) + cs, ("CUMSUM", ["c1", "a0"], ["c2"], cs[0], (("Exclusive", True),
                                                                                         ("Reverse", True))),
           ("SUM", ["c2", "a2"], ["s"], "ReducerOptions", (("KeepDims", False),)),  # a leading axis, in place
           ("REDUCE_MAX", ["s", "a1"], ["m"], "ReducerOptions", (("KeepDims", False),))]
    data = ops_model(tensors, ops, ["x"], ["m"])
    check(data, tmp_path)
    path = tmp_path / "chain.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    assert plan(graph, lower(graph)).inplace == [1, 2]  # op 3 writes the model output


def _unsupported_models() -> dict:
    q = Q(0.1, 0)
    axis = ("axis", (1,), "int32", None, np.array([1], np.int32))
    return {
        "REDUCE_MAX": reduce_model("REDUCE_MAX", (2, 4), [1], False, "int16", q, q),  # TFLM: int8 only
        "ARG_MAX": one_op("ARG_MAX", [("x", (3, 5), "int8", q, None), axis], [("y", (3,), "int64", None, None)],
                          "ArgMaxOptions", (("OutputType", 4),)),  # TFLM: int32 indices only
        "ARG_MIN": one_op("ARG_MIN", [("x", (3, 5), "int16", q, None), axis], [("y", (3,), "int32", None, None)],
                          "ArgMinOptions", (("OutputType", 2),)),
        "CUMSUM": one_op("CUMSUM", [("x", (3, 5), "int16", q, None), ("axis", (), "int32", None, np.array(1, np.int32))],
                         [("y", (3, 5), "int16", q, None)], "CumsumOptions", (("Exclusive", False), ("Reverse", False))),
        "REDUCE_PROD": one_op("REDUCE_PROD", [("x", (3, 5), "int8", q, None), axis], [("y", (3,), "int8", q, None)],
                              "ReducerOptions", (("KeepDims", False),)),  # no TFLM kernel
    }


@pytest.mark.parametrize("opname", sorted(_unsupported_models()))
def test_forms_tflm_does_not_run_are_refused_in_one_line(opname, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(_unsupported_models()[opname])
    with pytest.raises(TinygenError) as err:
        lower(load_model(str(path)))
    msg = str(err.value)
    assert "layer 'y'" in msg and opname in msg and "\n" not in msg, msg
