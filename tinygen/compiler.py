"""The driver: a flat sequence of stages from a model to an output folder.

frontend -> passes -> quantize -> lower -> plan -> codegen -> (firmware) -> report, each stage a
call into its own module; this file holds no op-specific logic.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from tinygen import datafiles, ir
from tinygen.codegen import model as codegen
from tinygen.memory import patch, stage
from tinygen.memory import plan as planner
from tinygen.errors import TinygenError, UnsupportedError
from tinygen.options import CompileOptions, OptionError
from tinygen.lower.base import lower_op

_FORMAT_VERSION = 1


@dataclass
class CompileResult:
    graph: ir.Graph  # quantized graph
    lowered: list
    plan: planner.Plan
    files: dict  # model/ file name -> text: <name>.c, <name>.h and the runtime kernels
    report: dict
    out_dir: Optional[Path] = None


def load_model(model, input_shape=None, io_layout: str = "nhwc") -> ir.Graph:
    """Read a model with the right frontend and validate it before anything else uses it.
    ONNX only: `input_shape` ({input name or '*': shape}) sizes dynamic dimensions; `io_layout` "onnx" keeps
    the model's own input / output layout at the C API (default "nhwc": channels-last)."""
    from tinygen.ir import validate

    graph = _frontend(model, input_shape, io_layout)
    validate.check(graph)
    return graph


def _frontend(model, input_shape=None, io_layout: str = "nhwc") -> ir.Graph:
    """Frontend dispatch: .tflite -> tflite reader; .onnx -> ONNX reader; .keras/.h5 or a keras.Model -> Keras reader.

    A QAT model (tinygen.qat) comes back already quantized, with its trained ranges.
    """
    if isinstance(model, ir.Graph):
        return model
    from tinygen.quant.qat import export as qat_export
    if qat_export.is_qat_model(model):
        return qat_export.to_graph(model)
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise TinygenError(f"{path}: no such model file")
        suffix = path.suffix.lower()
        if suffix == ".tflite":
            from tinygen.frontend.tflite import load_tflite
            return load_tflite(path)
        if suffix in (".keras", ".h5", ".hdf5"):
            from tinygen.frontend.keras import load_keras
            return load_keras(path)
        if suffix == ".onnx":
            from tinygen.frontend.onnx import load_onnx
            return load_onnx(path, input_shape, io_layout)
        raise TinygenError(f"{path}: unknown model format '{suffix}' (expected .tflite, .onnx, .keras or .h5)")
    if hasattr(model, "layers") and hasattr(model, "inputs"):
        from tinygen.frontend.keras import load_keras
        return load_keras(model)
    raise TinygenError(f"cannot compile an object of type {type(model).__name__}: pass a path or a keras.Model")


def is_float_graph(graph: ir.Graph) -> bool:
    return any(graph.tensors[t].dtype == "float32" for t in graph.inputs) and not any(
        op.kind == ir.OpKind.QUANTIZE for op in graph.ops)


def quantize(graph: ir.Graph, calibration=None, estimator: str = "auto", weights="int8",
             activations: str = "int8", budget_flash: Optional[int] = None,
             budget_ram: Optional[int] = None) -> ir.Graph:
    """Float graph -> quantized graph: passes, PTQ, then per-layer weight schemes (quant/schemes.py).

    `weights` is a scheme for every layer, a {layer: scheme} table, or "auto": per-layer schemes
    chosen to fit `budget_flash` bytes of constant data with the least output error (quant/mixed.py),
    leaving out schemes whose estimated arena exceeds `budget_ram` when it is given.
    """
    from tinygen import passes
    from tinygen.ir import validate
    from tinygen.quant import ptq, schemes

    CompileOptions.make(calibration=calibration, estimator=estimator, weights=weights,
                        activations=activations, budget_flash=budget_flash)
    graph = passes.optimize(graph)
    auto = weights == "auto"
    table = None if auto else schemes.resolve(graph, weights)
    lowbit = auto or any(s != "int8" for s in table.values())
    kwargs = {} if activations == "int8" else {"activations": activations}
    q = ptq.quantize(graph, calibration, estimator=estimator, bias_correction=not lowbit, **kwargs)
    if lowbit:
        calib = ptq.check_calibration(graph, calibration) if calibration is not None else None
        if auto:
            from tinygen.quant import mixed

            choice = mixed.choose(graph, q, calib, int(budget_flash), budget_ram=budget_ram)
            table = choice.table
            q.mixed = dict(budget_flash=int(budget_flash), predicted_bytes=int(choice.predicted_bytes),
                           budget_ram=budget_ram, int8_bytes=choice.int8_bytes, int8_arena_bytes=choice.int8_arena,
                           predicted_arena_bytes=choice.predicted_arena,
                           layers={n: dict(scheme=s, bytes=int(choice.costs[n][s]),
                                           error=choice.errors[n][s], int8_error=choice.errors[n]["int8"])
                                   for n, s in table.items()})
        schemes.apply(graph, q, table)
        if calib is not None and not q.warnings:  # real calibration data: correct biases on the final weights
            ptq.correct_biases(graph, q, calib)
    validate.check(q)
    return q


