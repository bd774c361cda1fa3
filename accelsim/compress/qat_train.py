"""Quantization-aware training of a compressed generator: the orchestration of ``finetune`` (fake
quantization in the forward pass) and ``precision`` (the golden quantizer), kept apart from
``qat``'s quantizers so that neither imports the other."""
from __future__ import annotations

from accelsim.compress.finetune import FM_WEIGHT, finetune
from accelsim.compress.precision import quantize
from accelsim.compress.qat import activation_bits, parse_kind


def qat(cg, kind: str, teacher=None, steps: int = 1000, **finetune_kwargs):
    """Quantization-aware fine-tuning: train ``cg``'s float weights with ``kind`` fake quantization
    of every conv weight in the forward pass (straight-through backward) and the activations
    fake-quantized to ``activation_bits(kind)`` as the kernels run them, against ``teacher``
    (default: ``cg`` itself before quantization) with the distillation losses of ``finetune`` plus
    feature matching (``fm_weight``, default ``finetune.FM_WEIGHT``); then
    quantize with the golden quantizer. Returns the quantized ``CompressedGenerator``."""
    teacher = cg if teacher is None else teacher
    parse_kind(kind)
    finetune_kwargs.setdefault("act_bits", activation_bits(kind))
    finetune_kwargs.setdefault("fm_weight", FM_WEIGHT)
    tuned = finetune(cg, teacher, steps, weight_kind=kind, step_name=None, **finetune_kwargs)
    return quantize(tuned, kind, step_name=f"{kind}-qat")
