"""The `tinygen` command: build, run, verify, bench, boards, report. The only place that prints."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from tinygen.console import Console
from tinygen.errors import TinygenError
from tinygen.options import OptionError

# The flag that sets each build option (tinygen.options.CompileOptions), for OptionError messages.
OPTION_FLAGS = {"board": "--board", "name": "--name", "calibration": "--calib", "estimator": "--estimator",
                "weights": "--weights", "activations": "--activations", "mixed": "--mixed auto",
                "budget_flash": "--budget-flash", "budget_ram": "--budget-ram", "check_fit": "--no-fit-check",
                "io_in_arena": "--io-in-arena", "patch_limit": "--patch-limit", "input_shape": "--input-shape",
                "io_layout": "--io-layout", "project": "--project", "labels": "--labels",
                "extend": "--extend", "extend_budget": "--extend-budget"}

_CONSOLE = Console()


def _say(*parts, end: str = "\n") -> None:
    _CONSOLE.clear_progress()
    print(*parts, end=end, file=_CONSOLE.out)


def _err(text: str) -> None:
    _CONSOLE.clear_progress()
    print(text, file=_CONSOLE.err)


def _manifest_inputs(out_dir) -> list:
    """[(name, sample shape)] of a built model's inputs, from its tinygen.json."""
    from tinygen.verify.runner import read_manifest, sample_shape

    return [(t["name"], sample_shape(t["shape"])) for t in read_manifest(out_dir)["inputs"]]


def _input_arrays(out_dir, specs) -> list:
    """--input [NAME=]FILE[:KEY] (once per input, or one .npz) -> arrays in the model's input order."""
    from tinygen import datafiles

    arrays, notes = datafiles.for_inputs(specs, _manifest_inputs(out_dir), "input", "--input")
    for note in notes:
        _err(f"tinygen: note: {note}")
    return arrays


