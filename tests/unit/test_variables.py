"""Variable tensors: the persistent state region, reset values, the op order they fix, and `<name>_reset()`.

The graphs are built by hand: READ_VARIABLE / ASSIGN_VARIABLE on one variable make a one-step delay
line (y_t = [x_{t-1}, x_t]), whose expected outputs follow from the semantics alone, not from tinygen's
reference. Real resource-variable models against TFLM are in tests/e2e/test_stateful.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import generate, lower
from tinygen.errors import TinygenError
from tinygen.ir import validate
from tinygen.memory import schedule
from tinygen.memory import state as mstate
from tinygen.verify.testing import host_model_for, run_reference

Q8 = ir.QuantParams.make(0.5, 3)


def delay_graph(dtype: str = "int8", n: int = 4, data=None, quant=Q8) -> ir.Graph:
    """x -> y = concat(previous x, x); the previous x is kept in variable 'v'."""
    q = quant if dtype == "int8" else (ir.QuantParams.make(0.5, 0) if dtype == "int16" else None)
    t = {
        "x": ir.Tensor("x", (1, n), dtype, q),
        "v": ir.Tensor("v", (1, n), dtype, q, data=data, variable=True),
        "r": ir.Tensor("r", (1, n), dtype, q),
        "y": ir.Tensor("y", (1, 2 * n), dtype, q),
    }
    ops = [ir.Op(ir.OpKind.READ_VARIABLE, "read", ["v"], ["r"]),
           ir.Op(ir.OpKind.CONCATENATION, "cat", ["r", "x"], ["y"], ir.ConcatAttrs(axis=1)),
           ir.Op(ir.OpKind.ASSIGN_VARIABLE, "assign", ["v", "x"], [])]
    return ir.Graph(t, ops, ["x"], ["y"], name="delay", source="delay.test")


def expected(xs: np.ndarray, first: np.ndarray) -> list:
    prev, out = first, []
    for x in xs:
        out.append(np.concatenate([prev.reshape(1, -1), x.reshape(1, -1)], axis=1))
        prev = x
    return out


def test_variable_is_not_a_constant_and_validates():
    g = delay_graph(data=np.arange(4, dtype=np.int8).reshape(1, 4))
    assert not g.tensors["v"].is_const
    validate.check(g)
    ir.verify(g, "test")


def test_reset_value_is_data_else_tflm_zero():
    assert mstate.initial_value(delay_graph().tensors["v"]).tolist() == [[3, 3, 3, 3]]  # int8: zero point
    assert mstate.initial_value(delay_graph("int16").tensors["v"]).tolist() == [[0, 0, 0, 0]]
    d = np.array([[1, -2, 3, -4]], np.int8)
    assert mstate.initial_value(delay_graph(data=d).tensors["v"]).tolist() == d.tolist()


def test_variable_planned_outside_the_arena():
    g = delay_graph(n=20)
    res = generate(g, name="delay")
    plan = res.plan
    assert plan.storage["v"] == ("state", 0)
    assert all("v" not in b.tensors for b in plan.buffers)
    assert plan.state_bytes == 32 + 16  # 20 bytes aligned, then the "initialised" word
    assert [s.tensor for s in plan.state] == ["v"]
    c = res.files["delay.c"]
    assert "static uint8_t delay_state[DELAY_STATE_SIZE]" in c and "void delay_reset(void)" in c
    assert "#define DELAY_STATE_SIZE 48" in res.files["delay.h"]
    assert generate(delay_graph(n=20), name="delay").files == res.files  # deterministic


def test_stateless_model_has_no_state_api():
    t = {"x": ir.Tensor("x", (1, 4), "int8", Q8), "y": ir.Tensor("y", (1, 8), "int8", Q8)}
    g = ir.Graph(t, [ir.Op(ir.OpKind.CONCATENATION, "cat", ["x", "x"], ["y"], ir.ConcatAttrs(axis=1))],
                 ["x"], ["y"])
    res = generate(g, name="plain")
    assert res.plan.state_bytes == 0 and not res.plan.state
    assert "_state" not in res.files["plain.c"] and "_reset" not in res.files["plain.h"]


def test_ops_on_one_variable_keep_their_order():
    g = delay_graph()
    lowered = lower(g)
    deps = schedule._deps(g, lowered)
    assert deps[1] == {0} and 1 in deps[2]  # ASSIGN after the read's reader: no data flows between them
    found = schedule.best_order(g, lowered)
    assert found is not None and found[0].index(0) < found[0].index(1) < found[0].index(2)


def ring_graph(order: str) -> ir.Graph:
    """y = concat(v, x), and v := requantize(x) (same scale: x itself), in two op orders."""
    g = delay_graph()
    g.tensors["q"] = ir.Tensor("q", (1, 4), "int8", Q8)
    read, cat = g.ops[0], g.ops[1]
    quant = ir.Op(ir.OpKind.QUANTIZE, "requant", ["x"], ["q"])
    assign = ir.Op(ir.OpKind.ASSIGN_VARIABLE, "assign", ["v", "q"], [])
    if order == "late":  # the value is computed after the old value's last read: into v directly
        g.ops = [read, cat, quant, assign]
    else:  # computed before the concat reads the old value: both copies stay
        cat.inputs = ["r", "q"]
        g.ops = [read, quant, cat, assign]
    return g


@pytest.mark.parametrize("order", ["late", "early"])
def test_copies_are_dropped_only_where_safe(order):
    g = ring_graph(order)
    lowered = {lop.op.kind: lop for lop in lower(g)}
    read, assign = lowered[ir.OpKind.READ_VARIABLE], lowered[ir.OpKind.ASSIGN_VARIABLE]
    if order == "late":
        assert read.alias_of == "v" and assign.alias_of == "q" and not read.c_function and not assign.c_function
        assert generate(g, name="ring").plan.storage["q"] == ("state", 0)
    else:
        assert read.c_function == assign.c_function == "tg_copy_bytes"
    xs = np.random.default_rng(5).integers(-128, 128, size=(6, 1, 4)).astype(np.int8)
    want = expected(xs, mstate.initial_value(g.tensors["v"]))
    model = host_model_for(g, name="ring")
    assert all(np.array_equal(model([x])[0], w) for x, w in zip(xs, want))


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_sequence_carries_state_and_reset_restores_it(dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    xs = rng.integers(info.min, info.max, size=(6, 1, 4), endpoint=True).astype(dtype)
    g = delay_graph(dtype)
    first = mstate.initial_value(g.tensors["v"])
    want = expected(xs, first)
    model = host_model_for(g, name="delay")
    got = [model([x])[0] for x in xs]
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    model.reset()
    again = [model([x])[0] for x in xs[:3]]
    assert all(np.array_equal(a, b) for a, b in zip(again, want[:3]))
    st = mstate.initial_state(g)  # the NumPy reference carries the same state
    lowered = lower(g)
    ref = [run_reference(g, [x], lowered=lowered, state=st)[0] for x in xs]
    assert all(np.array_equal(a, b) for a, b in zip(ref, want))


def test_non_uniform_reset_value_is_copied_in():
    d = np.array([[5, -6, 7, -8]], np.int8)
    g = delay_graph(data=d)
    res = generate(g, name="delay")
    assert "delay_state_init0" in res.files["delay.c"]
    model = host_model_for(g, name="delay")
    x = np.array([[1, 2, 3, 4]], np.int8)
    assert model([x])[0].tolist() == [[5, -6, 7, -8, 1, 2, 3, 4]]
    model([x])
    model.reset()
    assert model([x])[0].tolist() == [[5, -6, 7, -8, 1, 2, 3, 4]]


def test_variable_as_model_output_is_refused():
    g = delay_graph()
    g.outputs = ["y", "v"]
    with pytest.raises(TinygenError, match="variable 'v' is also model input/output"):
        generate(g, name="delay")


def test_assign_of_wrong_size_names_the_layer():
    g = delay_graph()
    g.tensors["x2"] = ir.Tensor("x2", (1, 3), "int8", Q8)
    g.inputs.append("x2")
    g.ops[2] = ir.Op(ir.OpKind.ASSIGN_VARIABLE, "assign", ["v", "x2"], [])
    with pytest.raises(TinygenError, match=r"layer 'assign' \(ASSIGN_VARIABLE\): value 'x2'"):
        validate.check(g)
