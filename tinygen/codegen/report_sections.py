"""report.md sections for the cost estimate (codegen/estimate.py) and `tinygen validate` (verify/validate.py).

Both render from the report dict, so every figure in report.md is the one in report.json.
"""
from __future__ import annotations


def _n(v) -> str:
    return f"{int(v):,}"


def _g(v, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def estimate_section(report: dict) -> list:
    """Estimated cycles, time and energy per inference (and per layer), with the assumptions."""
    est = report.get("estimate")
    if not est:
        return []
    lines = ["", "## Estimated cost per inference (estimates, not measurements)", "",
             f"{_n(est['cycles'])} cycles, {est['ms']:.4g} ms at {est['clock_hz'] / 1e6:g} MHz, "
             f"{est['uj']:.4g} uJ ({est['current_ma']:.3g} mA at {est['voltage_v']:g} V"
             f"{'' if est['power_published'] else ', assumed'})."]
    flash = est.get("flash_bytes")
    if flash:
        lines.append(f"Flash image about {_n(flash['total'])} B: weights {_n(flash['weights'])}, kernels "
                     f"{_n(flash['kernels'])}, startup / main / I/O / libc and the calls {_n(flash['base'])}"
                     + (f", boot2 {_n(flash['boot2'])}" if flash.get("boot2") else "") + ".")
    lines += ["", "Assumptions:", ""] + [f"- {a}" for a in est["assumptions"]]
    layers = [L for L in report["layers"] if L.get("est_cycles")]
    if layers:
        total = max(est["cycles"], 1)
        # the layer first: rows that start "| <index> |" are the main layer table's (tests match them)
        lines += ["", "| layer | # | kernel | est. cycles | share |", "|---|---:|---|---:|---:|"]
        for L in layers:
            name = str(L["name"]).replace("|", "\\|")
            lines.append(f"| {name} | {L['index']} | {L['kernel']} | {_n(L['est_cycles'])} | "
                         f"{100 * L['est_cycles'] / total:.1f} % |")
    return lines


def validation_section(report: dict) -> list:
    """The figures of the last `tinygen validate` run."""
    v = report.get("validation")
    if not v:
        return []
    lines = ["", "## Validation on user data", "",
             f"{v['samples']} samples; the C on {v['target']} against the {v['reference']}."]
    acc = v.get("accuracy")
    if acc:
        ref = "float model" if v["reference_is_float"] else "reference"
        lines.append(f"Top-1 accuracy on `{acc['output']}`: {ref} {_pct(acc['reference'])}, C {_pct(acc['c'])} "
                     f"({100 * (acc['c'] - acc['reference']):+.2f} points).")
    lines += ["", "| output | MAE | RMSE | L2r | cosine | top-1 agreement |", "|---|---:|---:|---:|---:|---:|"]
    for o in v["outputs"]:
        lines.append(f"| {o['name']} | {_g(o['mae'])} | {_g(o['rmse'])} | {_g(o['l2r'])} | {o['cosine']:.5f} | "
                     f"{_pct(o['top1_agreement'])} |")
    pl = v.get("per_layer")
    if pl:
        lines += ["", f"Per layer: {pl['note']}."]
        if pl["layers"]:
            lines += ["", "| layer | # | op | MAE | RMSE | L2r | cosine | added L2r |",
                      "|---|---:|---|---:|---:|---:|---:|---:|"]
            for L in pl["layers"]:
                name = str(L["name"]).replace("|", "\\|")
                lines.append(f"| {name} | {L['index']} | {L['op']} | {_g(L['mae'])} | {_g(L['rmse'])} | "
                             f"{_g(L['l2r'])} | {L['cosine']:.5f} | {L['added_l2r']:+.4g} |")
            lines.append(f"\nThe layer that adds the most error: {pl['worst']}.")
    return lines
