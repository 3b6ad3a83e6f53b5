"""The cost estimate (tinygen/codegen/estimate.py), its tables (tinygen/target/costs.json) and [power]."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tinygen.codegen import estimate
from tinygen.errors import TinygenError
from tinygen.target import boards

ROOT = Path(__file__).resolve().parents[2]


def _layer(i, kernel, macs=0, inputs=((1, 4, 4, 8),), outputs=((1, 4, 4, 8),)):
    return dict(index=i, name=f"l{i}", op="X", kernel=kernel, macs=macs, weight_bytes=0,
                inputs=[list(s) for s in inputs], outputs=[list(s) for s in outputs])


def test_every_shipped_board_core_has_a_cost_table():
    table = estimate.load_costs()
    for b in boards.list_boards():
        core = table["cores"].get(b.core)
        assert core is not None, f"{b.name}: no costs.json table for {b.core}"
        assert core["kernels"] and core["code_bytes"] and core["image"]["builds"] >= 3
        assert b.core in estimate.CPI and b.core in estimate.ASSUMED_UA_PER_MHZ
        for name, row in core["kernels"].items():
            # a cost that grows with the work or, for a kernel calibrated on one window shape (work and
            # outputs in a fixed ratio), with the outputs
            grows = row["per_unit"] > 0 or (row["unit"] == "mac" and row.get("per_output", 0) > 0)
            assert row["unit"] in ("mac", "element") and grows and row["layers"] >= 1, name
    assert "calibrate_costs.py" in table["how"] and table["tools"]["gcc"] and table["tools"]["qemu"]


def test_cycles_ms_and_energy_follow_the_table():
    board = boards.load_board("cortex-m4")
    table = estimate.core_table("cortex-m4")
    conv = next(k for k, v in table["kernels"].items() if v["unit"] == "mac")
    elem = next(k for k, v in table["kernels"].items() if v["unit"] == "element")
    report = dict(layers=[_layer(0, conv, macs=10_000), _layer(1, "view"), _layer(2, elem)])
    est = estimate.estimate(report, board)
    cpi = estimate.CPI["cortex-m4"]
    row = table["kernels"][conv]
    want = [round(round(row["per_unit"] * 10_000 + row.get("per_output", 0) * 4 * 4 * 8) * cpi), 0,
            round(round(table["kernels"][elem]["per_unit"] * 2 * 4 * 4 * 8) * cpi)]  # instructions, then cycles
    assert est["layers"] == want and est["cycles"] == sum(want)
    assert est["ms"] == pytest.approx(1e3 * sum(want) / board.clock_hz, rel=1e-3)
    p = estimate.power(board)
    assert not p["published"] and "assumed" in p["source"]
    assert est["uj"] == pytest.approx(p["ma"] * p["volts"] * est["ms"], rel=1e-3)  # mA * V * ms = uJ
    assert est["clock_hz"] == board.clock_hz and not est["power_published"]
    assert any("assumed" in a for a in est["assumptions"]) and any("cycles per instruction" in a
                                                                   for a in est["assumptions"])


def test_a_faster_clock_takes_less_time_for_the_same_cycles():
    slow = boards.load_board("cortex-m4")
    fast = dataclasses.replace(slow, clock_hz=slow.clock_hz * 4)
    report = dict(layers=[_layer(0, "tg_conv2d_s8_fast", macs=50_000)])
    a, b = estimate.estimate(report, slow), estimate.estimate(report, fast)
    assert a["cycles"] == b["cycles"] and a["ms"] == pytest.approx(4 * b["ms"], rel=1e-3)


def test_uncalibrated_kernel_uses_the_median_and_says_so():
    board = boards.load_board("cortex-m4")
    report = dict(layers=[_layer(0, "tg_no_such_kernel_s8")])
    est = estimate.estimate(report, board)
    ratios = sorted(v["per_unit"] for v in estimate.core_table("cortex-m4")["kernels"].values()
                    if v["unit"] == "element")
    assert est["cycles"] == round(round(float(np.median(ratios)) * 2 * 128) * estimate.CPI["cortex-m4"])
    macs = dict(layers=[_layer(0, "tg_no_such_conv_s8", macs=1000)])
    rows = [v for v in estimate.core_table("cortex-m4")["kernels"].values() if v["unit"] == "mac"]
    per_mac = float(np.median([v["per_unit"] for v in rows]))
    per_out = float(np.median([v.get("per_output", 0.0) for v in rows]))
    assert estimate.estimate(macs, board)["cycles"] == round(round(per_mac * 1000 + per_out * 128)
                                                             * estimate.CPI["cortex-m4"])
    assert any("tg_no_such_kernel_s8" in a for a in est["assumptions"])


def test_published_power_is_used_with_its_source():
    board = boards.load_board("nrf52840dk")
    p = estimate.power(board)
    assert p["published"] and "nRF52840" in p["source"]
    assert p["ma"] == pytest.approx(board.power["ua_per_mhz"] * board.clock_hz / 1e9)
    est = estimate.estimate(dict(layers=[_layer(0, "tg_conv2d_s8_fast", macs=1000)]), board)
    assert est["power_published"] and any("nRF52840" in a for a in est["assumptions"])


def test_image_bytes_adds_weights_kernels_and_base():
    board = boards.load_board("rpi-pico")  # a boot2 stage at the start of flash
    table = estimate.core_table(board.core)
    files = ["model.c", "tg_softmax_s8.c", "tg_common.h"]
    report = dict(weights_bytes=1000, layers=[_layer(0, "tg_softmax_s8"), _layer(1, "tg_softmax_s8")])
    img = estimate.image_bytes(report, files, board)
    assert img["kernels"] == table["code_bytes"]["tg_softmax_s8.c"] > 0
    assert img["base"] == table["image"]["fixed"] + 2 * table["image"]["per_layer"]
    assert img["total"] == 1000 + img["kernels"] + img["base"] + 256 and img["boot2"] == 256


@pytest.mark.parametrize("power, needle", [
    ('[power]\nua_per_mhz = -1\nvoltage_v = 3.0\nsource = "x"\n', "ua_per_mhz must be a positive number"),
    ('[power]\nua_per_mhz = 50\nvoltage_v = "3"\nsource = "x"\n', "voltage_v must be a positive number"),
    ('[power]\nua_per_mhz = 50\nvoltage_v = 3.0\n', "needs a 'source'"),
])
def test_bad_power_table_is_a_one_line_error(tmp_path, monkeypatch, power, needle):
    text = (ROOT / "boards" / "cortex-m4.toml").read_text().replace('name = "cortex-m4"', 'name = "mine"')
    (tmp_path / "mine.toml").write_text(text + "\n" + power)
    monkeypatch.setattr(boards, "boards_dir", lambda: tmp_path)
    with pytest.raises(TinygenError, match=needle) as info:
        boards.load_board("mine")
    assert "mine.toml" in str(info.value) and "\n" not in str(info.value)


def test_build_report_carries_the_estimate(tmp_path):
    from tinygen.compiler import compile_model

    calib = np.load(ROOT / "examples" / "digits_calib.npy")
    result = compile_model(ROOT / "examples" / "digits_cnn.keras", tmp_path / "d", calibration=calib,
                           board="nucleo-l4r5zi", measure_stack=False, compare_tflm_arena=False, firmware=False)
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    est = report["estimate"]
    assert {"cycles", "ms", "uj", "clock_hz", "assumptions"} <= set(est)
    assert est["clock_hz"] == 120_000_000 and est["cycles"] > 0 and est["uj"] > 0
    assert sum(L["est_cycles"] for L in report["layers"]) == est["cycles"]
    assert est["flash_bytes"]["weights"] == report["weights_bytes"] and est["flash_bytes"]["kernels"] > 0
    assert result.report["estimate"]["cycles"] == est["cycles"]
    md = (tmp_path / "d" / "report.md").read_text()
    assert "## Estimated cost per inference (estimates, not measurements)" in md
    assert f"{est['cycles']:,} cycles" in md and "Assumptions:" in md
    rows = [ln for ln in md.splitlines() if re.match(r"^\| \d+ \|", ln)]  # the main layer table's rows only
    assert len(rows) == len(report["layers"])
    cycles = {ln.split("|")[1].strip(): ln.split("|")[4].strip() for ln in md.splitlines() if ln.count("|") == 6}
    assert all(cycles.get(L["name"]) == f"{L['est_cycles']:,}" for L in report["layers"] if L["est_cycles"])
