"""Compose compressions by name, in any order: ``compose("dcgan-digits", "distilled+prune50+int8+codebook16+huffman")``.

Recipe tokens (joined by ``+``, applied left to right; the result's ``name`` is the recipe):

==================  =====================================================================
``fp32``            nothing (the deploy-form generator, BatchNorm folded)
``distilled``       knowledge distillation into a narrower student (``distill.distill``)
``prune<P>``        magnitude pruning of P % of every layer's weights, fine-tuned for
                    ``finetune_steps`` (``pruning.prune``)
``prune<P>-<G>``    pruning of P % of every layer's groups at granularity G (``fine``,
                    ``vector``, ``kernel``, ``channel``: ``pruning.GRANULARITIES``), fine-tuned
                    against the teacher's images only (no discriminator term)
``dprune<P>-<G>``   the same, fine-tuned with the frozen trained discriminator's supervision
                    as well (``finetune.DSUP_WEIGHTS``, Yu & Pool 2020); ``dprune<P>`` = ``-fine``
``chprune<P>``      channel pruning of P % of the hidden channels, fine-tuned likewise
``int<N>``          post-training N-bit per-channel weights (``precision.quantize``)
``ternary``         post-training TWN ternary weights; ``binary`` likewise (int8 activations)
``xnor``            post-training binary weights and binary activations (XNOR-popcount)
``flex16``          flex16+5 weights
``<kind>-qat``      quantization-aware fine-tuning to ``kind`` (``qat_train.qat``): ``ternary-qat``,
                    ``binary-qat``, ``int4-qat``, ...
``codebook<K>``     k-means weight sharing with K entries per tensor (``encoding.share_weights``)
``huffman``         Huffman coding of the integer codes (``encoding.huffman_code``)
``lowrank<P>``      SVD factorization at P % of full rank where it saves weights (``lowrank``)
``ft``              fine-tune whatever is there (keeping its masks/codes) for ``finetune_steps``
==================  =====================================================================

Every training step uses the original fp32 generator as its teacher.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from accelsim.compress import chain as chain_mod
from accelsim.compress.chain import CompressedGenerator
from accelsim.errors import ConfigError


@dataclass(frozen=True)
class TrainingBudget:
    """Steps and options of the steps that train (fixed seed: deterministic for a thread count)."""

    distill_steps: int = 2000
    finetune_steps: int = 500
    qat_steps: int = 1000
    seed: int = 0
    threads: int | None = None
    student_channels: tuple[int, int, int] = (64, 32, 16)
    binary_activations: bool = False


GRANULAR_PRUNE = re.compile(r"(d?)prune(\d+)(?:-(fine|vector|kernel|channel))?")
TOKEN = re.compile(r"fp32|distilled|chprune\d+|d?prune\d+(-(fine|vector|kernel|channel))?|(int\d+|ternary|binary)-qat"
                   r"|int\d+|ternary|binary|xnor|flex16|codebook\d+|huffman|lowrank\d+|ft")


def check_recipe(recipe: str) -> list[str]:
    """The tokens of ``recipe``; ValueError naming the first unknown token (before any work is done)."""
    tokens = [t.strip() for t in recipe.split("+")]
    for t in tokens:
        if not TOKEN.fullmatch(t):
            raise ConfigError(f"recipe {recipe!r}: unknown compression step {t!r} (see accelsim.compress.recipe)")
    return tokens


def apply_step(cg: CompressedGenerator, token: str, teacher: CompressedGenerator, budget: TrainingBudget) -> CompressedGenerator:
    """Apply one recipe token to ``cg``."""
    from accelsim.compress import distill, encoding, lowrank, precision, pruning, qat_train
    train = {"seed": budget.seed, "threads": budget.threads}
    if token == "fp32":
        return cg
    if token == "distilled":
        if cg.steps and any(not s.startswith("distilled") for s in cg.steps):
            raise ConfigError("distill from the fp32 teacher first: 'distilled' must lead the recipe")
        return distill.distill(teacher, budget.student_channels, budget.distill_steps, **train)
    if m := re.fullmatch(r"prune(\d+)", token):
        return pruning.prune(cg, int(m[1]) / 100.0, finetune_steps=budget.finetune_steps, step_name=token, **train)
    if m := GRANULAR_PRUNE.fullmatch(token):
        from accelsim.compress.finetune import DSUP_WEIGHTS, TEACHER_ONLY
        loss = DSUP_WEIGHTS if m[1] else TEACHER_ONLY
        return pruning.prune(cg, int(m[2]) / 100.0, granularity=m[3] or "fine", finetune_steps=budget.finetune_steps,
                             step_name=token, **train, **loss)
    if m := re.fullmatch(r"chprune(\d+)", token):
        return pruning.channel_prune(cg, int(m[1]) / 100.0, finetune_steps=budget.finetune_steps, step_name=token,
                                     **train)
    if m := re.fullmatch(r"(int\d+|ternary|binary)-qat", token):
        out = qat_train.qat(cg, m[1], teacher, budget.qat_steps, **train)
        if m[1] == "binary" and budget.binary_activations:
            out = replace(out, fmt=precision.kernel_format("binary", binary_activations=True))
        return out
    if token == "xnor":     # binary weights and binary activations (XNOR-popcount kernels)
        return precision.quantize(cg, "binary", binary_activations=True, step_name=token)
    if re.fullmatch(r"int\d+|ternary|binary|flex16", token):
        return precision.quantize(cg, token, binary_activations=budget.binary_activations, step_name=token)
    if m := re.fullmatch(r"codebook(\d+)", token):
        return encoding.share_weights(cg, int(m[1]), step_name=token)
    if token == "huffman":
        return encoding.huffman_code(cg, step_name=token)
    if m := re.fullmatch(r"lowrank(\d+)", token):
        return lowrank.lowrank(cg, rank_fraction=int(m[1]) / 100.0, step_name=token)
    if token == "ft":
        from accelsim.compress.finetune import finetune
        return finetune(cg, teacher, budget.finetune_steps, step_name=token, **train)
    raise ConfigError(f"unknown compression step {token!r} (see accelsim.compress.recipe)")


def compose(base: str | CompressedGenerator, recipe: str | list[str], budget: TrainingBudget | None = None,
            teacher: CompressedGenerator | None = None) -> CompressedGenerator:
    """Apply the ``+``-joined recipe to ``base`` (a model name or a CompressedGenerator)."""
    cg = chain_mod.from_model(base) if isinstance(base, str) else base
    teacher = cg if teacher is None else teacher
    budget = budget or TrainingBudget()
    tokens = recipe.split("+") if isinstance(recipe, str) else list(recipe)
    for token in tokens:
        cg = apply_step(cg, token.strip(), teacher, budget)
    name_steps = tuple(t.strip() for t in tokens if t.strip() != "fp32")
    return replace(cg, steps=name_steps)
