"""TFLM's reference interpreter (pip tflite-micro) as the bit-exact oracle for .tflite models."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS = SHARED / "models"
# The shared int8 models every end-to-end suite runs (paths under MODELS), one list for all tests.
INT8_MODELS = {
    "kws": "mlperf/kws/kws_ref_model.tflite",
    "vww": "mlperf/vww/vww_96_int8.tflite",
    "ic": "mlperf/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf/ad/ad01_int8.tflite",
    "sww": "mlperf/sww/str_ww_ref_model.tflite",
    "hello_world": "tflm/hello_world/hello_world_int8.tflite",
    "micro_speech": "tflm/micro_speech/micro_speech_quantized.tflite",
    "person_detect": "tflm/person_detection/person_detect.tflite",
}


def tflm_interpreter(model):
    from tflite_micro.python.tflite_micro import runtime

    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    return runtime.Interpreter.from_bytes(data)


def num_outputs(model) -> int:
    import tflite

    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    return tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).OutputsLength()


def tflm_run(model, inputs: list) -> list:
    """Run one inference: `inputs` are arrays of the model's input dtypes and shapes."""
    interp = tflm_interpreter(model)
    return tflm_run_with(interp, inputs, num_outputs(model))


def tflm_run_with(interp, inputs: list, n_outputs: int = 1) -> list:
    for i, x in enumerate(inputs):
        detail = interp.get_input_details(i)
        interp.set_input(np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"]), i)
    interp.invoke()
    return [np.array(interp.get_output(i)) for i in range(n_outputs)]