def lower(graph: ir.Graph) -> list:
    ir.verify(graph, "lower")
    return [lower_op(op, graph) for op in graph.ops]


def generate(graph: ir.Graph, name: str = "model", labels=None, io_in_arena: bool = False,
             budget_ram: Optional[int] = None, patch_limit: float = 0.10) -> CompileResult:
    """Lower, plan and render C for a quantized graph (no files written); `labels` name output 0's values;
    `io_in_arena` plans the model's I/O into the arena; above `budget_ram` the first layers may run in bands
    (memory/patch.py, at most `patch_limit` extra MACs) and low-bit layers take their packed kernels (memory/stage.py).

    The model's files are <name>.c / <name>.h, so models of different names share one folder."""
    out0 = graph.tensors[graph.outputs[0]]
    labels = codegen.read_labels(labels, out0.size, out0.name)
    graph, lowered, banded, arena = stage.run(graph, budget_ram, patch_limit, io_in_arena)
    files = codegen.render(graph, lowered, arena, name=name, stem=name, labels=labels)
    report = build_report(graph, lowered, arena, name)
    report["patch"] = patch.summary(banded)
    if labels:
        report["labels"] = labels
    return CompileResult(graph, lowered, arena, files, report)


def _tensor_info(t: ir.Tensor) -> dict:
    q = t.quant
    return dict(name=t.name, shape=list(t.shape), dtype=t.dtype,
                scale=(q.scale[0] if q else None), zero_point=(q.zero_point[0] if q else None))


def build_report(graph: ir.Graph, lowered: list, arena: planner.Plan, name: str) -> dict:
    layers = []
    for i, lop in enumerate(lowered):
        op = lop.op
        layers.append(dict(
            index=i, name=op.name, op=op.kind.value,
            kernel="view" if i in arena.views else (lop.c_function or "alias"),
            inputs=[list(graph.tensors[t].shape) for t in op.inputs if t is not None and not graph.tensors[t].is_const],
            outputs=[list(graph.tensors[t].shape) for t in op.outputs],
            macs=int(lop.macs), weight_bytes=int(lop.weight_bytes), scratch_bytes=int(lop.scratch_bytes),
            arena={t: _storage_str(arena.storage.get(t)) for t in op.outputs},
        ))
    return dict(
        format=_FORMAT_VERSION, name=name, model=graph.name, source=str(graph.source),
        arena_bytes=int(arena.arena_bytes), live_set_lower_bound=int(arena.lower_bound),
        io_in_arena=bool(arena.io_in_arena),
        planner=arena.strategy, persistent_bytes=int(arena.state_bytes),
        variables=[dict(name=s.tensor, offset=int(s.offset), bytes=int(s.nbytes)) for s in arena.state],
        weights_bytes=int(sum(lop.weight_bytes for lop in lowered)),
        macs=int(sum(lop.macs for lop in lowered)),
        inputs=[_tensor_info(graph.tensors[t]) for t in graph.inputs],
        outputs=[_tensor_info(graph.tensors[t]) for t in graph.outputs],
        layers=layers,
    )


def _storage_str(s) -> str:
    if s is None:
        return "none"
    kind, where = s
    return f"{kind}[{where}]" if kind != "arena" else f"arena+{where}"


