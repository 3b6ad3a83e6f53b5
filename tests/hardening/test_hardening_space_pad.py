"""SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, MIRROR_PAD, REVERSE_V2, BROADCAST_TO and the dilated convs under
ASan + UBSan: every kernel-test case in one model per plan (one op per input / output pair), both kernel
paths, random and extreme inputs; no report, and outputs equal to the ordinary -O2 builds (which the kernel
tests check against TFLM / desktop TFLite). The new runtime files pass cppcheck."""
from __future__ import annotations

import subprocess

import pytest

from test_dilated_kernels import CASES as DILATED, _graph as dilated_graph
from test_hardening import CPPCHECK, _inputs, sanitized_run_equals_normal_builds
from test_pad_ops import CASES as PAD_CASES, _graph as pad_graph
from test_space_batch import CASES as SB_CASES, _graph as sb_graph
from tinygen import ir
from tinygen.paths import runtime_file
from tinygen.verify.hostbuild import KERNEL_PATHS


def _merge(graphs: list, name: str) -> ir.Graph:
    """One graph holding each single-op graph's op, its tensors renamed with a per-graph suffix."""
    tensors, ops, ins, outs = {}, [], [], []
    for k, g in enumerate(graphs):
        rename = {n: f"{n}_{k}" for n in g.tensors}
        for n, t in g.tensors.items():
            tensors[rename[n]] = ir.Tensor(rename[n], t.shape, t.dtype, t.quant, t.data)
        for op in g.ops:
            ops.append(ir.Op(op.kind, f"{op.name}_{k}", [None if i is None else rename[i] for i in op.inputs],
                             [rename[o] for o in op.outputs], op.attrs))
        ins += [rename[n] for n in g.inputs]
        outs += [rename[n] for n in g.outputs]
    return ir.Graph(tensors, ops, ins, outs, name=name)


PLANS = {
    "space_batch": lambda: [sb_graph(*c) for c in SB_CASES],
    "pad_ops": lambda: [pad_graph(*c) for c in PAD_CASES],
    "dilated": lambda: [dilated_graph(c, d, False) for c in DILATED for d in ("int8", "int16")],
}


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("plan", sorted(PLANS))
def test_sanitizers_are_silent(plan, kernel_path, tmp_path):
    """The standalone ASan + UBSan driver of test_hardening: no report, outputs equal the -O2 builds."""
    graph = _merge(PLANS[plan](), plan)
    sanitized_run_equals_normal_builds(graph, tmp_path, _inputs(graph, n=6, seed=3), kernel_path, plan)


def test_new_runtime_files_pass_cppcheck():
    files = [str(runtime_file(f"{stem}_{t}.c")) for stem in ("tg_space_to_batch_nd", "tg_batch_to_space_nd",
                                                             "tg_axis_gather") for t in ("s8", "s16")]
    dirs = sorted({str(runtime_file(n).parent) for n in ("tg_common.h", "tg_axis_gather.h")})
    p = subprocess.run([*CPPCHECK, *(f"-I{d}" for d in dirs), *files], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
