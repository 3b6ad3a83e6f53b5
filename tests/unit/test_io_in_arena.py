"""The io_in_arena build option: model inputs and outputs planned into the arena with the other tensors.

Planner: an input is an arena buffer live from the first op to its last reader, an output from its
writer to the end, no two live buffers overlap, and the default plan keeps the caller's buffers.
Codegen: the default C is unchanged (tests/golden), the arena build adds the pointer API and offsets.
"""
from __future__ import annotations

import pytest

from tinygen.compiler import generate, load_model, lower
from tinygen.memory import plan as planner
from tinygen.memory import schedule
from tinygen.options import CompileOptions, OptionError
from oracle import INT8_MODELS


def _plans(path):
    graph = load_model(path)
    lowered = lower(graph)
    g1, l1 = schedule.optimize(graph, lowered)
    g2, l2 = schedule.optimize(graph, lowered, io_in_arena=True)
    return (g1, l1, planner.plan(g1, l1)), (g2, l2, planner.plan(g2, l2, io_in_arena=True))


@pytest.mark.parametrize("key", ["hello_world", "ad", "kws", "micro_speech"])
def test_inputs_and_outputs_become_arena_buffers(key, models_dir):
    (g1, l1, default), (g2, l2, arena) = _plans(models_dir / INT8_MODELS[key])
    assert not default.io_in_arena and arena.io_in_arena
    assert default.storage[g1.inputs[0]] == ("input", 0) and default.storage[g1.outputs[0]] == ("output", 0)
    names = list(g2.inputs) + list(g2.outputs)
    for name in names:
        kind, offset = arena.storage[name]
        assert kind == "arena" and offset % planner.ALIGN == 0
        assert offset + g2.tensors[name].nbytes <= arena.arena_bytes
    by_tensor = {t: b for b in arena.buffers for t in b.tensors}
    for name in g2.inputs:
        assert by_tensor[name].first == 0  # written by the caller before the first op
    for name in g2.outputs:
        assert by_tensor[name].last == len(l2) - 1  # read by the caller after the last op
    planner.check(arena.buffers)
    io = sum(planner.align(g2.tensors[t].nbytes) for t in names)
    assert default.arena_bytes <= arena.arena_bytes <= default.arena_bytes + io


def test_the_input_shares_bytes_once_dead(models_dir):
    """person_detect: the 9,216-byte input fits inside the arena the activations need anyway."""
    (_, _, default), (g2, _, arena) = _plans(models_dir / INT8_MODELS["person_detect"])
    assert g2.tensors[g2.inputs[0]].nbytes == 9216
    assert arena.arena_bytes == default.arena_bytes


def test_memory_stage_setting_is_scoped():
    assert planner._io_flag(None) is False
    with planner.io_in_arena(True):
        assert planner._io_flag(None) is True
        assert planner._io_flag(False) is False
    assert planner._io_flag(None) is False


def test_generated_api(models_dir):
    graph = load_model(models_dir / INT8_MODELS["kws"])
    default = generate(graph, name="kws")
    arena = generate(graph, name="kws", io_in_arena=True)
    again = generate(graph, name="kws", io_in_arena=True)
    assert arena.files == again.files  # deterministic
    h, c = arena.files["kws.h"], arena.files["kws.c"]
    for decl in ("int8_t *kws_input(void);", "int8_t *kws_output(void);", "void *kws_input_at(int32_t index);",
                 "void *kws_output_at(int32_t index);", "int kws_run(void);", "#define KWS_IO_IN_ARENA 1"):
        assert decl in h
        assert decl not in default.files["kws.h"]
    off = arena.plan.storage[graph.inputs[0]][1]
    assert f"#define KWS_INPUT0_OFFSET {off} " in h
    assert "kws_float_io" not in c and "kws_float_io" in default.files["kws.c"]
    assert "KWS_FLOAT_IO_SIZE" not in h
    assert arena.report["io_in_arena"] is True and default.report["io_in_arena"] is False


def test_option_must_be_a_bool():
    with pytest.raises(OptionError, match="io_in_arena must be True or False"):
        CompileOptions.make(io_in_arena="yes")
    assert CompileOptions.make(io_in_arena=True).io_in_arena is True


def test_a_few_bytes_do_not_buy_a_slower_kernel(models_dir):
    """VWW with its input in the arena: the first conv's 92-byte window scratch (the 3x3x3 kernel) sits on the
    peak, but the portable kernel that needs none would save 96 bytes for many more instructions; the kernel
    stays (the portable kernel has no calibrated cost on cortex-m4: the memory stage takes it as the costliest)."""
    (_, l1, _), (_, l2, arena) = _plans(models_dir / INT8_MODELS["vww"])
    assert l2[0].c_function == l1[0].c_function and l2[0].scratch_bytes > 0
    assert l1[0].c_function == "tg_conv2d_s8_fast_rgb"
    assert arena.arena_bytes == 46176


def test_scratch_on_a_shared_peak_is_trimmed_together(models_dir):
    """hello_world with its I/O in the arena: its two FC layers' scratch sit on one peak (the output
    is live to the end); swapping either alone saves nothing, both together reach TFLM's head."""
    (_, _, default), (_, l2, arena) = _plans(models_dir / INT8_MODELS["hello_world"])
    assert arena.arena_bytes == 32 and all(lop.scratch_bytes == 0 for lop in l2)