def compile_model(model, out_dir, options: Optional[CompileOptions] = None, *, force: bool = True,
                  **kwargs) -> CompileResult:
    """Compile `model` into `out_dir` (replaced atomically); returns the result with its report.

    `options` and/or keyword arguments are the fields of CompileOptions (keywords win). The stages are
    those of `build` (every check, nothing written), then: write model/, firmware/, tinygen.json and the
    report, with the optional slow stages: the stack depth from arm-none-eabi-gcc (measure_stack) and
    TFLM's arena for a .tflite (compare_tflm_arena). An existing tinygen output folder is replaced only
    with `force` (the command line asks for --force); a folder that is not one is never replaced.
    """
    opts = CompileOptions.make(options, **kwargs)
    out_dir = Path(out_dir)
    check_output(out_dir, force)  # before the build: a refused folder costs no build time
    result = build(model, opts)
    from tinygen.console import progress
    progress("writing the output folder")
    _write_atomically(out_dir, lambda tmp: _write_all(tmp, result, _load_board(opts.board), opts), force)
    result.out_dir = out_dir
    return result


def build(model, options: Optional[CompileOptions] = None, on_stage=None, **kwargs) -> CompileResult:
    """Every stage of compile_model but the writing; raises where compile_model would.

      1. load: frontend (.tflite | Keras | QAT model) and validate.check
      2. quantize: float models get passes, PTQ and weight schemes; int8 models may change storage (int8c)
      3. bounds: refuse a layer whose accumulator could wrap
      4. generate: lower (choose kernels), schedule.optimize (order, in-place), plan (arena), codegen
      5. budgets, then fit: the options' budgets and the board's RAM and flash
    `on_stage(name)` is called as each stage starts (the fuzzer counts rejections per stage).
    """
    from tinygen.lower import bounds, extend_budget, mve  # extend_budget: which layers keep int16 weights

    opts = CompileOptions.make(options, **kwargs)
    stage = _reporting(on_stage)
    board_obj = _load_board(opts.board)
    stage("load")
    graph = load_model(model, opts.input_shape, opts.io_layout)
    calibration, notes = datafiles.calibration_arrays(opts.calibration, [(t, graph.tensors[t].shape[1:])
                                                                         for t in graph.inputs])
    opts = dataclasses.replace(opts, calibration=calibration)  # a path / spec / {name: array} -> arrays
    onnx_layout = getattr(graph, "onnx_io", None)  # an ONNX model: calibration comes in its own layout
    if onnx_layout is not None and opts.calibration is not None:
        from tinygen.frontend.onnx.io import calibration_to_stored
        opts = dataclasses.replace(opts, calibration=calibration_to_stored(onnx_layout, opts.calibration))
    stage("quantize")
    load_warnings = list(graph.warnings) + notes  # the frontend's notes (a dynamic batch taken as 1) stay
    graph = _quantize_stage(graph, opts)
    graph.warnings[:0] = [w for w in load_warnings if w not in graph.warnings]
    stage("bounds")
    accumulators = bounds.check(graph)
    stage("generate")
    with mve.for_board(board_obj):  # the board's Helium (MVE) kernels, when it has MVE (tinygen/lower/mve.py)
        graph, extended = extend_budget.choose(graph, opts.extend, opts.extend_budget, board_obj)
        result = generate(graph, name=opts.name, labels=opts.labels, io_in_arena=opts.io_in_arena,
                          budget_ram=opts.budget_ram, patch_limit=opts.patch_limit)
    _annotate_report(result.report, graph, opts, accumulators)
    result.report.update(extend=extended, **({} if onnx_layout is None else {"onnx_layout": onnx_layout}))
    stage("budgets")
    _check_budgets(result.report, opts)
    if opts.check_fit:
        stage("fit")
        _fit_check(board_obj, result, opts.firmware)
    return result


_STAGE_TEXT = {"load": "loading the model", "quantize": "quantizing", "bounds": "checking accumulator ranges",
               "generate": "generating C", "budgets": "checking the budgets", "fit": "checking the board fit"}


def _reporting(on_stage):
    """A stage callback that also reports progress (shown by the command line on a terminal)."""
    from tinygen.console import progress

    def stage(name: str) -> None:
        progress(_STAGE_TEXT.get(name, name))
        if on_stage is not None:
            on_stage(name)
    return stage


