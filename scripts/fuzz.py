#!/usr/bin/env python3
"""Mutation fuzzer for tinygen's .tflite path: mutate real models, run load -> validate -> generate in-process.

A case passes when it compiles or raises a TinygenError subclass. Anything else (IndexError, AssertionError,
MemoryError, RecursionError, ...) is a crash; a case still running after --timeout CPU seconds is a hang
(an ITIMER_PROF alarm: CPU time, so a loaded machine does not turn slow cases into false hangs).
Each case is reproducible from (--seed, case index): `fuzz.py --seed S --replay I` reruns one case.

    nice -n 19 .venv/bin/python scripts/fuzz.py --cases 100000 --seed 1 --out build/fuzz
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import signal
import struct
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
    def __init__(self):
        self.items = [(MODELS / p, w) for p, w in CORPUS if (MODELS / p).is_file()]
        if not self.items:
            raise SystemExit(f"no seed models under {MODELS}")
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
        if rng.random() < 0.2:
            steps.append(rng.choice(BYTE_MUTATORS)(buf, rng))
    else:
        buf = bytearray(corpus.raw[path])
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            if len(buf) < 8:
                break
            steps.append(rng.choice(BYTE_MUTATORS)(buf, rng))
    return path, "; ".join(steps), bytes(buf)


def run_case(buf: bytes, use_validate: bool, timeout: float):
    """Returns "compiled", "rejected" (a TinygenError) or ("crash"|"hang", exception type, traceback text)."""
    from tinygen.compiler import generate
    from tinygen.errors import TinygenError
    from tinygen.frontend.tflite import load_tflite

    signal.setitimer(signal.ITIMER_PROF, timeout)
    try:
        graph = load_tflite(buf)
        if use_validate:
            from tinygen import validate
            validate.check(graph)
        generate(graph)
        return "compiled"
    except TinygenError:
        return "rejected"
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
    frames = [ln.strip() for ln in tb.splitlines() if ln.strip().startswith('File "') and "tinygen" in ln]
    where = frames[-1].split(",")[:2] if frames else ["?"]
    return f"{kind}:{exc_type}:{':'.join(s.strip() for s in where).replace(str(ROOT) + '/', '')}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case index (to split a run)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="CPU seconds per case before it counts as a hang (CPU time: a busy machine is no hang)")
    ap.add_argument("--out", type=Path, default=None, help="folder for crashing inputs and summary.json")
    ap.add_argument("--no-validate", action="store_true", help="skip tinygen.validate.check (find raw bugs)")
    ap.add_argument("--replay", type=int, default=None, help="run only this case index and print its traceback")
    ap.add_argument("--mem-gb", type=float, default=4.0, help="address-space limit; above it is a MemoryError")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--summarize", type=Path, default=None, help="print the combined figures of a --out folder")
    args = ap.parse_args(argv)
    if args.summarize is not None:
        return summarize(args.summarize)

    sys.setrecursionlimit(5000)
    limit = int(args.mem_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGPROF, _alarm)
    corpus = Corpus()
    use_validate = not args.no_validate

    if args.replay is not None:
        path, desc, buf = make_case(corpus, args.seed, args.replay)
        print(f"case {args.replay}: {path.name}: {desc}")
        res = run_case(buf, use_validate, args.timeout)
        print(res if isinstance(res, str) else res[2])
        return 0 if isinstance(res, str) else 1

    stats = dict(cases=0, compiled=0, rejected=0, crashes=0, hangs=0)
    unique: dict = {}
    t0 = time.time()
    if args.out:
        (args.out / "crashes").mkdir(parents=True, exist_ok=True)

    def write_summary() -> dict:
        summary = dict(stats, seed=args.seed, start=args.start, requested=args.cases, validate=use_validate,
                       seconds=round(time.time() - t0, 1), unique=unique)
        if args.out:  # rewritten as the run goes, so a long background run can be read at any time
            path = args.out / f"summary-seed{args.seed}-start{args.start}.json"
            path.with_suffix(".part").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            os.replace(path.with_suffix(".part"), path)
        return summary

    for i in range(args.start, args.start + args.cases):
        path, desc, buf = make_case(corpus, args.seed, i)
        res = run_case(buf, use_validate, args.timeout)
        stats["cases"] += 1
        if isinstance(res, str):
            stats[res] += 1
        else:
            kind, exc_type, tb = res
            stats["crashes" if kind == "crash" else "hangs"] += 1
            key = crash_key(kind, exc_type, tb)
            if key not in unique:
                unique[key] = dict(count=0, first_case=i, seed_model=path.name, mutation=desc,
                                   traceback=tb.strip().splitlines()[-6:])
                if args.out:
                    (args.out / "crashes" / f"case{i}.tflite").write_bytes(buf)
                if not args.quiet:
                    print(f"[{i}] NEW {key}  ({path.name}: {desc})", flush=True)
            unique[key]["count"] += 1
        if stats["cases"] % 500 == 0:
            write_summary()
            if not args.quiet:
                print(f"{stats['cases']} cases, {stats['crashes']} crashes, {stats['hangs']} hangs, "
                      f"{time.time() - t0:.0f}s", flush=True)
    summary = write_summary()
    print(f"{stats['cases']} cases in {summary['seconds']:.0f}s: {stats['compiled']} compiled, "
          f"{stats['rejected']} rejected, {stats['crashes']} crashes "
          f"({len([k for k in unique if k.startswith('crash')])} unique), {stats['hangs']} hangs")
    for k, v in unique.items():
        print(f"  {v['count']:6d}  {k}  first case {v['first_case']}")
    return 1 if (stats["crashes"] or stats["hangs"]) else 0


def summarize(folder: Path) -> int:
    """One markdown table row per summary-*.json in `folder`, and their total."""
    keys = ("cases", "compiled", "rejected", "crashes", "hangs")
    total = dict.fromkeys(keys, 0)
    unique: set = set()
    for path in sorted(folder.glob("summary-*.json")):
        s = json.loads(path.read_text())
        print(f"| seed {s['seed']}, cases {s['start']}.. | " + " | ".join(str(s[k]) for k in keys) + " |")
        for k in keys:
            total[k] += s[k]
        unique.update(s["unique"])
    print("| total | " + " | ".join(str(total[k]) for k in keys) + " |")
    for k in sorted(unique):
        print(f"  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
