"""Quantization: fixed-point math shared by the reference and the lowering, and the quantizers."""