def _quantize_stage(graph: ir.Graph, opts: CompileOptions) -> ir.Graph:
    """Float graphs are quantized; quantized ones only accept options that keep their values."""
    if is_float_graph(graph):
        return quantize(graph, opts.calibration, estimator=opts.estimator, weights=opts.weights,
                        activations=opts.activations, budget_flash=opts.budget_flash, budget_ram=opts.budget_ram)
    if _storage_only(graph, opts.weights) and not opts.float_only:
        from tinygen.quant import schemes

        graph = graph.copy()  # int8c: the same int8 values, stored one byte per weight
        schemes.apply(graph, graph, schemes.resolve(graph, opts.weights))
        return graph
    if opts.weights != "int8" or opts.activations != "int8" or opts.mixed or opts.budget_flash is not None:
        raise OptionError("{weights} / {activations} / {mixed} apply to float models; this model is already "
                          "quantized (a .tflite, or a QAT model that carries its trained ranges); only "
                          "{weights} int8c (storage, the same values) applies to it")
    if opts.calibration is not None:
        raise OptionError("calibration data ({calibration}) was given, but the model is already quantized "
                          "(a .tflite, or a QAT model that carries its trained ranges)")
    return graph


def _annotate_report(report: dict, graph: ir.Graph, opts: CompileOptions, accumulators: dict) -> None:
    from tinygen.quant import schemes

    report["accumulators"] = {k: {f: v[f] for f in ("op", "max_abs_acc", "limit", "safe")}
                              for k, v in accumulators.items()}
    report["board"] = opts.board
    report["warnings"] = list(graph.warnings)
    if graph.quant_report:
        report["quantization"] = graph.quant_report
    report["weight_schemes"] = schemes.summary(graph)
    if graph.mixed:
        report["mixed"] = graph.mixed


def _check_budgets(report: dict, opts: CompileOptions) -> None:
    if opts.budget_flash is not None and report["weights_bytes"] > opts.budget_flash:
        raise OptionError(f"{{budget_flash}} {opts.budget_flash:,} B: the model's constant data is "
                          f"{report['weights_bytes']:,} B")
    if opts.budget_ram is not None and report["arena_bytes"] > opts.budget_ram:
        raise OptionError(f"{{budget_ram}} {opts.budget_ram:,} B: the arena needs {report['arena_bytes']:,} B "
                          f"(live-set lower bound {report['live_set_lower_bound']:,} B)")


def _storage_only(graph: ir.Graph, weights) -> bool:
    """Does `weights` only choose between int8 storages (int8 / int8c) for int8 filters?"""
    from tinygen.quant import schemes

    if weights == "auto" or not any(graph.tensors[op.inputs[1]].dtype == "int8"
                                    for op in schemes.weighted_layers(graph)):
        return False
    table = schemes.resolve(graph, weights)
    return set(table.values()) <= {"int8", "int8c"} and "int8c" in set(table.values())


def _load_board(board: str):
    from tinygen.target.boards import load_board
    return load_board(board)


# Flash the model needs beyond its weights: kernels, startup and I/O (measured: 3.7-38 KB at -O2).
_CODE_FLASH_ESTIMATE = 32 * 1024


def _fit_check(board_obj, result: CompileResult, with_firmware: bool = True) -> None:
    """RAM: arena + state; flash: the estimated image (weights + the kernels this model links + startup and
    I/O, codegen/estimate.py), or weights + a flat code allowance on a core without a cost table."""
    from tinygen.codegen.estimate import image_bytes
    from tinygen.codegen.firmware import DEFAULT_STACK_BYTES, fit_check
    ram = result.report["arena_bytes"] + result.report["persistent_bytes"]  # the state region is RAM too
    image = image_bytes(result.report, [Path(f).name for f in result.files], board_obj)
    flash = image["total"] if image else result.report["weights_bytes"] + _CODE_FLASH_ESTIMATE
    if with_firmware:  # the firmware's main.c embeds one test input
        flash += sum(int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize for t in result.report["inputs"])
    fit_check(board_obj, ram, DEFAULT_STACK_BYTES, flash)


