"""``accelsim vectors export``: the shared writers of the golden vectors (``layer_record``,
``write_vectors``: a temporary directory renamed into place) and the run options' checks. The
export itself runs any model reference through the one runtime (``accelsim.vectors.graph``).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile

import numpy as np

from accelsim.vectors import sidecar
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.layers import LayerRun, layer_tensors
from accelsim.vectors.layout import sha256

log = logging.getLogger(__name__)

SCHEMA = "accelsim-vectors/1"
CALIB_N, CALIB_SEED = 64, 1234


def layer_record(run: LayerRun, fmt: str) -> tuple[dict, dict[str, bytes]]:
    """The manifest record of one layer's run and its files (``layerK/NAME.hex`` and ``.bin``)."""
    k = run.index
    folder = f"layer{k}"
    header = f"accelsim-vectors {fmt} layer={k} name={run.q.name}"
    tensors, files = {}, {}
    for t in layer_tensors(run):
        stem = f"{folder}/{t.name}"
        contents = t.files(stem, header)
        digests = {p: sha256(b) for p, b in contents.items()}
        files.update(contents)
        tensors[t.name] = t.record(stem, digests)
    spec = run.q.spec
    rec = {"index": k, "name": run.q.name, "folder": folder, "kernel": run.kernel, "act": run.act,
           "op": "conv_transpose2d" if spec.transposed else "conv2d",
           "conv": {"stride": list(spec.stride), "padding": list(spec.padding),
                    "output_padding": list(spec.output_padding), "dilation": list(spec.dilation),
                    "groups": spec.groups, "transposed": spec.transposed},
           "params": _jsonable(run.params), "tensors": tensors}
    log.info("layer %d (%s): %s", k, run.q.name, ", ".join(f"{n} {t['count']}" for n, t in tensors.items()))
    return rec, files


def manifest_text(manifest: dict) -> str:
    """Indented JSON with lists of numbers (shapes, strides) kept on one line."""
    text = json.dumps(manifest, indent=1)
    return _NUM_LIST.sub(lambda mt: "[" + ", ".join(v.strip() for v in mt.group(1).split(",")) + "]", text) + "\n"


_NUM_LIST = re.compile(r"\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]")


def _jsonable(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


FILES_INFO = {"endianness": "little", "hex": "$readmemh: // header comments, one word per line, "
              "ceil(word_bits/4) hex digits, two's complement when signed",
              "layouts": "see docs/vectors.md and accelsim/vectors/layout.py"}


def check_run_options(batch: int, seed: int, calib: int) -> None:
    if not 1 <= batch <= 256:
        raise VectorsError(f"batch must be in [1, 256], got {batch}")
    if not 0 <= seed < 2 ** 63:
        raise VectorsError(f"seed must be in [0, 2^63), got {seed}")
    from accelsim.runtime.quantized import MAX_CALIB
    if not 1 <= calib <= MAX_CALIB:
        raise VectorsError(f"calib must be in [1, {MAX_CALIB}], got {calib}")


def write_vectors(out_dir: str, manifest: dict, files: dict[str, bytes], force: bool) -> None:
    """Add the C sidecar and the manifest (with the sidecar's checksum) to ``files`` and write them
    all atomically."""
    files[sidecar.NAME] = sidecar.render(manifest).encode("ascii")
    manifest["sidecar"] = {"path": sidecar.NAME, "sha256": sha256(files[sidecar.NAME])}
    files["manifest.json"] = manifest_text(manifest).encode("ascii")
    _write_atomic(out_dir, files, force)
    log.info("wrote %d files to %s", len(files), out_dir)


def _check_out(out_dir: str, force: bool) -> None:
    parent = os.path.dirname(os.path.abspath(out_dir))
    if not os.path.isdir(parent):
        raise VectorsError(f"out_dir: {out_dir}: parent directory {parent} does not exist")
    if os.path.lexists(out_dir):
        if not os.path.isdir(out_dir) or os.path.islink(out_dir):
            raise VectorsError(f"out_dir: {out_dir} exists and is not a directory")
        if os.listdir(out_dir) and not force:
            raise VectorsError(f"out_dir: {out_dir} exists and is not empty (force=True replaces it)")


def _write_atomic(out_dir: str, files: dict[str, bytes], force: bool) -> None:
    """All files into a temporary sibling directory, then one rename; a replaced directory is moved
    aside first and removed only after the new one is in place (restored if anything fails)."""
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-", dir=parent)
    except OSError as exc:
        raise VectorsError(f"out_dir: {out_dir}: cannot create a directory in {parent}: {exc.strerror}") from None
    old = None
    done = False
    try:
        for rel, data in files.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        os.chmod(tmp, 0o755)
        if os.path.isdir(out_dir):
            if os.listdir(out_dir):
                if not force:
                    raise VectorsError(f"out_dir: {out_dir} exists and is not empty (force=True replaces it)")
                old = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.old-", dir=parent)
                os.rename(out_dir, os.path.join(old, "d"))
            else:
                os.rmdir(out_dir)
        os.rename(tmp, out_dir)
        done = True
    except OSError as exc:
        raise VectorsError(f"out_dir: {out_dir}: write failed: {exc.strerror or exc}") from None
    finally:
        if not done:
            shutil.rmtree(tmp, ignore_errors=True)
            if old and not os.path.exists(out_dir):
                os.rename(os.path.join(old, "d"), out_dir)
        if old:
            shutil.rmtree(old, ignore_errors=True)
