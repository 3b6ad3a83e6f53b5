"""Firmware flash (text + data of the linked cortex-m4 ELF, harness included) vs TFLM's, per model.

Run: .venv/bin/python benchmarks/flash.py [--weights int8|int8c|TABLE] [--models kws,person_detect,...]
(int8c: the same int8 values stored one byte per weight, no pre-extended copies)
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"

# TFLM + CMSIS-NN deployable ELF text + data on cortex-m4 (../shared/baselines), newlib printf included.
TFLM = {
    "kws": ("mlperf/kws/kws_ref_model.tflite", 201_916),
    "vww": ("mlperf/vww/vww_96_int8.tflite", 535_060),
    "ic": ("mlperf/ic/pretrainedResnet_quant.tflite", 245_684),
    "ad": ("mlperf/ad/ad01_int8.tflite", 367_212),
    "sww": ("mlperf/sww/str_ww_ref_model.tflite", 217_052 + 2_800),
    "person_detect": ("tflm/person_detection/person_detect.tflite", 446_428 + 2_800),
    "micro_speech": ("tflm/micro_speech/micro_speech_quantized.tflite", 137_908 + 2_800),
    "hello_world": ("tflm/hello_world/hello_world_int8.tflite", 88_228 + 2_792),
}


def main(argv=None) -> int:
    import tinygen

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="int8",
                    help="int8 (default), int8c, or a table such as 'DEPTHWISE_CONV_2D=int8,*=int8c'")
    ap.add_argument("--models", default=",".join(TFLM))
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    print("| model | weights (B) | tinygen text | data | text + data | TFLM + CMSIS-NN text + data | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            rel, tflm = TFLM[key]
            out = Path(tmp) / key
            from tinygen.cli import _weights_arg

            r = tinygen.compile(str(MODELS / rel), out, board="cortex-m4", name=key,
                                weights=_weights_arg(args.weights))
            subprocess.run(["make", "-s"], cwd=out, check=True, capture_output=True)
            size = subprocess.run(["arm-none-eabi-size", str(out / "build" / "firmware.elf")], check=True,
                                  capture_output=True, text=True).stdout.splitlines()[1].split()
            text, data = int(size[0]), int(size[1])
            print(f"| {key} | {r.report['weights_bytes']:,} | {text:,} | {data:,} | {text + data:,} | {tflm:,} | "
                  f"{(text + data) / tflm:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
