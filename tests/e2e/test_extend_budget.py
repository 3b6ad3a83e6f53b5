"""Pre-extended weights under a flash budget (tinygen/lower/extend_budget.py): the choice, the default
budget (TFLM + CMSIS-NN's flash for the same model), the options, and bit-exactness with TFLM."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tinygen
from tinygen.compiler import load_model
from tinygen.lower import extend_budget
from tinygen.options import CompileOptions, OptionError

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from oracle import MODELS  # noqa: E402

KWS = MODELS / "mlperf/kws/kws_ref_model.tflite"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


@pytest.mark.parametrize("path, tflm", [("mlperf/vww/vww_96_int8.tflite", 429_683),
                                        ("tflm/person_detection/person_detect.tflite", 380_854),
                                        ("mlperf/ic/pretrainedResnet_quant.tflite", 189_424),
                                        ("mlperf/ad/ad01_int8.tflite", 317_942)])
def test_default_budget_is_tflm_cmsisnn_flash_for_the_model(path, tflm):
    """The .tflite bytes + the runtime of the baseline with the same operators: the like-for-like TFLM figure
    of ../shared/baselines/tflm_cmsisnn_cortex_m4.md (TFLM runtime + kernels + CMSIS-NN lib + model)."""
    assert extend_budget.default_budget(load_model(str(MODELS / path))) == tflm


def test_greedy_choice_keeps_the_best_layers_within_the_budget():
    g = load_model(str(KWS))
    found, _ = extend_budget.candidates(g)
    assert len(found) >= 5 and all(c.extra_bytes > 0 for c in found)
    same, everything = extend_budget.choose(g, "auto", 10**9)
    assert same is g and everything["unextended"] == [] and len(everything["extended"]) == len(found)
    low_graph, low = extend_budget.choose(g, "auto", 1)
    assert low["extended"] == [] and len(low["unextended"]) == len(found)
    assert all(low_graph.tensors[c.tensor].encoding == "int8c" for c in found)
    assert all(g.tensors[c.tensor].encoding is None for c in found)  # the input graph is left alone
    budget = low["estimated_flash_bytes"] + sum(c.extra_bytes for c in found) // 2
    _, mid = extend_budget.choose(g, "auto", budget)
    assert mid["estimated_flash_bytes"] <= budget and mid["extended"] and mid["unextended"]
    ratio = {c.layer: c.macs * c.penalty / c.extra_bytes for c in found}
    kept = min(ratio[n] for n in mid["extended"])
    # a layer left out either saves less per byte than every kept one, or did not fit what was left
    for r in mid["unextended"]:
        assert ratio[r["layer"]] <= kept or mid["estimated_flash_bytes"] + r["flash_saved_bytes"] > budget
    _, none = extend_budget.choose(g, "none")
    assert none["extended"] == [] and none["est_extra_instructions"] == low["est_extra_instructions"] > 0
    assert extend_budget.choose(g, "all")[1] == {"mode": "all"}


def test_partial_extension_is_bit_exact_with_tflm_and_reported(tmp_path):
    """--extend-budget between the all-bytes and all-extended estimates: some layers bytes, some int16; the
    build's outputs equal TFLM's, and report.json / report.md name the layers left unextended."""
    from tinygen.target.boards import load_board

    g = load_model(str(KWS))
    found, _ = extend_budget.candidates(g)
    _, low = extend_budget.choose(g, "auto", 1, load_board("cortex-m4"))  # the build's kernel code estimate
    budget = low["estimated_flash_bytes"] + sum(c.extra_bytes for c in found) // 2
    out = tmp_path / "kws"
    b = _cli("build", KWS, "-o", out, "--extend-budget", budget, "--no-fit-check")
    assert b.returncode == 0, b.stderr
    rep = json.loads((out / "report.json").read_text())
    left = [r["layer"] for r in rep["extend"]["unextended"]]
    assert left and rep["extend"]["extended"]
    assert all(rep["weight_schemes"][name] == "int8c" for name in left)
    assert "instead of pre-extended to int16" in (out / "report.md").read_text()
    full = tinygen.compile(str(KWS), tmp_path / "all", extend="all", firmware=False, measure_stack=False,
                           compare_tflm_arena=False)
    assert rep["weights_bytes"] < full.report["weights_bytes"]
    v = _cli("verify", out, "--samples", "3")
    assert v.returncode == 0 and "0 differing bytes" in v.stdout, v.stdout + v.stderr


def test_extend_options_are_validated():
    with pytest.raises(OptionError, match=r"^extend 'some': use auto, all or none$"):
        CompileOptions.make(extend="some")
    with pytest.raises(OptionError, match=r"^extend_budget applies with extend auto$"):
        CompileOptions.make(extend="all", extend_budget=1000)
    with pytest.raises(OptionError, match=r"^extend_budget 0: must be a positive number of bytes$"):
        CompileOptions.make(extend_budget=0)
    bad = _cli("build", KWS, "-o", "/nonexistent/x", "--extend", "all", "--extend-budget", "10K")
    assert bad.returncode != 0 and "--extend-budget applies with --extend auto" in bad.stderr
    assert "Traceback" not in bad.stderr
