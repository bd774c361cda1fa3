"""The compressions compared in ``accelsim compare``, by recipe (``recipe.compose`` syntax), and
their trained parts shipped so a comparison needs no training.

``RECIPES`` lists the rows. Recipes whose steps train (``distilled``, ``prune<P>`` / ``chprune<P>``
with fine-tuning, ``<kind>-qat``, ``ft``) are expensive: ``build`` loads the generator after the
last training step from ``models/weights/compressed-<model>-<prefix>.npz`` when it exists (written
by ``python -m accelsim.compress.zoo --model dcgan-digits``, fixed seeds, the default
``TrainingBudget``), then applies the remaining deterministic steps. Without a shipped file it trains.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import time

from accelsim.compress import serialize
from accelsim.compress.chain import CompressedGenerator, from_model
from accelsim.compress.recipe import TrainingBudget, apply_step
from accelsim.files import code_digest

log = logging.getLogger(__name__)

RECIPES = (
    "fp32", "flex16", "int8", "int6", "int4", "int2",
    "ternary", "binary", "xnor", "ternary-qat", "binary-qat", "int4-qat",
    "prune50", "prune75", "chprune50", "codebook16", "codebook256", "codebook16+huffman", "codebook8+huffman",
    "lowrank50", "ternary-qat+huffman",
    "distilled", "distilled+int8", "distilled+int8+codebook16",
    "prune50+int8+codebook16+huffman", "distilled+prune50+int8+codebook16+huffman",
    "distilled+prune50+int4-qat+huffman", "distilled+ternary-qat", "distilled+ternary-qat+huffman",
)

_TRAINED = re.compile(r"distilled|(ch|d)?prune\d+(-\w+)?|\w+-qat|ft")


def trained_prefix(tokens: list[str]) -> list[str]:
    """The tokens up to and including the last one that trains ([] if none trains)."""
    last = max((i for i, t in enumerate(tokens) if _TRAINED.fullmatch(t)), default=-1)
    return tokens[:last + 1]


def cache_path(model: str, prefix: list[str]) -> str:
    from accelsim.models.registry import WEIGHTS_DIR
    return os.path.join(WEIGHTS_DIR, f"compressed-{model}-{'+'.join(prefix)}.npz")


def needs_training(model: str, recipe: str) -> bool:
    """True when ``recipe`` has a training step whose result is not shipped for ``model``."""
    prefix = trained_prefix([t.strip() for t in recipe.split("+")])
    return bool(prefix) and not os.path.exists(cache_path(model, prefix))


def build(model: str, recipe: str, budget: TrainingBudget | None = None, use_shipped: bool = True) -> CompressedGenerator:
    """The compressed generator of ``recipe`` for ``model`` (``"fp32"`` for the uncompressed one)."""
    budget = budget or TrainingBudget()
    teacher = from_model(model)
    tokens = [t.strip() for t in recipe.split("+")]
    prefix = trained_prefix(tokens)
    path = cache_path(model, prefix) if prefix else None
    if path and use_shipped and budget == TrainingBudget() and os.path.exists(path):
        cg, rest = serialize.load(path), tokens[len(prefix):]
    else:
        cg, rest = teacher, tokens
    for token in rest:
        cg = apply_step(cg, token, teacher, budget)
    from dataclasses import replace
    return replace(cg, steps=tuple(t for t in tokens if t != "fp32"))


def provenance_of(model: str, recipe: str, budget: TrainingBudget) -> dict:
    """What produced a trained compressed generator: model, recipe, training budget, the code digest
    (``accelsim.files.code_digest``, sources and kernels, not weights) and one hash of all four."""
    from dataclasses import asdict
    record = json.loads(json.dumps({"model": model, "recipe": recipe, "budget": asdict(budget),
                                    "code_digest": code_digest()}))   # as it reads back (tuples -> lists)
    record["hash"] = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    return record


def write_shipped(model: str, recipes=RECIPES, threads: int = 1) -> list[str]:
    """Train every distinct trained prefix of ``recipes`` with the default budget and save it."""
    written = []
    budget = TrainingBudget(threads=threads)
    prefixes = []
    for r in recipes:
        p = trained_prefix(r.split("+"))
        if p and p not in prefixes:
            prefixes.append(p)
    for p in prefixes:
        start = time.perf_counter()
        cg = build(model, "+".join(p), budget, use_shipped=False)
        path = cache_path(model, p)
        serialize.save(cg, path, provenance_of(model, "+".join(p), budget))
        log.info("%s: %.0f s, %d weight bits -> %s", "+".join(p), time.perf_counter() - start, cg.weight_bits(), path)
        written.append(path)
    return written


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Train and save the trained parts of the compare recipes.")
    p.add_argument("--model", default="dcgan-digits")
    p.add_argument("--only", default=None, help="comma-separated recipes (default: all of RECIPES)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    write_shipped(args.model, args.only.split(",") if args.only else RECIPES, args.threads)


if __name__ == "__main__":
    main()
