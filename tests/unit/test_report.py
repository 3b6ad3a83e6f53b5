"""report.md / report.json / memory.png: every number in the markdown is the number in the JSON."""
from __future__ import annotations

import json
import re

import pytest

from tinygen.memory import plan as planner
from tinygen.codegen import report as rep
from tinygen.memory import schedule
from tinygen.target.boards import load_board
from tinygen.compiler import build_report, load_model, lower


def _num(text: str) -> int:
    return int(text.replace(",", "").strip())


@pytest.fixture(scope="module", params=["mlperf/sww/str_ww_ref_model.tflite", "mlperf/ad/ad01_int8.tflite"])
def written(request, models_dir, tmp_path_factory):
    path = models_dir / request.param
    graph = load_model(path)
    g2, l2 = schedule.optimize(graph, lower(graph))
    p = planner.plan(g2, l2)
    report = build_report(g2, l2, p, "m")
    out = tmp_path_factory.mktemp("report")
    rep.write_report(out, report, p, g2, load_board("cortex-m4"))
    return out, p, g2


def test_files_and_png_link(written):
    out, p, _ = written
    md = (out / "report.md").read_text()
    assert (out / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](memory.png)" in md


def test_layer_table_equals_json(written):
    out, p, graph = written
    md = (out / "report.md").read_text()
    data = json.loads((out / "report.json").read_text())
    rows = [line for line in md.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == len(data["layers"]) == len(graph.ops)
    for line, layer in zip(rows, data["layers"]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert _num(cells[0]) == layer["index"]
        assert cells[2] == layer["op"]
        assert cells[3].startswith(layer["kernel"])
        assert _num(cells[6]) == layer["macs"]
        assert _num(cells[7]) == layer["weight_bytes"]
        assert _num(cells[8]) == layer["live_arena_bytes"] == p.live[layer["index"]]
        assert _num(cells[9]) == layer["scratch_bytes"]
        assert cells[5] == ", ".join("x".join(map(str, s)) for s in layer["outputs"])
    assert max(layer["live_arena_bytes"] for layer in data["layers"]) == data["live_set_lower_bound"]


def test_totals_equal_json(written):
    out, p, _ = written
    md = (out / "report.md").read_text()
    mem = json.loads((out / "report.json").read_text())["memory"]
    board = load_board("cortex-m4")
    assert mem["arena_bytes"] == p.arena_bytes
    assert mem["board"] == {"name": "cortex-m4", "ram_bytes": board.ram_size, "flash_bytes": board.flash_size}
    arena_row = next(line for line in md.splitlines() if line.startswith("| arena"))
    cells = [c.strip() for c in arena_row.strip("|").split("|")]
    assert _num(cells[1]) == mem["arena_bytes"]
    assert _num(cells[2].split()[0]) == mem["board"]["ram_bytes"]
    assert cells[3] == f"{mem['ram_used_pct']:.2f} %"
    weights_row = next(line for line in md.splitlines() if line.startswith("| weights"))
    cells = [c.strip() for c in weights_row.strip("|").split("|")]
    assert _num(cells[1]) == mem["weights_bytes"]
    assert _num(cells[2].split()[0]) == mem["board"]["flash_bytes"]


def test_tflm_arena_beside_ours(written):
    out, p, _ = written
    md = (out / "report.md").read_text()
    mem = json.loads((out / "report.json").read_text())["memory"]
    t = mem["tflm"]
    assert t["head"] + t["tail"] == t["total"] and t["head"] > 0
    row = next(line for line in md.splitlines() if line.startswith("| arena bytes"))
    cells = [_num(c) for c in row.strip("|").split("|")[1:]]
    assert cells == [mem["arena_bytes"], t["head"], t["tail"], t["total"]]
    assert f"{mem['ratio_to_tflm_head']:.4f}" in md


def test_no_board_and_no_tflm(tmp_path):
    """A report for a hand-made plan without board or TFLM still renders, with no totals against a board."""
    from tinygen.ir import Graph, Op, OpKind, Tensor

    graph = Graph(tensors={"a": Tensor("a", (4,), "int8"), "b": Tensor("b", (4,), "int8")},
                  ops=[Op(OpKind.RELU, "r", ["a"], ["b"])], inputs=["a"], outputs=["b"])
    p = planner.Plan(arena_bytes=0, lower_bound=0, buffers=[], storage={}, scratch={}, live=[0])
    report = dict(name="x", model="x", source="", macs=0, weights_bytes=0, live_set_lower_bound=0,
                  layers=[dict(index=0, name="r", op="RELU", kernel="tg_relu_s8", inputs=[[4]], outputs=[[4]],
                               macs=0, weight_bytes=0, scratch_bytes=0)])
    rep.write_report(tmp_path, report, p, graph, None)
    md = (tmp_path / "report.md").read_text()
    assert "Against TFLM" not in md and "| 0 | r | RELU |" in md


def test_tflm_arena_of_a_tiny_model_without_noise(tmp_path, capfd):
    """A model with no weights and 32 KiB activations: TFLM's default arena (10x the file) is far too
    small, so the report retries with a bigger one; TFLM's complaints never reach the terminal."""
    from tinygen.verify.export_tflite import export_tflite
    from tinygen.ir import Graph, LeakyReluAttrs, Op, OpKind, QuantParams, Tensor

    q = QuantParams.make(0.05, 3)
    graph = Graph({"a": Tensor("a", (1, 64, 64, 8), "int8", q), "b": Tensor("b", (1, 64, 64, 8), "int8", q)},
                  [Op(OpKind.LEAKY_RELU, "b", ["a"], ["b"], LeakyReluAttrs(0.2))], ["a"], ["b"], name="tiny")
    path = export_tflite(graph, tmp_path / "tiny.tflite")
    assert 10 * path.stat().st_size < 2 * 64 * 64 * 8  # the pip default cannot hold input and output
    capfd.readouterr()
    t = rep.tflm_arena(path)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert t is not None and t["head"] >= 2 * 64 * 64 * 8 and t["head"] + t["tail"] == t["total"]
    assert rep.tflm_arena(tmp_path / "missing.tflite") is None
