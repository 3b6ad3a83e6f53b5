"""The `tinygen validate` and `tinygen analyze` commands (registered by tinygen.cli.make_parser).

The library calls (verify/validate.py, analyze.py) return data; this module prints it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.errors import TinygenError


def load_array(path: str, what: str) -> np.ndarray:
    """A .npy file, or the only array of an .npz (one with several arrays must name it: FILE.npz:KEY)."""
    name, _, key = path.partition(".npz:")
    p = Path(name + ".npz" if key else path)
    if not p.is_file():
        raise TinygenError(f"{p}: no such {what} file")
    try:
        if p.suffix != ".npz":
            return np.load(p, allow_pickle=False)
        with np.load(p, allow_pickle=False) as z:
            if key:
                if key not in z.files:
                    raise TinygenError(f"{p}: no array '{key}' (it holds {', '.join(z.files)})")
                return z[key]
            if len(z.files) != 1:
                raise TinygenError(f"{p}: holds {len(z.files)} arrays ({', '.join(z.files) or 'none'}); "
                                   f"name one as {p}:KEY")
            return z[z.files[0]]
    except (ValueError, OSError, EOFError) as exc:
        raise TinygenError(f"{p}: not a readable .npy/.npz {what} file ({exc})") from None


_PRINT = [print]  # the CLI's printer (tinygen.cli._say, which writes past the quiet console), set by add_parsers


def _say(*parts, end: str = "\n") -> None:
    _PRINT[0](*parts, end=end)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def cmd_validate(args) -> int:
    from tinygen.verify.validate import validate

    data = [load_array(p, "data") for p in args.data]
    labels = load_array(args.labels, "labels") if args.labels else None
    r = validate(args.out_dir, data, labels=labels, target=args.target, per_layer=args.per_layer, model=args.model)
    _say(f"tinygen validate {args.out_dir}: {r['samples']} samples, the C on {r['target']} against the "
         f"{r['reference']}")
    acc = r["accuracy"]
    ref_name = "float" if r["reference_is_float"] else "reference"
    if acc:
        _say(f"  top-1 accuracy ({acc['output']}): {ref_name} {_pct(acc['reference'])}, C {_pct(acc['c'])} "
             f"({100 * (acc['c'] - acc['reference']):+.2f} points)")
    for o in r["outputs"]:
        _say(f"  output {o['name']}: MAE {o['mae']:.4g}, RMSE {o['rmse']:.4g}, L2r {o['l2r']:.4g}, "
             f"cosine {o['cosine']:.5f}, top-1 agreement {_pct(o['top1_agreement'])}")
    pl = r["per_layer"]
    if pl is not None:
        _say(f"  per layer: {pl['note']}")
        if pl["layers"]:
            _say(f"  {'#':>3} {'layer':32} {'op':20} {'MAE':>10} {'RMSE':>10} {'L2r':>9} {'cosine':>8} {'added L2r':>10}")
            for L in pl["layers"]:
                _say(f"  {L['index']:>3} {L['name'][:32]:32} {L['op'][:20]:20} {L['mae']:>10.4g} {L['rmse']:>10.4g} "
                     f"{L['l2r']:>9.4g} {L['cosine']:>8.5f} {L['added_l2r']:>+10.4g}")
            _say(f"  the layer that adds the most error: {pl['worst']}")
    _say(f"  written to {args.out_dir}/report.json (validation) and report.md")
    return 0


def _kb(v) -> str:
    return "?" if v is None else f"{v / 1024:,.1f}K"


def _board_table(rows: list) -> None:
    _say(f"  {'board':22} {'core':14} {'MHz':>5} {'RAM need / has':>17} {'flash need / has':>19} {'fits':>5} "
         f"{'est. ms':>9} {'est. uJ':>9}")
    for b in rows:
        fits = "?" if b["fits"] is None else "yes" if b["fits"] else ("RAM" if not b["fits_ram"] else "flash") + "!"
        ms = f"{b['ms']:.3f}" if b.get("ms") is not None else "-"
        uj = (f"{b['uj']:.1f}" + ("" if b.get("power_published") else "*")) if b.get("uj") is not None else "-"
        _say(f"  {b['board']:22} {b['core']:14} {b['clock_hz'] / 1e6:>5g} "
             f"{_kb(b['ram_needed']) + ' / ' + _kb(b['ram_bytes']):>17} "
             f"{_kb(b['flash_needed']) + ' / ' + _kb(b['flash_bytes']):>19} {fits:>5} {ms:>9} {uj:>9}")


def cmd_analyze(args) -> int:
    from tinygen.analyze import analyze
    from tinygen.target.boards import board_names

    boards = board_names() if args.board == "all" else [args.board]
    from tinygen.cli import _input_shape_arg, _weights_arg

    calib = load_array(args.calib, "calibration") if args.calib else None
    r = analyze(args.model, boards=boards, calibration=calib, weights=_weights_arg(args.weights),
                activations=args.activations, input_shape=_input_shape_arg(args.input_shape))
    if not r["supported"]:
        _say(f"tinygen analyze {args.model}: NOT supported")
        for u in r["unsupported"]:
            _say(f"  unsupported: layer '{u['layer']}' ({u['op']}): {u['reason']}")
        if not r["unsupported"]:
            _say(f"  {r['error']}")
        return 1
    _say(f"tinygen analyze {args.model}: {r['layers']} layers, every op supported; MACs {r['macs']:,}, weights "
         f"{r['weights_bytes']:,} B, arena {r['arena_bytes']:,} B"
         + (f", persistent state {r['persistent_bytes']:,} B" if r["persistent_bytes"] else ""))
    if r["synthetic_calibration"]:
        _say("  (a float model quantized on synthetic samples: give --calib for the ranges; sizes and costs "
             "do not depend on them)")
    _say(f"  kernels: {', '.join(r['kernels'])}")
    if len(r["boards"]) == 1:
        _single_board(r)
    else:
        _board_table(r["boards"])
        fit = [b["board"] for b in r["boards"] if b["fits"]]
        _say(f"  fits {len(fit)} of {len(r['boards'])} boards; RAM need = arena + state + 4 KB stack; "
             "* = energy from an assumed current (no published figure in the board file)")
    b = r["boards"][0]
    _say("  estimates, not measurements; assumptions" + (" (shown for " + b["board"] + ")" if len(r["boards"]) > 1
                                                          else "") + ":")
    for a in b.get("assumptions", []):
        _say(f"    - {a}")
    return 0


def _single_board(r: dict) -> None:
    b = r["boards"][0]
    f = b.get("flash_detail") or {}
    _say(f"  board {b['board']} ({b['core']} at {b['clock_hz'] / 1e6:g} MHz): RAM {b['ram_needed']:,} of "
         f"{b['ram_bytes']:,} B (arena + state + 4 KB stack), flash about {f.get('total', 0):,} of "
         f"{b['flash_bytes']:,} B (weights {f.get('weights', 0):,} + kernels {f.get('kernels', 0):,} + startup / "
         f"I/O / libc {f.get('base', 0):,}): "
         + {True: "fits", False: "does NOT fit", None: "flash not estimated (no cost table for this core)"}[b["fits"]])
    if b.get("cycles") is not None:
        _say(f"  estimated {b['cycles']:,} cycles = {b['ms']:.3f} ms, {b['uj']:.1f} uJ per inference")
        _say(f"  {'#':>3} {'layer':32} {'op':20} {'kernel':34} {'est. cycles':>12}")
        for L in r["per_layer"]:
            _say(f"  {L['index']:>3} {L['name'][:32]:32} {L['op'][:20]:20} {L['kernel'][:34]:34} "
                 f"{(L['est_cycles'] or 0):>12,}")


def add_parsers(sub, common, say=None) -> None:
    """Add `validate` and `analyze` to the `tinygen` sub-command parsers; `say` prints for them."""
    if say is not None:
        _PRINT[0] = say
    va = sub.add_parser("validate", parents=[common],
                        help="compare the generated C with the original model on your data (accuracy, errors)")
    va.add_argument("out_dir")
    va.add_argument("--data", action="append", required=True,
                    help=".npy/.npz samples (N, *input shape), float as the original model takes them; "
                         "once per model input")
    va.add_argument("--labels", help=".npy class indices (N,) or one-hot (N, classes): top-1 accuracy of both")
    va.add_argument("--target", default="host", choices=["host", "qemu"], help="where the C runs (default host)")
    va.add_argument("--per-layer", action="store_true",
                    help="also compare every layer's output with tinygen's float reference of the float model")
    va.add_argument("--model", help="the original model, when the path recorded at build time has moved")
    va.set_defaults(func=cmd_validate)

    an = sub.add_parser("analyze", parents=[common],
                        help="before building: op support, MACs, weights, arena, flash, est. latency and energy")
    an.add_argument("model", help="a .tflite, .onnx, .keras or .h5 model")
    an.add_argument("--board", default="cortex-m4", help="a board (see `tinygen boards`), or 'all' for a table")
    an.add_argument("--calib", help="calibration data for a float model (default: synthetic samples)")
    an.add_argument("--weights", default="int8", metavar="SCHEME", help="weight scheme(s), as for build")
    an.add_argument("--activations", default="int8", choices=["int8", "int16"], help="as for build")
    an.add_argument("--input-shape", action="append", metavar="[NAME=]D,D,...", help="ONNX dynamic dims, as for build")
    an.set_defaults(func=cmd_analyze)


__all__ = ["add_parsers", "cmd_validate", "cmd_analyze", "load_array"]
