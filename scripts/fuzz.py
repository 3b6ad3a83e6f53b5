#!/usr/bin/env python3
"""Mutation fuzzer for tinygen's .tflite path: mutate real models, run compile_model's checks, run a sample in C.

Every case goes through the stages of `tinygen.compiler.compile_model` with its defaults (board cortex-m4):
load_tflite -> validate.check -> (quantize, for a float model) -> bounds.check -> generate (lower, schedule,
plan, codegen) -> the board fit check. Only the file writing is left out (model/, report, firmware, the
arm-none-eabi stack measurement). A case passes when it compiles or raises a TinygenError subclass.
A TinygenError whose __cause__ / __context__ chain holds a non-tinygen exception (a struct.error or
IndexError caught and re-raised as ModelFormatError, for instance) is counted apart as "relabelled": the
input was not validated before it was read. Anything else (IndexError, AssertionError, MemoryError,
RecursionError, ...) is a crash; a case still running after --timeout CPU seconds is a hang (an ITIMER_PROF
alarm: CPU time, so a loaded machine does not turn slow cases into false hangs).

A sample of the accepted mutants (--c-rate, drawn from (seed, index)) is compiled with gcc under
ASan + UBSan (-fno-sanitize-recover=all) into a standalone executable per kernel path -- "portable" (the
host build) and "device" (the DSP/SIMD kernels, -DTG_EMULATE_DSP=1) -- and run on random inputs in a
subprocess. A compile error, a sanitizer report, a signal, a non-zero exit, a timeout or an output that
differs from tinygen.verify.testing.run_reference is a C finding; its input is kept under --out/findings.
Runtime objects are compiled once per (source, flags) and cached under --obj-cache.
Each case is reproducible from (--seed, case index): `fuzz.py --seed S --replay I` reruns one case and
always runs its C.

    nice -n 15 .venv/bin/python -W ignore scripts/fuzz.py --cases 10000 --seed 2 --c-rate 0.14 --out build/fuzz/s2
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from tinygen.verify.hostbuild import kernel_path_cflags  # noqa: E402
MODELS = ROOT.parent / "shared" / "models"
# (path relative to MODELS, weight): small models are picked more often, they run faster
CORPUS = [
    ("tflm/hello_world/hello_world_int8.tflite", 10),
    ("tflm/micro_speech/micro_speech_quantized.tflite", 6),
    ("mlperf/kws/kws_ref_model.tflite", 3),
    ("mlperf/ic/pretrainedResnet_quant.tflite", 3),
    ("mlperf/sww/str_ww_ref_model.tflite", 2),
    ("mlperf/ad/ad01_int8.tflite", 1),
    ("mlperf/vww/vww_96_int8.tflite", 1),
    ("tflm/person_detection/person_detect.tflite", 1),
    ("tflm/hello_world/hello_world_float.tflite", 1),
    ("tflm/int16_ops/add/add0.tflite", 1),
    ("tflm/int16_ops/conv/conv0.tflite", 1),
    ("tflm/int16_ops/pad/pad0.tflite", 1),
    ("tflm/int16_ops/strided_slice/strided_slice0.tflite", 1),
    ("tflm/int16_ops/transpose_conv/transpose_conv0.tflite", 1),
    ("tflm/int16_ops/leaky_relu/leaky_relu0.tflite", 1),
    ("tflm/int16_ops/sub/sub0.tflite", 1),
    ("tflm/int16_ops/quantize/quantize0.tflite", 1),
]
INTERESTING32 = [0, 1, -1, 2, 3, 4, 7, 8, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000,
                 0x40000000, 1000, 65537]
INTERESTING_F = [0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e-45, 1e-38, 1e38, 3.4e38, 1e-10,
                 1.0, 0.5, 255.0]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


# ---- byte-level mutations ------------------------------------------------------------------------


def bit_flip(buf: bytearray, rng: random.Random) -> str:
    n = rng.choice((1, 1, 2, 4, 8, 32))
    for _ in range(n):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return f"bitflip x{n}"


def byte_set(buf: bytearray, rng: random.Random) -> str:
    n = rng.choice((1, 2, 4, 16))
    for _ in range(n):
        buf[rng.randrange(len(buf))] = rng.choice((0, 0xFF, 0x7F, 0x80, 1, rng.randrange(256)))
    return f"byteset x{n}"


def int32_set(buf: bytearray, rng: random.Random) -> str:
    """Overwrite an aligned 32-bit word: offsets, vector lengths and scalars are all 32-bit in flatbuffers."""
    i = rng.randrange(0, max(len(buf) - 4, 1)) & ~3
    v = rng.choice(INTERESTING32 + [len(buf), len(buf) - i, rng.randrange(-(1 << 31), 1 << 31)])
    struct.pack_into("<i", buf, i, ((v + (1 << 31)) % (1 << 32)) - (1 << 31))
    return f"int32@{i}={v}"


def truncate(buf: bytearray, rng: random.Random) -> str:
    n = rng.choice((rng.randrange(len(buf)), rng.randrange(min(len(buf), 64)), len(buf) - rng.randrange(1, 64)))
    n = max(0, min(n, len(buf) - 1))
    del buf[n:]
    return f"truncate@{n}"


def splice(buf: bytearray, rng: random.Random) -> str:
    """Copy a chunk of the file over another place (duplicated tables, vectors)."""
    n = rng.randrange(1, 64)
    src, dst = rng.randrange(len(buf)), rng.randrange(len(buf))
    chunk = buf[src:src + n]
    buf[dst:dst + len(chunk)] = chunk
    return f"splice {src}->{dst} n={len(chunk)}"


BYTE_MUTATORS = [bit_flip, byte_set, int32_set, truncate, splice]


# ---- field-level mutations through the flatbuffer object API ----------------------------------------


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    return schema


def _dim(rng: random.Random, old: int) -> int:
    d = rng.choice((0, -1, 1, 2, old + 1, max(old - 1, 0), old * 2, 1 << 16, 1 << 30, 0x7FFFFFFF, 3))
    return max(min(d, 0x7FFFFFFF), -(1 << 31))  # the schema field is int32


def mutate_fields(model, rng: random.Random) -> str:
    """Change one semantic field of the unpacked ModelT in place; returns a description."""
    import numpy as np

    sg = model.subgraphs[0]
    tensors, ops = sg.tensors or [], sg.operators or []
    what = rng.choice(("shape", "rank", "type", "buffer", "scale", "zero_point", "qdim", "nscales",
                       "op_input", "op_output", "opcode", "builtin_code", "options", "data_size",
                       "io", "op_order", "self_loop", "drop_op"))
    nt = len(tensors)
    if what in ("shape", "rank", "type", "buffer", "scale", "zero_point", "qdim", "nscales", "data_size") and nt:
        ti = rng.randrange(nt)
        t = tensors[ti]
        shape = list(t.shape) if t.shape is not None else []
        if what == "shape" and shape:
            d = rng.randrange(len(shape))
            shape[d] = _dim(rng, int(shape[d]))
            t.shape = np.array(shape, dtype=np.int32)
        elif what == "rank":
            shape = shape[:-1] if shape and rng.random() < 0.5 else shape + [rng.choice((1, 2, 7))]
            if rng.random() < 0.1:
                shape = [1] * rng.choice((0, 7, 9, 64))
            t.shape = np.array(shape, dtype=np.int32)
        elif what == "type":
            t.type = rng.choice((0, 1, 2, 3, 4, 7, 9, 10, 16, 17, 99))
        elif what == "buffer":
            t.buffer = rng.choice((0, 1, t.buffer + 1, len(model.buffers), len(model.buffers) - 1, -1))
        elif what == "data_size" and t.buffer and t.buffer < len(model.buffers):
            b = model.buffers[t.buffer]
            if b.data is not None and len(b.data):
                n = rng.choice((0, 1, len(b.data) - 1, len(b.data) + 1, len(b.data) * 2))
                b.data = np.resize(np.asarray(b.data, dtype=np.uint8), n)
        elif t.quantization is not None and t.quantization.scale is not None and len(t.quantization.scale):
            q = t.quantization
            if what == "scale":
                s = np.array(q.scale, dtype=np.float32)
                s[rng.randrange(len(s))] = rng.choice(INTERESTING_F)
                q.scale = s
            elif what == "zero_point":
                z = np.array(q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale), dtype=np.int64)
                if len(z):
                    z[rng.randrange(len(z))] = rng.choice((-129, 128, 255, -32769, 1 << 40, -(1 << 40), 1, -128))
                q.zeroPoint = z
            elif what == "qdim":
                q.quantizedDimension = rng.choice((-1, 0, 1, 3, 4, 100))
            elif what == "nscales":
                n = rng.choice((0, 1, 2, len(q.scale) + 1, max(len(q.scale) - 1, 0)))
                q.scale = np.resize(np.asarray(q.scale, dtype=np.float32), n)
                if rng.random() < 0.5 and q.zeroPoint is not None:
                    q.zeroPoint = np.resize(np.asarray(q.zeroPoint, dtype=np.int64), n)
        return f"tensor[{ti}].{what}"
    if ops and what in ("op_input", "op_output", "opcode", "options", "self_loop", "drop_op", "op_order",
                        "builtin_code"):
        oi = rng.randrange(len(ops))
        op = ops[oi]
        if what in ("op_input", "op_output"):
            vec = list(op.inputs if what == "op_input" else op.outputs) if (
                op.inputs if what == "op_input" else op.outputs) is not None else []
            choice = rng.random()
            if vec and choice < 0.7:
                vec[rng.randrange(len(vec))] = rng.choice((-1, -2, 0, nt, nt - 1, rng.randrange(max(nt, 1)), 1 << 30))
            elif choice < 0.85:
                vec.append(rng.randrange(max(nt, 1)))
            elif vec:
                vec.pop()
            setattr(op, "inputs" if what == "op_input" else "outputs", np.array(vec, dtype=np.int32))
        elif what == "self_loop" and op.outputs is not None and len(op.outputs) and op.inputs is not None \
                and len(op.inputs):
            ins = list(op.inputs)
            ins[0] = int(op.outputs[0])
            op.inputs = np.array(ins, dtype=np.int32)
        elif what == "opcode":
            op.opcodeIndex = rng.choice((0, len(model.operatorCodes), len(model.operatorCodes) - 1,
                                         rng.randrange(max(len(model.operatorCodes), 1)), 1 << 20))
        elif what == "builtin_code" and model.operatorCodes:
            oc = rng.choice(model.operatorCodes)
            code = rng.choice((0, 1, 3, 4, 9, 17, 18, 22, 25, 28, 32, 34, 40, 41, 49, 98, 114, 117, 127, 200))
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
        elif what == "options" and op.builtinOptions is not None:
            opts = op.builtinOptions
            fields = [k for k, v in vars(opts).items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if fields:
                k = rng.choice(fields)
                old = getattr(opts, k)
                if isinstance(old, float):
                    setattr(opts, k, rng.choice(INTERESTING_F))
                else:
                    setattr(opts, k, rng.choice((0, -1, 1, 2, 5, 6, 100, 127, 1 << 20, 0x7FFFFFFF)))
                return f"op[{oi}].options.{k}"
        elif what == "drop_op":
            del ops[oi]
        elif what == "op_order" and len(ops) > 1:
            j = rng.randrange(len(ops))
            ops[oi], ops[j] = ops[j], ops[oi]
        return f"op[{oi}].{what}"
    if what == "io":
        vec = list(sg.inputs if rng.random() < 0.5 else sg.outputs)
        if vec:
            vec[0] = rng.choice((-1, nt, rng.randrange(max(nt, 1))))
        if rng.random() < 0.5:
            sg.inputs = np.array(vec, dtype=np.int32)
        else:
            sg.outputs = np.array(vec, dtype=np.int32)
        return "subgraph.io"
    return "noop"


def pack(model) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# ---- driver --------------------------------------------------------------------------------------


class Corpus:
    def __init__(self, models: Path = MODELS):
        self.items = [(models / p, w) for p, w in CORPUS if (models / p).is_file()]
        if not self.items:
            raise SystemExit(f"no seed models under {models}")
        self.raw = {p: p.read_bytes() for p, _ in self.items}
        self.unpacked: dict = {}

    def pick(self, rng: random.Random) -> Path:
        return rng.choices([p for p, _ in self.items], weights=[w for _, w in self.items])[0]

    def model_t(self, path: Path):
        if path not in self.unpacked:
            self.unpacked[path] = _schema().ModelT.InitFromPackedBuf(bytearray(self.raw[path]), 0)
        return copy.deepcopy(self.unpacked[path])


def make_case(corpus: Corpus, seed: int, index: int) -> tuple:
    """(seed model, mutation description, bytes) for case `index`: a pure function of (seed, index)."""
    rng = random.Random(seed * 1_000_003 + index)
    path = corpus.pick(rng)
    steps = []
    if rng.random() < 0.45:
        model = corpus.model_t(path)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            try:
                steps.append(mutate_fields(model, rng))
            except (OverflowError, ValueError) as exc:  # a value the schema type cannot hold: skip the step
                steps.append(f"mutation refused ({type(exc).__name__})")
        try:
            buf = bytearray(pack(model))
        except Exception as exc:  # the object API refuses the mutation (e.g. a value out of int32)
            steps.append(f"pack failed ({type(exc).__name__}): byte mutation instead")
            buf = bytearray(corpus.raw[path])
            steps.append(rng.choice(BYTE_MUTATORS)(buf, rng))
        if rng.random() < 0.2 and len(buf) >= 8:  # a truncation may have left nothing to mutate
            steps.append(rng.choice(BYTE_MUTATORS)(buf, rng))
    else:
        buf = bytearray(corpus.raw[path])
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            if len(buf) < 8:
                break
            steps.append(rng.choice(BYTE_MUTATORS)(buf, rng))
    return path, "; ".join(steps), bytes(buf)


BOARD = "cortex-m4"  # compile_model's default board
STAGE = ""  # the stage compile_checks is in (a rejection is counted per stage)


def compile_checks(buf: bytes, use_validate: bool = True):
    """compile_model's checks for a .tflite in memory, with its defaults; returns (quantized graph, result).

    `tinygen.compiler.build`: every stage of compile_model but the file writing at its end.
    """
    from tinygen import compiler
    from tinygen.frontend.tflite import load_tflite

    global STAGE
    STAGE = "frontend"
    graph = load_tflite(buf)
    if not use_validate:  # --no-validate: validate.check left out, to see what later stages do with raw input
        from tinygen.ir import validate
        check, validate.check = validate.check, lambda g: None
        try:
            return _build(compiler, graph)
        finally:
            validate.check = check
    return _build(compiler, graph)


def _build(compiler, graph):
    def on_stage(name: str) -> None:
        global STAGE
        STAGE = {"load": "validate"}.get(name, name)

    result = compiler.build(graph, compiler.CompileOptions(board=BOARD), on_stage=on_stage)
    return result.graph, result


def relabelled_from(exc: BaseException):
    """The first non-tinygen exception in `exc`'s __cause__ / __context__ chain, or None."""
    from tinygen.errors import TinygenError

    seen = set()
    e = exc.__cause__ or exc.__context__
    while e is not None and id(e) not in seen:
        if not isinstance(e, TinygenError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _innermost_tinygen_frame(tb: str) -> str:
    frames = [ln.strip() for ln in tb.splitlines() if ln.strip().startswith('File "') and "tinygen" in ln]
    where = frames[-1].split(",")[:2] if frames else ["?"]
    return ":".join(s.strip() for s in where).replace(str(ROOT) + "/", "")


def run_case(buf: bytes, timeout: float, use_validate: bool = True):
    """("compiled", graph, result) | ("rejected", "stage:ErrorClass", message)
    | ("relabelled", "ForeignType:tinygen file:line", message + traceback) | ("crash" | "hang", type, traceback)."""
    from tinygen.errors import TinygenError

    signal.setitimer(signal.ITIMER_PROF, timeout)
    try:
        graph, result = compile_checks(buf, use_validate)
        return ("compiled", graph, result)
    except TinygenError as exc:
        origin = relabelled_from(exc)
        if origin is None:
            return ("rejected", f"{STAGE}:{type(exc).__name__}", str(exc))
        tb = "".join(traceback.format_exception(type(origin), origin, origin.__traceback__))
        return ("relabelled", f"{type(origin).__name__}:{_innermost_tinygen_frame(tb)}", f"{exc}\n{tb}")
    except Hang:
        return ("hang", "Hang", traceback.format_exc())
    except BaseException as exc:  # noqa: BLE001 - a fuzzer must see everything
        if isinstance(exc, KeyboardInterrupt):
            raise
        return ("crash", type(exc).__name__, traceback.format_exc())
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def crash_key(kind: str, exc_type: str, tb: str) -> str:
    """Deduplicate by exception type and the innermost tinygen frame (file:line)."""
    return f"{kind}:{exc_type}:{_innermost_tinygen_frame(tb)}"


# ---- the C side: ASan + UBSan executables per kernel path ------------------------------------------------

SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1")
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
# the kernel paths of a host build: portable C, and the device (DSP/SIMD) kernels over emulated intrinsics
KERNEL_PATHS = {p: kernel_path_cflags(p) for p in ("portable", "device")}
C_ENV = dict(ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1",
             UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
C_SAMPLES = 3  # inputs per C run: 2 uniformly random over the dtype's range, 1 all-min or all-max

# A main() for every model named "model": argv = in-file out-file n_in size... n_out size...; it reads samples
# into exact-size heap buffers (ASan sees a kernel reading or writing one byte outside them), calls
# model_invoke_io and writes the outputs. Compiled once per kernel path and cached.
DRIVER_C = r"""
#include <stdio.h>
#include <stdlib.h>
int model_invoke_io(const void *const *inputs, void *const *outputs);
int main(int argc, char **argv)
{
    int n_in, n_out, i, n = 0, status;
    size_t in_sizes[16], out_sizes[16];
    const void *in_ptrs[16];
    void *out_ptrs[16];
    FILE *fi, *fo;
    if (argc < 5) return 64;
    n_in = atoi(argv[3]);
    if (n_in < 0 || n_in > 16 || argc < 5 + n_in) return 64;
    for (i = 0; i < n_in; i++) in_sizes[i] = (size_t)strtoul(argv[4 + i], NULL, 10);
    n_out = atoi(argv[4 + n_in]);
    if (n_out < 0 || n_out > 16 || argc != 5 + n_in + n_out) return 64;
    for (i = 0; i < n_out; i++) out_sizes[i] = (size_t)strtoul(argv[5 + n_in + i], NULL, 10);
    fi = fopen(argv[1], "rb");
    fo = fopen(argv[2], "wb");
    if (!fi || !fo) return 65;
    for (i = 0; i < n_in; i++) in_ptrs[i] = malloc(in_sizes[i] ? in_sizes[i] : 1);
    for (i = 0; i < n_out; i++) out_ptrs[i] = malloc(out_sizes[i] ? out_sizes[i] : 1);
    for (;;) {
        for (i = 0; i < n_in; i++)
            if (fread((void *)in_ptrs[i], 1, in_sizes[i], fi) != in_sizes[i]) goto done;
        status = model_invoke_io(in_ptrs, out_ptrs);
        if (status != 0) {
            fprintf(stderr, "model_invoke_io returned %d\n", status);
            return 66;
        }
        for (i = 0; i < n_out; i++) fwrite(out_ptrs[i], 1, out_sizes[i], fo);
        n++;
    }
done:
    for (i = 0; i < n_in; i++) free((void *)in_ptrs[i]);
    for (i = 0; i < n_out; i++) free(out_ptrs[i]);
    fclose(fi);
    fclose(fo);
    return n > 0 ? 0 : 67;
}
"""


def device_path_emulated() -> bool:
    """Does the runtime compile its DSP kernels on the host (the device path's flags select them)?"""
    return bool(KERNEL_PATHS["device"]) and "TG_EMULATE_DSP" in (ROOT / "runtime_c" / "include" / "tg_dsp.h").read_text()


def _child_limits():  # the fuzzer's address-space limit would stop ASan's shadow mapping
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 130))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class CFinding(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


def _includes(files: dict, name: str, seen: set) -> list:
    """`name` and every quoted header it includes, transitively, from the generated files."""
    if name in seen or name not in files:
        return []
    seen.add(name)
    out = [name]
    for inc in re.findall(r'#include "([^"]+)"', files[name]):
        out += _includes(files, inc, seen)
    return out


class CRunner:
    """Compiles a generated model/ under ASan + UBSan per kernel path and runs it; caches runtime objects."""

    def __init__(self, cache: Path, gcc: str = "gcc", timeout: float = 300.0):
        self.cache, self.gcc, self.timeout = Path(cache).resolve(), gcc, timeout
        self.cache.mkdir(parents=True, exist_ok=True)

    def _cc(self, args: list, cwd: Path) -> None:
        p = subprocess.run([self.gcc, *args], cwd=cwd, capture_output=True, text=True, timeout=self.timeout,
                           preexec_fn=_child_limits)
        if p.returncode != 0:
            raise CFinding("compile", p.stderr.strip()[-3000:] or f"gcc exit {p.returncode}")

    def _object(self, files: dict, name: str, flags: tuple, src_dir: Path) -> Path:
        """The object of runtime source `name`, keyed by its text, the headers it includes and the flags."""
        h = hashlib.sha256(" ".join(flags).encode())
        for part in sorted(_includes(files, name, set())):
            h.update(part.encode() + b"\0" + files[part].encode() + b"\0")
        obj = self.cache / f"{Path(name).stem}-{h.hexdigest()[:20]}.o"
        if not obj.is_file():
            tmp = obj.with_suffix(f".{os.getpid()}.tmp.o")
            self._cc(["-c", *flags, "-I", str(src_dir), str(src_dir / name), "-o", str(tmp)], src_dir)
            os.replace(tmp, obj)
        return obj

    def _driver(self, flags: tuple) -> Path:
        h = hashlib.sha256((" ".join(flags) + DRIVER_C).encode()).hexdigest()[:20]
        obj = self.cache / f"driver-{h}.o"
        if not obj.is_file():
            src = self.cache / f"driver-{h}.c"
            src.write_text(DRIVER_C)
            tmp = obj.with_suffix(f".{os.getpid()}.tmp.o")
            self._cc(["-c", *flags, str(src), "-o", str(tmp)], self.cache)
            os.replace(tmp, obj)
        return obj

    def build(self, files: dict, work: Path, path: str) -> Path:
        """An executable of the generated files `files` for kernel path `path` in `work`."""
        from tinygen.codegen import model as codegen

        src = work / "model"
        if not src.is_dir():
            codegen.write(files, src)
        flags = CFLAGS + SANITIZE + KERNEL_PATHS[path]
        objs = [self._driver(flags)]
        for name in sorted(files):
            if not name.endswith(".c"):
                continue
            if name.startswith("tg_"):  # runtime kernels: cached across cases
                objs.append(self._object(files, name, flags, src))
            else:  # model.c: the weights and the plan of this case
                obj = work / f"{Path(name).stem}-{path}.o"
                self._cc(["-c", *flags, "-I", str(src), str(src / name), "-o", str(obj)], work)
                objs.append(obj)
        exe = work / f"model-{path}"
        self._cc([*SANITIZE, *[str(o) for o in objs], "-o", str(exe), "-lm"], work)
        return exe

    def run(self, exe: Path, graph, samples: list, work: Path) -> bytes:
        ins = [graph.tensors[t].nbytes for t in graph.inputs]
        outs = [graph.tensors[t].nbytes for t in graph.outputs]
        fin, fout = work / "in.bin", work / f"{exe.name}.out"
        fin.write_bytes(b"".join(np.ascontiguousarray(a).tobytes() for s in samples for a in s))
        cmd = [str(exe), str(fin), str(fout), str(len(ins)), *map(str, ins), str(len(outs)), *map(str, outs)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, preexec_fn=_child_limits,
                               env=dict(os.environ, **C_ENV), cwd=work)
        except subprocess.TimeoutExpired:
            raise CFinding("timeout", f"no exit after {self.timeout:.0f} s") from None
        err = p.stderr
        if "Sanitizer" in err or "runtime error" in err:
            raise CFinding("sanitizer", err.strip()[-4000:])
        if p.returncode < 0:
            raise CFinding("signal", f"killed by signal {-p.returncode}: {err.strip()[-2000:]}")
        if p.returncode != 0:
            raise CFinding("exit", f"exit status {p.returncode}: {err.strip()[-2000:]}")
        return fout.read_bytes()


def c_inputs(graph, rng: np.random.Generator, n: int = C_SAMPLES) -> list:
    """n samples: n-1 uniformly random over each input's range, then all-min or all-max."""
    samples = []
    extreme = "min" if rng.random() < 0.5 else "max"
    for i in range(n):
        sample = []
        for t in (graph.tensors[x] for x in graph.inputs):
            dt = np.dtype(t.dtype)
            if np.issubdtype(dt, np.integer):
                lo, hi = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
                if i == n - 1:
                    a = np.full(t.shape, lo if extreme == "min" else hi, dt)
                else:
                    a = rng.integers(lo, hi, size=t.shape, endpoint=True, dtype=np.int64).astype(dt)
            else:
                a = (rng.standard_normal(t.shape) * (4.0 if i == n - 1 else 1.0)).astype(dt)
            sample.append(a)
        samples.append(sample)
    return samples


def run_c_case(runner: CRunner, graph, result, seed: int, index: int, work: Path) -> dict:
    """Every kernel path of one accepted case: {path: None (clean) | CFinding}; also the stages reached."""
    from tinygen.verify.testing import run_reference

    work = Path(work).resolve()  # gcc and the executable run inside it
    rng = np.random.default_rng([seed, index])
    samples = c_inputs(graph, rng)
    try:  # an accepted model the reference cannot run is a Python crash; its C still runs, uncompared
        expected = b"".join(np.ascontiguousarray(o).tobytes() for s in samples for o in run_reference(graph, s))
    except Exception as exc:  # noqa: BLE001
        expected = None
        out_ref = ("crash", type(exc).__name__, traceback.format_exc())
    else:
        out_ref = None
    out = {"reference": out_ref}
    for path in KERNEL_PATHS:
        stage = "compile"
        try:
            exe = runner.build(result.files, work, path)
            stage = "run"
            got = runner.run(exe, graph, samples, work)
            if expected is not None and got != expected:
                raise CFinding("mismatch", _first_difference(graph, got, expected))
            out[path] = ("ok", stage)
        except subprocess.TimeoutExpired:
            out[path] = (CFinding("timeout", f"gcc ran past {runner.timeout:.0f} s"), stage)
        except CFinding as f:
            out[path] = (f, stage)
    return out


def c_site(detail: str) -> str:
    """Where a C finding happened, for deduplication: the sanitizer's source line and kind of error."""
    m = re.search(r"([\w.]+\.[ch]):(\d+):\d+: runtime error: ([a-z][a-z -]*[a-z])", detail)
    if m:
        return f"{m.group(1)}:{m.group(2)} {m.group(3)}"
    m = re.search(r"AddressSanitizer: ([\w-]+)", detail)
    if m:
        frame = re.search(r"#\d+ 0x[0-9a-f]+ in \w+ \S*?([\w.]+\.[ch]):(\d+)", detail)
        return f"{frame.group(1)}:{frame.group(2)} {m.group(1)}" if frame else m.group(1)
    return detail.splitlines()[0][:80] if detail else "?"


def _first_difference(graph, got: bytes, expected: bytes) -> str:
    if len(got) != len(expected):
        return f"C wrote {len(got)} bytes, the reference {len(expected)}"
    per_sample = [(t, graph.tensors[t].nbytes) for t in graph.outputs]
    pos = next(i for i in range(len(got)) if got[i] != expected[i])
    total = sum(n for _, n in per_sample)
    sample, off = divmod(pos, total)
    for name, n in per_sample:
        if off < n:
            return f"sample {sample}, output '{name}', byte {off}: C {got[pos]} != reference {expected[pos]}"
        off -= n
    return f"byte {pos}"


# ---- driver --------------------------------------------------------------------------------------


def tree_version() -> str:
    """The commit under test: a snapshot's TREE file (see docs/reliability.md), else git's HEAD (+ dirty)."""
    stamp = ROOT / "TREE"
    if stamp.is_file():
        return stamp.read_text().strip()
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "tinygen", "runtime_c",
                                "templates", "scripts"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (modified)" if dirty else "") if head else "unknown"


def c_sampled(seed: int, index: int, rate: float) -> bool:
    return random.Random(f"c:{seed}:{index}").random() < rate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case index (to split a run)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="CPU seconds per case before it counts as a hang (CPU time: a busy machine is no hang)")
    ap.add_argument("--out", type=Path, default=None, help="folder for crashing inputs, findings and summary.json")
    ap.add_argument("--no-validate", action="store_true", help="skip tinygen.ir.validate.check (find raw bugs)")
    ap.add_argument("--replay", type=int, default=None, help="run only this case index (C included) and print it")
    ap.add_argument("--mem-gb", type=float, default=4.0, help="address-space limit; above it is a MemoryError")
    ap.add_argument("--c-rate", type=float, default=0.0,
                    help="fraction of cases whose C is compiled and run when they are accepted (0: no C); "
                         "0.14 runs about 280 per 10,000 cases")
    ap.add_argument("--c-floor", type=int, default=210,
                    help="at least this many C runs per 10,000 case indices: an accepted case is also run when "
                         "the block is behind that pace")
    ap.add_argument("--c-timeout", type=float, default=300.0, help="wall seconds for one gcc or one C run")
    ap.add_argument("--obj-cache", type=Path, default=ROOT / "build" / "fuzz-objs",
                    help="cache of sanitized runtime objects")
    ap.add_argument("--keep-c", action="store_true", help="keep each C case's folder (under --out/c)")
    ap.add_argument("--models", type=Path, default=MODELS, help="the shared models folder (seed corpus)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--summarize", type=Path, default=None, help="print the combined figures of a --out folder")
    args = ap.parse_args(argv)
    if args.summarize is not None:
        return summarize(args.summarize)

    sys.setrecursionlimit(5000)
    limit = int(args.mem_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGPROF, _alarm)
    corpus = Corpus(args.models)
    runner = CRunner(args.obj_cache, timeout=args.c_timeout)

    if args.replay is not None:
        path, desc, buf = make_case(corpus, args.seed, args.replay)
        print(f"case {args.replay}: {path.name}: {desc}")
        res = run_case(buf, args.timeout, not args.no_validate)
        if res[0] != "compiled":
            print(res[0], res[1], res[2], sep="\n")
            return 0 if res[0] == "rejected" else 1
        print("compiled; C under ASan + UBSan:")
        with tempfile.TemporaryDirectory(prefix="tgfuzz") as tmp:
            c = run_c_case(runner, res[1], res[2], args.seed, args.replay, Path(tmp))
        bad = 0
        ref = c.pop("reference")
        if ref is not None:
            print(f"  the NumPy reference crashed:\n{ref[2]}")
            bad += 1
        for kp, (r, stage) in c.items():
            print(f"  {kp}: {'clean, equal to the reference' if r == 'ok' else r}")
            bad += r != "ok"
        return 1 if bad else 0

    stats = dict(cases=0, compiled=0, rejected=0, typed=0, relabelled=0, crashes=0, reference_crashes=0, hangs=0,
                 c_sampled=0,
                 c_findings=0, **{f"{k}_{p}": 0 for p in KERNEL_PATHS for k in ("c_compiled", "c_run", "c_clean",
                                                                                "c_findings")})
    by_error: dict = {}
    unique: dict = {}
    relabels: dict = {}
    findings: dict = {}
    c_per_10k: dict = {}  # C-run accepted mutants per block of 10,000 case indices
    t0 = time.time()
    c_seconds = 0.0
    if args.out:
        for sub in ("crashes", "relabelled", "findings"):
            (args.out / sub).mkdir(parents=True, exist_ok=True)

    def write_summary() -> dict:
        summary = dict(stats, seed=args.seed, start=args.start, requested=args.cases, c_rate=args.c_rate,
                       validate=not args.no_validate,
                       device_path_emulated=device_path_emulated(), tree=tree_version(),
                       c_per_10k=c_per_10k, seconds=round(time.time() - t0, 1),
                       c_seconds=round(c_seconds, 1), by_error=by_error, unique=unique, relabels=relabels,
                       findings=findings)
        if args.out:  # rewritten as the run goes, so a long background run can be read at any time
            path = args.out / f"summary-seed{args.seed}-start{args.start}.json"
            path.with_suffix(".part").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            os.replace(path.with_suffix(".part"), path)
        return summary

    from tinygen.console import Console, shows_progress

    status = Console() if not args.quiet and shows_progress(sys.stderr) else None  # a terminal: one status line

    def note(kind_dir: str, table: dict, key: str, i: int, path: Path, desc: str, buf: bytes, text: str,
             head: bool = False):
        if key not in table:
            lines = text.strip().splitlines()
            table[key] = dict(count=0, first_case=i, seed_model=path.name, mutation=desc,
                              detail=lines[:10] if head else lines[-8:], models={},
                              replay=f"scripts/fuzz.py --seed {args.seed} --replay {i}"
                              + (" --no-validate" if args.no_validate else ""))
            if args.out:
                (args.out / kind_dir / f"case{i}.tflite").write_bytes(buf)
            if not args.quiet:
                if status:
                    status.clear_progress()
                print(f"[{i}] NEW {key}  ({path.name}: {desc})", flush=True)
        table[key]["count"] += 1
        table[key]["models"][path.name] = table[key]["models"].get(path.name, 0) + 1

    for i in range(args.start, args.start + args.cases):
        if status:
            status.show_progress(f"fuzz ({stats['crashes']} crashes, {stats['c_findings']} C findings): cases",
                                 i - args.start, args.cases)
        path, desc, buf = make_case(corpus, args.seed, i)
        res = run_case(buf, args.timeout, not args.no_validate)
        stats["cases"] += 1
        kind = res[0]
        if kind == "compiled":
            stats["compiled"] += 1
            block = f"{i // 10000 * 10000}.."
            behind = c_per_10k.get(block, 0) < args.c_floor * (i % 10000 + 1) / 10000
            if args.c_rate > 0 and (c_sampled(args.seed, i, args.c_rate) or behind):
                stats["c_sampled"] += 1
                c_per_10k[block] = c_per_10k.get(block, 0) + 1
                tc = time.time()
                keep = bool(args.keep_c and args.out)
                work = args.out / "c" / f"case{i}" if keep else Path(tempfile.mkdtemp(prefix=f"tgfuzz{i}-"))
                work.mkdir(parents=True, exist_ok=True)
                try:
                    c = run_c_case(runner, res[1], res[2], args.seed, i, work)
                except Exception:  # noqa: BLE001 - the harness itself failed: a finding, the run goes on
                    c = {"reference": None, **{kp: (CFinding("harness", traceback.format_exc()), "compile")
                                               for kp in KERNEL_PATHS}}
                finally:
                    if not keep:
                        shutil.rmtree(work, ignore_errors=True)
                c_seconds += time.time() - tc
                ref = c.pop("reference")
                if ref is not None:
                    stats["crashes"] += 1
                    stats["reference_crashes"] += 1
                    note("crashes", unique, crash_key("crash-reference", ref[1], ref[2]), i, path, desc, buf, ref[2])
                for kp, (r, stage) in c.items():
                    stats[f"c_compiled_{kp}"] += stage == "run"  # built; then launched once
                    stats[f"c_run_{kp}"] += stage == "run"
                    if r == "ok":
                        stats[f"c_clean_{kp}"] += 1
                    else:
                        stats[f"c_findings_{kp}"] += 1
                        stats["c_findings"] += 1
                        note("findings", findings, f"c:{kp}:{r.kind}:{c_site(r.detail)}", i, path, desc, buf,
                             r.detail, head=True)
        elif kind == "rejected":
            stats["rejected"] += 1
            stats["typed"] += 1
            by_error[res[1]] = by_error.get(res[1], 0) + 1
        elif kind == "relabelled":
            stats["rejected"] += 1
            stats["relabelled"] += 1
            note("relabelled", relabels, res[1], i, path, desc, buf, res[2])
        else:
            _, exc_type, tb = res
            stats["crashes" if kind == "crash" else "hangs"] += 1
            note("crashes", unique, crash_key(kind, exc_type, tb), i, path, desc, buf, tb)
        if stats["cases"] % 500 == 0:
            write_summary()
            if not args.quiet:
                if status:
                    status.clear_progress()
                print(f"{stats['cases']} cases, {stats['crashes']} crashes, {stats['hangs']} hangs, "
                      f"{stats['relabelled']} relabelled, C {stats['c_sampled']} sampled "
                      f"{stats['c_findings']} findings, {time.time() - t0:.0f}s", flush=True)
    if status:
        status.clear_progress()
    summary = write_summary()
    print(f"{stats['cases']} cases in {summary['seconds']:.0f}s: {stats['compiled']} compiled, "
          f"{stats['rejected']} rejected ({stats['typed']} typed, {stats['relabelled']} relabelled), "
          f"{stats['crashes']} crashes, {stats['hangs']} hangs")
    print(f"C (ASan + UBSan): {stats['c_sampled']} accepted mutants sampled; "
          + "; ".join(f"{p}: {stats[f'c_compiled_{p}']} compiled, {stats[f'c_run_{p}']} run, "
                      f"{stats[f'c_findings_{p}']} findings" for p in KERNEL_PATHS)
          + f" ({summary['c_seconds']:.0f}s)")
    for table in (unique, relabels, findings):
        for k, v in table.items():
            print(f"  {v['count']:6d}  {k}  first case {v['first_case']}  ({v['replay']})")
    bad = stats["crashes"] + stats["hangs"] + stats["relabelled"] + stats["c_findings"]
    return 1 if bad else 0


