"""`tinygen.qat`, the public name of quantization-aware training: the package tinygen.quant.qat itself."""
import sys

from tinygen.quant import qat as _qat

sys.modules[__name__] = _qat
