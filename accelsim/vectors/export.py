"""``accelsim vectors export``: golden vectors of a quantized generator, layer by layer.

Two paths share the writers here (``layer_record``, ``write_vectors``): a shipped DCGAN with an old
format name (``is_chain_export``) runs the ``accelsim.qgen`` layer chain below; any other model
reference or format goes through the graph runtime (``accelsim.vectors.graph``).

Steps of the DCGAN chain, in order:
1. quantize the generator to the format (``accelsim.qgen``; calibration latents seed 1234);
2. draw latents ``registry.latents(batch, seed)``;
3. run the layer chain with the golden model and with the C++ kernels (``chain.run_chain``);
4. refuse unless they agree bit for bit (and agree with qgen's own trace) (``chain.verify``);
5. render each selected layer's tensors (``layers.layer_tensors``) as hex + raw binary;
6. write them, the manifest and the C sidecar into a temporary directory, then rename it into place.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile

import numpy as np

from accelsim import __version__, kernels
from accelsim.qgen import FORMATS, QuantizedGenerator, parse_format, quantize_generator
from accelsim.vectors import sidecar
from accelsim.vectors.chain import LayerRun, run_chain, verify
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.layers import layer_tensors
from accelsim.vectors.layout import sha256

log = logging.getLogger(__name__)

SCHEMA = "accelsim-vectors/1"
EXPORT_FORMATS = tuple(f for f in FORMATS if f != "fp32")
CALIB_N, CALIB_SEED = 64, 1234


def check_format(fmt: str) -> str:
    if fmt in EXPORT_FORMATS:
        return fmt
    if fmt != "fp32" and fmt.startswith("int"):
        try:
            parse_format(fmt)
            return fmt
        except ValueError:
            pass
    raise VectorsError(f"fmt must be one of {', '.join(EXPORT_FORMATS)} (or intN, N in 2..16), got {fmt!r}")


def _select(n_layers: int, names: list[str], layer) -> list[int]:
    if layer is None or layer == "all":
        return list(range(n_layers))
    if isinstance(layer, str) and layer in names:
        return [names.index(layer)]
    try:
        k = int(layer)
    except (TypeError, ValueError):
        k = -1
    if not 0 <= k < n_layers:
        raise VectorsError(f"layer must be 'all', an index in [0, {n_layers - 1}] or a layer name "
                           f"({', '.join(names)}), got {layer!r}")
    return [k]


def _model_generator(model: str, fmt: str, autoflex: bool, calib: int = CALIB_N) -> tuple[QuantizedGenerator, dict]:
    from accelsim.models import registry
    if model not in registry.GENERATORS or not model.startswith("dcgan"):
        dcgans = ", ".join(g for g in registry.GENERATORS if g.startswith("dcgan"))
        raise VectorsError(f"model must be a shipped DCGAN generator ({dcgans}), got {model!r}")
    path = registry.weights_path(model)
    if not os.path.exists(path):
        raise VectorsError(f"model: {model}: weights file {path} is missing")
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    gen = quantize_generator(model, fmt, calib_n=calib, seed=CALIB_SEED, autoflex=autoflex)
    info = {"name": model, "weights_file": os.path.basename(path), "weights_sha256": digest,
            "calibration": {"n": calib, "seed": CALIB_SEED, "autoflex": autoflex}}
    return gen, info


def build(gen: QuantizedGenerator, z: np.ndarray, layer="all") -> tuple[list, dict[str, bytes]]:
    """(manifest layer records, {relative path: contents}) of the selected layers, after the golden
    model and the C++ kernels agreed on every layer."""
    chosen = _select(len(gen.layers), [q.name for q in gen.layers], layer)
    golden = run_chain(gen, z, "reference")
    cpp = run_chain(gen, z, "cpp")
    verify(golden, cpp, gen, z)
    records, files = [], {}
    for k in chosen:
        if k >= len(golden):
            raise VectorsError(f"layer {k} follows the float tail of the {gen.fmt} chain: it has no integer vectors")
        rec, contents = layer_record(golden[k], gen.fmt)
        records.append(rec)
        files.update(contents)
    return records, files


def layer_record(run: LayerRun, fmt: str) -> tuple[dict, dict[str, bytes]]:
    """The manifest record of one layer's run and its files (``layerK/NAME.hex`` and ``.bin``); shared
    by the shipped-DCGAN chain and the graph path (``accelsim.vectors.graph``)."""
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


def is_chain_export(model, fmt) -> bool:
    """True when ``model`` is a shipped DCGAN and ``fmt`` an old format name (``int8``, ``ternary``,
    ``binary``, ``flex16``, ... and ``fp32``, refused there): the layer-chain export of
    ``accelsim.qgen``. Every other model or format name goes through the graph runtime
    (``accelsim.vectors.graph``)."""
    from accelsim.models import registry
    if not isinstance(model, str) or not model.startswith("dcgan") or model not in registry.GENERATORS:
        return False
    return isinstance(fmt, str) and (fmt in FORMATS or fmt.startswith("int"))


def check_run_options(batch: int, seed: int, calib: int) -> None:
    if not 1 <= batch <= 256:
        raise VectorsError(f"batch must be in [1, 256], got {batch}")
    if not 0 <= seed < 2 ** 63:
        raise VectorsError(f"seed must be in [0, 2^63), got {seed}")
    from accelsim.runtime.quantized import MAX_CALIB
    if not 1 <= calib <= MAX_CALIB:
        raise VectorsError(f"calib must be in [1, {MAX_CALIB}], got {calib}")


def export_chain(out_dir: str, model: str = "dcgan-digits", fmt: str = "int8", layer="all", batch: int = 1,
                 seed: int = 0, command: str | None = None, force: bool = False, autoflex: bool = False,
                 generator: QuantizedGenerator | None = None, input_shapes=None, calib: int = CALIB_N) -> dict:
    """The shipped-DCGAN layer chain of ``accelsim.qgen`` (or ``generator``) to ``out_dir``; see
    ``accelsim.vectors.export_vectors``."""
    fmt = check_format(fmt)
    check_run_options(batch, seed, calib)
    if input_shapes:
        raise VectorsError(f"input_shapes: {model} is a shipped model with fixed inputs; drop the input shapes")
    _check_out(out_dir, force)
    if generator is None:
        gen, model_info = _model_generator(model, fmt, autoflex, calib)
    else:
        if generator.fmt != fmt:
            raise VectorsError(f"fmt: {fmt!r} differs from the generator's format {generator.fmt!r}")
        gen, model_info = generator, {"name": "(user generator)"}
    from accelsim.models import registry
    z_dim = gen.float_layers[0].weight.shape[0]
    z = registry.latents(batch, seed, z_dim=z_dim)
    records, files = build(gen, z, layer)
    manifest = {"schema": SCHEMA, "accelsim_version": __version__, "command": command,
                "format": fmt, "model": model_info,
                "latents": {"source": "accelsim.models.registry.latents", "batch": batch, "seed": seed,
                            "shape": list(z.shape), "dtype": "float32"},
                "kernel_check": {"golden_equals_cpp": True, "isa": kernels.active_isa()},
                "files": dict(FILES_INFO),
                "layers": records}
    write_vectors(out_dir, manifest, files, force)
    return manifest


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
