"""The low-bit kernels as Cortex-M4 firmware under QEMU against the NumPy reference: every scheme and
case of tests/kernels/test_lowbit.py, once with the decode-once kernels (tg_lowbit_x.h, the int8 fast
kernels on decoded weights) wherever they apply and once with tg_lowbit.h's packed kernels everywhere,
plus the left-shifting and huge-multiplier cases (records with a pre shift, and the fallback when the
bound rules them out)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import tinygen
from tinygen.compiler import lower
from tinygen.lower import lowbit_x
from tinygen.verify.testing import run_reference

import test_lowbit as tlb
from test_dsp_emulation import batched, merge, plan_samples


def _plan(huge: bool):
    graphs = [tlb.encoded(tlb._CASES[family], scheme) for scheme in tlb.LOWBIT for family in sorted(tlb._CASES)]
    rng = np.random.default_rng(6)
    for scheme in ("int4", "kmeans3", "ternary", "binary"):  # ternary / binary: decoded as +-2^k (lowbit_x)
        cases = [tlb._CASES["conv2d"][i] for i in (0, 6, 13, 16)]
        cases += [tlb.DW_CASES[0], tlb._EXTRA_DW[2], tlb._EXTRA_DW[3], tlb._CASES["fc"][0]]
        g = tlb.encoded(cases, scheme, seed=3)
        tlb._large_multipliers(g, rng, huge)
        graphs.append(g)
    return merge(graphs, name="lowbit_plan")


@pytest.mark.qemu
@pytest.mark.parametrize("decoded", [True, False], ids=["decoded", "packed"])
def test_lowbit_kernels_on_cortex_m4_equal_reference(decoded, monkeypatch, tmp_path):
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.fail(f"missing tool {tool}: run `make sysdeps`")
    monkeypatch.setattr(lowbit_x, "ENABLED", decoded)
    for huge in (False, True):
        graph = _plan(huge)
        used = {lop.c_function for lop in lower(graph)}
        lbx = {"tg_conv2d_lbx", "tg_depthwise_conv2d_lbx", "tg_fully_connected_lbx"}
        lb = {"tg_conv2d_lb", "tg_depthwise_conv2d_lb", "tg_fully_connected_lb"}
        if decoded:  # the packed kernels where the decode-once ones do not apply (test_lowbit.TinyOutCase for conv)
            assert lbx <= used and lb <= used, used
        else:
            assert lb <= used and not used & lbx, used
        out = tmp_path / f"plan_{huge}"
        tinygen.compile(graph, out, board="cortex-m4")
        samples = plan_samples(graph, seed=11)
        on_m4 = tinygen.run(out, batched(samples), target="qemu")
        for i, s in enumerate(samples):
            want = run_reference(graph, s)
            for k, (w, q) in enumerate(zip(want, on_m4)):
                got = np.ascontiguousarray(q[i]).reshape(w.shape)
                assert np.array_equal(w, got), f"huge={huge} sample {i} output {graph.outputs[k]}: " \
                                               f"{np.count_nonzero(w != got)} of {w.size} bytes differ"