SUMMARY_KEYS = ("cases", "compiled", "typed", "relabelled", "crashes", "hangs", "c_sampled",
                *(f"c_run_{p}" for p in KERNEL_PATHS), "c_findings")


def summarize(folder: Path) -> int:
    """One markdown table row per summary-*.json in `folder`, and their total."""
    total = dict.fromkeys(SUMMARY_KEYS, 0)
    seconds = 0.0
    keys: dict = {}
    by_error: dict = {}
    per_10k: list = []
    trees: set = set()
    print("| run | " + " | ".join(SUMMARY_KEYS) + " | wall s |")
    print("|---" * (len(SUMMARY_KEYS) + 2) + "|")
    for path in sorted(folder.glob("summary-*.json")):
        s = json.loads(path.read_text())
        print(f"| seed {s['seed']}, cases {s['start']}.. | " + " | ".join(str(s.get(k, 0)) for k in SUMMARY_KEYS)
              + f" | {s['seconds']:.0f} |")
        for k in SUMMARY_KEYS:
            total[k] += s.get(k, 0)
        seconds += s["seconds"]
        trees.add(s.get("tree", "?"))
        for k, v in s.get("by_error", {}).items():
            by_error[k] = by_error.get(k, 0) + v
        per_10k += [(f"seed {s['seed']}, {b}", n) for b, n in s.get("c_per_10k", {}).items()]
        for table in ("unique", "relabels", "findings"):
            for k, v in s.get(table, {}).items():
                keys[k] = keys.get(k, 0) + v["count"]
    print("| **total** | " + " | ".join(str(total[k]) for k in SUMMARY_KEYS) + f" | {seconds:.0f} |")
    print(f"tree: {', '.join(sorted(trees))}")
    print("typed rejections by stage and error: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_error.items(), key=lambda kv: -kv[1])))
    if per_10k:
        lo = min(per_10k, key=lambda kv: kv[1])
        print(f"C runs per 10,000 case indices: min {lo[1]} ({lo[0]}), max {max(n for _, n in per_10k)}")
    for k in sorted(keys):
        print(f"  {keys[k]:6d}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