def _bytes(text: str, flag: str) -> int:
    """'20000', '20k' / '20K' (x1024), '1M' (x1024^2) -> bytes."""
    t = text.strip().upper().removesuffix("B")
    mult = {"K": 1024, "M": 1024 * 1024}.get(t[-1:], 1)
    try:
        value = int(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        raise TinygenError(f"{flag} '{text}': expected a byte count such as 20000 or 20K") from None
    if value <= 0:
        raise TinygenError(f"{flag} '{text}': must be positive")
    return value


def _weights_arg(text: str):
    """--weights: a scheme, 'layer=scheme,...' (with '*=scheme' as the default), or a .toml file."""
    if text.endswith(".toml"):
        import tomllib

        p = Path(text)
        if not p.is_file():
            raise TinygenError(f"{text}: no such weights file")
        try:
            doc = tomllib.loads(p.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TinygenError(f"{text}: not valid TOML ({exc})") from None
        table = doc.get("weights", doc)
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise TinygenError(f"{text}: expected a [weights] table of layer = \"scheme\" lines")
        return dict(table)
    if "=" not in text:
        return text
    table = {}
    for item in text.split(","):
        name, sep, scheme = item.partition("=")
        if not sep or not name.strip() or not scheme.strip():
            raise TinygenError(f"--weights: '{item}' is not layer=scheme")
        table[name.strip()] = scheme.strip()
    return table


def _input_shape_arg(values):
    """--input-shape [NAME=]D,D,... (repeatable) -> {name or '*': shape} for an ONNX model's dynamic dimensions."""
    if not values:
        return None
    table = {}
    for v in values:
        name, _, dims = v.rpartition("=")
        try:
            table[name or "*"] = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise TinygenError(f"--input-shape '{v}': expected [NAME=]D,D,... (e.g. input=1,3,32,32)") from None
    return table


def cmd_build(args) -> int:
    from tinygen.compiler import compile_model

    from tinygen import datafiles

    calib = [datafiles.parse_spec(c) for c in args.calib] if args.calib else None  # read after the model
    weights = _weights_arg(args.weights)
    if args.mixed:
        if args.weights != "int8":
            raise TinygenError("--mixed auto chooses the weight schemes itself; drop --weights")
        weights = "auto"
    budget_flash = _bytes(args.budget_flash, "--budget-flash") if args.budget_flash else None
    budget_ram = _bytes(args.budget_ram, "--budget-ram") if args.budget_ram else None
    result = compile_model(args.model, args.output, board=args.board, calibration=calib, name=args.name,
                           estimator=args.estimator, check_fit=not args.no_fit_check, weights=weights,
                           activations=args.activations, budget_flash=budget_flash, budget_ram=budget_ram,
                           input_shape=_input_shape_arg(args.input_shape), io_layout=args.io_layout,
                           project=args.project, labels=args.labels, io_in_arena=args.io_in_arena,
                           patch_limit=args.patch_limit, extend=args.extend,
                           extend_budget=_bytes(args.extend_budget, "--extend-budget") if args.extend_budget else None,
                           force=args.force)
    r = result.report
    _say(f"tinygen: built '{r['model']}' for {args.board} -> {args.output}")
    if args.project != "plain":
        _say(f"  {args.project} package: {Path(args.output) / args.project / args.name}")
    _say(f"  layers {len(r['layers'])}, MACs {r['macs']:,}, weights {r['weights_bytes']:,} B, "
          f"arena {r['arena_bytes']:,} B (live-set lower bound {r['live_set_lower_bound']:,} B)"
          + (f", persistent state {r['persistent_bytes']:,} B" if r.get("persistent_bytes") else ""))
    if r.get("patch"):
        pt = r["patch"]
        _say(f"  layers {pt['layers'][0]}-{pt['layers'][-1]} run in {pt['bands']} bands of rows to fit --budget-ram: "
             f"arena {pt['layer_by_layer_arena_bytes']:,} -> {pt['arena_bytes']:,} B, "
             f"+{pt['extra_macs']:,} MACs recomputed, about +{100 * pt['extra']:.1f}% instructions")
    schemes = r.get("weight_schemes", {})
    if r.get("mixed") or any(v != "int8" for v in schemes.values()):
        _say("  weights: " + ", ".join(f"{k}={v}" for k, v in schemes.items()))
    m = r.get("mixed") or {}
    if "int8_arena_bytes" in m:  # what the chosen schemes cost and save against a uniform int8 build
        _say(f"  --mixed auto against uniform int8: weights {r['weights_bytes']:,} B (int8 {m['int8_bytes']:,} B), "
             f"arena {r['arena_bytes']:,} B (int8 {m['int8_arena_bytes']:,} B, "
             f"{r['arena_bytes'] - m['int8_arena_bytes']:+,} B)")
    est = r.get("estimate")
    if est:  # codegen/estimate.py: a cost model, not a measurement (report.md lists its assumptions)
        _say(f"  estimated: {est['ms']:,.2f} ms, {est['uj']:,.1f} uJ per inference at {est['clock_hz'] / 1e6:g} MHz"
             + (f", flash image about {est['flash_bytes']['total']:,} B" if est.get("flash_bytes") else "")
             + " (estimates: see report.md)")
    for t in r["inputs"]:
        _say(f"  input  {t['name']}: {t['dtype']}{t['shape']} scale={t['scale']} zero_point={t['zero_point']}")
    for t in r["outputs"]:
        _say(f"  output {t['name']}: {t['dtype']}{t['shape']} scale={t['scale']} zero_point={t['zero_point']}")
    for w in r.get("warnings", []):
        _err(f"tinygen: warning: {w}")
    return 0


def cmd_run(args) -> int:
    from tinygen.verify.runner import run_model

    inputs = _input_arrays(args.out_dir, args.input)
    outs = run_model(args.out_dir, inputs, target=args.target, reset_each=args.reset_each)
    if args.output:
        if len(args.output) != len(outs):
            raise TinygenError(f"model has {len(outs)} output(s); give --output once per output")
        for path, arr in zip(args.output, outs):
            path = path if path.endswith(".npy") else path + ".npy"  # what np.save writes
            try:
                np.save(path, arr)
            except OSError as exc:
                raise TinygenError(f"--output {path}: cannot write it ({exc.strerror})") from None
            _say(f"tinygen: wrote {path} {arr.dtype}{list(arr.shape)}")
    else:
        for k, arr in enumerate(outs):
            _say(f"output {k}: {arr.dtype}{list(arr.shape)}")
            _say(np.array2string(arr, threshold=64))
    return 0


def cmd_verify(args) -> int:
    from tinygen.verify.compare import verify_out

    inputs = _input_arrays(args.out_dir, args.input) if args.input else []
    summary = verify_out(args.out_dir, inputs=inputs or None, samples=args.samples, seed=args.seed,
                         allow_missing_oracle=args.allow_missing_oracle, reset_each=args.reset_each)
    for line in summary["lines"]:
        _say(line)
    if summary["oracles"]["tflm"] is None and not summary["ok"] and not summary["diff_reference"]:
        _say("  (--allow-missing-oracle accepts the NumPy reference alone)")
    return 0 if summary["ok"] else 1


def cmd_bench(args) -> int:
    if args.target != "qemu":
        raise TinygenError("bench supports --target qemu (instruction counts under QEMU -icount)")
    from tinygen.verify.qemu import bench

    result = bench(args.out_dir)
    if args.json:
        _say(json.dumps(result, sort_keys=True))
        return 0
    _say(f"tinygen bench {args.out_dir}: {result['instructions']:,} instructions per inference, "
          f"{result['macs']:,} MACs, {result['macs'] / max(result['instructions'], 1):.3f} MACs/instruction")
    _say(f"{'#':>3} {'layer':40} {'op':20} {'instructions':>14} {'MACs':>12} {'MACs/insn':>9}")
    for i, layer in enumerate(result["layers"]):
        mpi = layer["macs"] / layer["instructions"] if layer["instructions"] else 0.0
        _say(f"{i:>3} {layer['name'][:40]:40} {layer['op']:20} {layer['instructions']:>14,} "
              f"{layer['macs']:>12,} {mpi:>9.3f}")
    if result.get("comparison"):
        _say(result["comparison"])
    return 0


def cmd_boards(args) -> int:
    from tinygen.target.boards import list_boards

    _say(f"{'board':22} {'core':14} {'flash':>10} {'RAM':>10}  {'qemu':12} kernels")
    for b in list_boards():
        _say(f"{b.name:22} {b.core:14} {b.flash_size // 1024:>8} K {b.ram_size // 1024:>8} K  "
              f"{b.qemu_machine or '-':12} {b.kernel_path}")
    return 0


def cmd_report(args) -> int:
    path = Path(args.out_dir) / "report.md"
    if not path.is_file():
        raise TinygenError(f"{args.out_dir}: no report.md; run `tinygen build` first")
    _say(path.read_text(), end="")
    return 0


def cmd_export_tflite(args) -> int:
    from tinygen.verify.export_tflite import export_tflite

    path = export_tflite(args.out_dir, args.file)
    _say(f"tinygen: wrote {path} (the model as tinygen quantized it, runnable by TFLM)")
    return 0


def _package_args(b: argparse.ArgumentParser) -> None:
    """build: --project and --labels."""
    b.add_argument("--project", default="plain",
                   choices=["plain", "cmake", "arduino", "platformio", "zephyr", "esp-idf"],
                   help="also write OUT/PROJECT/NAME/, a package with files named after --name: cmake, arduino, "
                        "platformio, zephyr or esp-idf (default plain: the Makefile firmware project only)")
    b.add_argument("--labels", metavar="FILE", help="class labels of output 0, one per line: <name>_labels[] in the header")


def _build_parser(sub, common) -> None:
    """`tinygen build` and its options."""
    b = sub.add_parser("build", parents=[common], help="compile a model into a firmware project")
    b.add_argument("model", help="a .tflite, .onnx, .keras or .h5 model")
    b.add_argument("-o", "--output", required=True,
                   help="output folder, written atomically; an earlier tinygen build there needs --force")
    b.add_argument("--force", action="store_true",
                   help="replace an earlier tinygen output folder (its build/ and edits); never another folder")
    b.add_argument("--board", default="cortex-m4", help="target board (see `tinygen boards`), default cortex-m4")
    b.add_argument("--calib", action="append", metavar="[INPUT=]FILE[:KEY]",
                   help="calibration data .npy/.npz: N float samples per model input; several inputs: an .npz "
                        "with one array per input (by input name, else in input order) or --calib once per "
                        "input (INPUT=FILE); FILE.npz:KEY picks one array")
    b.add_argument("--name", default="model", help="C prefix of the generated API, default 'model'")
    b.add_argument("--estimator", default="auto", choices=["auto", "minmax", "percentile", "mse"],
                   help="activation range estimator for PTQ (default auto: the better one per tensor)")
    b.add_argument("--weights", default="int8", metavar="SCHEME",
                   help="weight scheme for float models: int8 (default), int8c (one byte per weight), int4, "
                        "kmeans4, kmeans3, kmeans2, ternary, binary; or per layer 'conv1=int4,dense=int8,*=int4'; "
                        "or a .toml file with a [weights] table")
    b.add_argument("--activations", default="int8", choices=["int8", "int16"],
                   help="activation width for float models (int16: TFLite's 16x8 mode)")
    b.add_argument("--mixed", choices=["auto"],
                   help="choose each layer's weight scheme to fit --budget-flash with the least output error")
    b.add_argument("--budget-flash", metavar="BYTES", help="bytes of model constants allowed (e.g. 40000, 40K)")
    b.add_argument("--budget-ram", metavar="BYTES", help="arena bytes allowed: above it the first layers run in "
                   "bands of rows (patch-based, the overlap recomputed) when that fits; else the build fails "
                   "(with --mixed auto: schemes whose estimated arena exceeds it are not chosen)")
    b.add_argument("--extend", choices=["auto", "all", "none"], default="auto",
                   help="weights stored pre-extended to int16 (faster on DSP cores, twice the flash): auto (default) "
                        "for the layers that save most under --extend-budget, all, or none")
    b.add_argument("--extend-budget", metavar="BYTES", help="flash for constants + kernels with --extend auto "
                   "(default: the estimated TFLM + CMSIS-NN flash for the model)")
    b.add_argument("--patch-limit", type=float, default=0.10, metavar="FRACTION",
                   help="instructions the banded layers may add to fit --budget-ram (estimated from the kernels' "
                        "measured costs), as a fraction of the model's (default 0.1: +10%%)")
    b.add_argument("--io-in-arena", action="store_true",
                   help="plan the model's input and output tensors into the arena with the others (as TFLM "
                        "does): a smaller total RAM; the C adds <name>_input() / <name>_output() / <name>_run()")
    b.add_argument("--no-fit-check", action="store_true", help="build even if the model exceeds the board")
    b.add_argument("--input-shape", action="append", metavar="[NAME=]D,D,...",
                   help="ONNX: the shape of an input with dynamic dimensions (a dynamic batch is taken as 1)")
    b.add_argument("--io-layout", default="nhwc", choices=["nhwc", "onnx"],
                   help="ONNX: the C API's input / output layout: nhwc (default, no transposes) or onnx (the "
                        "model's own, e.g. NCHW: a TRANSPOSE after the input and before the output)")
    _package_args(b)
    b.set_defaults(func=cmd_build)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygen", description="TinyML code generator: Keras or int8 .tflite "
                                "in, bit-exact static C for Cortex-M out.")
    verbose_help = "also show what TensorFlow, Keras and other libraries print (hidden by default)"
    p.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    p.add_argument("--version", action="version", version=f"tinygen {version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _build_parser(sub, common)

    r = sub.add_parser("run", parents=[common], help="run a built model on inputs")
    r.add_argument("out_dir")
    r.add_argument("--input", action="append", required=True, metavar="[INPUT=]FILE[:KEY]",
                   help=".npy shaped (N, *sample shape), once per model input (or one .npz with an array per "
                        "input); float data is quantized, integer data that fits the input's type taken as is")
    r.add_argument("--output", action="append", help=".npy to write (N, *output sample shape), once per output")
    r.add_argument("--target", default="host", choices=["host", "qemu"])
    r.add_argument("--reset-each", action="store_true",
                   help="stateful models: start every sample from the initial state (default: the samples run "
                        "in order through one instance and the state carries, as in one TFLM interpreter)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("verify", parents=[common], help="compare the generated C with TFLM and the NumPy reference, byte for byte")
    v.add_argument("out_dir")
    v.add_argument("--input", action="append", metavar="[INPUT=]FILE[:KEY]",
                   help="extra inputs .npy (N, *sample shape), once per model input (or one .npz)")
    v.add_argument("--samples", type=int, default=20, help="random samples (default 20)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--allow-missing-oracle", action="store_true",
                   help="exit 0 when TFLM cannot run but the NumPy reference matches (the summary says so)")
    v.add_argument("--reset-each", action="store_true",
                   help="stateful models: every sample from the initial state (a fresh TFLM interpreter each)")
    v.set_defaults(func=cmd_verify)

    be = sub.add_parser("bench", parents=[common], help="instructions per inference and per layer under QEMU -icount")
    be.add_argument("out_dir")
    be.add_argument("--target", default="qemu", choices=["qemu"])
    be.add_argument("--json", action="store_true", help="print one JSON object")
    be.set_defaults(func=cmd_bench)

    bo = sub.add_parser("boards", parents=[common], help="list the boards tinygen knows")
    bo.set_defaults(func=cmd_boards)

    ex = sub.add_parser("export-tflite", parents=[common], help="write the model as tinygen quantized it as an int8 .tflite")
    ex.add_argument("out_dir")
    ex.add_argument("file", help="the .tflite file to write")
    ex.set_defaults(func=cmd_export_tflite)

    rp = sub.add_parser("report", parents=[common], help="print the build report (report.md) of an output folder")
    rp.add_argument("out_dir")
    rp.set_defaults(func=cmd_report)
    from tinygen.cli_tools import add_parsers as add_tool_parsers  # validate, analyze
    add_tool_parsers(sub, common, _say)
    return p


def _one_line(text: str, limit: int = 500) -> str:
    """Errors are one line: fold wrapped library messages, cut very long ones."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def version() -> str:
    """The installed distribution's version, else (running from a source tree) the package's own."""
    from importlib import metadata

    try:
        return metadata.version("tinygen")
    except metadata.PackageNotFoundError:
        import tinygen

        return tinygen.__version__


# Python modules tinygen may import on demand -> the package that provides them.
_PACKAGES = {"tflite_micro": "tflite-micro", "sklearn": "scikit-learn", "yaml": "pyyaml"}
_BACKENDS = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow", "openvino": "openvino"}


def _missing_module(exc: ModuleNotFoundError) -> str:
    """A one-line fix for an optional module that is not installed."""
    name = (exc.name or "").split(".")[0]
    backend = os.environ.get("KERAS_BACKEND", "")
    if backend and _BACKENDS.get(backend) == name:
        return (f"KERAS_BACKEND={backend}: the '{name}' package is not installed; install it "
                f"(pip install {name}) or unset KERAS_BACKEND to use TensorFlow")
    package = _PACKAGES.get(name, name)
    return f"the Python package '{package}' is not installed and this step needs it: pip install {package}"


def _run(args) -> int:
    try:
        return args.func(args)
    except OptionError as exc:
        _err(f"tinygen: error: {_one_line(exc.render(OPTION_FLAGS))}")
    except TinygenError as exc:
        _err(f"tinygen: error: {_one_line(str(exc))}")
    except ModuleNotFoundError as exc:
        if os.environ.get("TINYGEN_DEBUG") or (exc.name or "").split(".")[0] in ("", "tinygen"):
            raise  # tinygen's own module missing: an internal bug
        _err(f"tinygen: error: {_missing_module(exc)}")
    except KeyboardInterrupt:
        _err("tinygen: interrupted")
        return 130
    return 1


def _silence_stdout() -> None:
    """The reader of stdout went away (`| head`): drop what is still buffered instead of failing on it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv=None) -> int:
    from tinygen import console

    args = make_parser().parse_args(argv)
    try:
        with _CONSOLE.quiet(enabled=not (args.verbose or os.environ.get("TINYGEN_VERBOSE"))):
            with console.progress_to(_CONSOLE):
                try:
                    code = _run(args)
                except BrokenPipeError:
                    raise
                except Exception as exc:  # an internal bug: one line, traceback only on request
                    if os.environ.get("TINYGEN_DEBUG"):
                        raise
                    _err(f"tinygen: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                         "(set TINYGEN_DEBUG=1 for a traceback)")
                    code = 3
            _CONSOLE.out.flush()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 128 + 13  # as if killed by SIGPIPE, as `yes | head` is


if __name__ == "__main__":
    sys.exit(main())