def manifest(result: CompileResult, board: str) -> dict:
    return dict(format=_FORMAT_VERSION, board=board, name=result.report["name"], model=result.graph.name,
                inputs=result.report["inputs"], outputs=result.report["outputs"],
                arena_bytes=result.report["arena_bytes"], persistent_bytes=result.report["persistent_bytes"],
                model_files=model_files(result.report["name"]),
                **({"onnx_layout": result.report["onnx_layout"]} if "onnx_layout" in result.report else {}))


def model_files(name: str) -> dict:
    """tinygen.json's `model_files`: the model's source and header in the output folder. Readers use
    runner.model_paths, which takes model/model.c / model.h for a folder written before the field."""
    return {"source": f"model/{name}.c", "header": f"model/{name}.h"}


def _write_all(tmp: Path, result: CompileResult, board_obj, opts: CompileOptions) -> None:
    board = opts.board
    codegen.write(result.files, tmp / "model")
    from tinygen.ir import serialize
    (tmp / ".tinygen").mkdir()
    serialize.save(result.graph, tmp / ".tinygen")
    from tinygen.verify.compare import source_record
    man = manifest(result, board)
    man["source"] = source_record(result.graph.source, tmp)  # what `tinygen verify` runs TFLM on
    (tmp / "tinygen.json").write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    if opts.measure_stack:
        result.report["stack"] = _stack_report(tmp / "model", result.report["name"], board_obj)
    from tinygen.codegen.report import write_report
    # report.json, report.md, memory.png
    write_report(tmp, result.report, result.plan, result.graph, board_obj, compare_tflm=opts.compare_tflm_arena)
    rng = np.random.default_rng(0)  # a fixed pseudo-random sample, the same on every build
    test_inputs = [rng.integers(np.iinfo(t["dtype"]).min, np.iinfo(t["dtype"]).max, size=t["shape"],
                                endpoint=True).astype(t["dtype"])
                   if np.issubdtype(np.dtype(t["dtype"]), np.integer)
                   else rng.standard_normal(t["shape"]).astype(t["dtype"]) for t in man["inputs"]]
    if opts.firmware:
        from tinygen.codegen.firmware import write_firmware
        write_firmware(tmp, board_obj, man, test_inputs)
    if opts.project != "plain":  # OUT/<project>/<name>/: the package, files named after the model
        from tinygen.codegen.project import write_project
        write_project(tmp, opts.project, result, board, man, test_inputs)


def _stack_report(model_dir: Path, name: str, board_obj) -> dict:
    """Worst-case stack of <name>_invoke_io from the cross compiler's -fstack-usage call graph."""
    from tinygen.lower import bounds
    from tinygen.errors import BuildError

    if shutil.which("arm-none-eabi-gcc") is None:
        return {"error": "arm-none-eabi-gcc not found: stack depth not measured"}
    try:
        su = bounds.stack_usage(model_dir, entry=f"{name}_invoke_io", cflags=tuple(board_obj.arch_flags) + ("-O2",))
    except BuildError as exc:
        return {"error": str(exc)}
    return {k: su[k] for k in ("worst_bytes", "path", "bounded", "unknown", "compiler", "cflags")}


def check_output(out_dir: Path, force: bool) -> None:
    """May `out_dir` be written? A file, a folder tinygen did not write (not empty, no tinygen.json) or,
    without `force`, an earlier tinygen output (its build/ and any edits) is refused."""
    if out_dir.exists() and not out_dir.is_dir():
        raise TinygenError(f"{out_dir}: exists and is not a folder; give -o a folder path")
    parent = next((p for p in out_dir.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise TinygenError(f"{out_dir}: {parent} is a file, not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not (out_dir / "tinygen.json").is_file():
        raise TinygenError(f"{out_dir}: exists and is not a tinygen output folder; not replacing it")
    if not force:
        raise TinygenError(f"{out_dir}: holds an earlier tinygen build (and its build/ and any edits); "
                           "pass --force to replace it")


def _write_atomically(out_dir: Path, writer, force: bool = True) -> None:
    """Write into a sibling temp folder, then swap it in: no half-written output on failure."""
    out_dir = out_dir.resolve()
    check_output(out_dir, force)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise TinygenError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    try:
        writer(tmp)
        check_output(out_dir, force)  # nothing appeared there during the build
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, old / "x")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["CompileOptions", "CompileResult", "build", "compile_model", "generate", "load_model", "quantize", "lower",
           "UnsupportedError"]
