"""A workload: the ordered layers of one generator, plus per-layer format and compression."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from accelsim.errors import ConfigError, FormatError, ModelError
from accelsim.workload.layer import Layer
from accelsim.workload.precision import NO_COMPRESSION, Compression, Format, get_format


@dataclass(frozen=True)
class Workload:
    """``inputs`` (optional): per layer, the layers whose outputs it reads (-1: the workload input;
    several for a residual add or a channel concatenation), or None where that is not known;
    ``outputs``: the layers whose outputs leave the network. Only layer fusion (``accelsim.mapping.
    fusion``) reads them; without ``inputs`` it assumes a chain where shapes match (``producers``)."""
    name: str
    layers: tuple[Layer, ...]
    input_chw: tuple[int, int, int]
    source: str = ""
    inputs: tuple[tuple[int, ...] | None, ...] | None = None
    outputs: tuple[int, ...] | None = None

    def __post_init__(self):
        if not self.layers:
            raise ModelError(f"workload {self.name!r} has no layers")
        names = [l.name for l in self.layers]
        if len(set(names)) != len(names):
            raise ModelError(f"workload {self.name!r}: layer names must be unique")
        n = len(self.layers)
        if self.inputs is not None:
            if len(self.inputs) != n:
                raise ModelError(f"workload {self.name!r}: inputs has {len(self.inputs)} entries for {n} layers")
            for i, src in enumerate(self.inputs):
                if src is not None and (not src or any(not isinstance(j, int) or not -1 <= j < i for j in src)):
                    raise ModelError(f"workload {self.name!r}: inputs of layer {names[i]!r} must be earlier layer "
                                     f"indices or -1 (the workload input), got {src!r}")
        if self.outputs is not None and (not self.outputs or any(not isinstance(j, int) or not 0 <= j < n
                                                                 for j in self.outputs)):
            raise ModelError(f"workload {self.name!r}: outputs must be layer indices in [0, {n}), got {self.outputs!r}")

    def producers(self) -> tuple[tuple[int, ...] | None, ...]:
        """Per layer, the layers whose outputs it reads (-1: the workload input), None where unknown:
        ``inputs`` when given, else a chain where the previous layer's output has this layer's input
        shape (a residual add's second operand, or any other mismatch, is unknown)."""
        if self.inputs is not None:
            return self.inputs
        out: list[tuple[int, ...] | None] = []
        for i, l in enumerate(self.layers):
            if l.op == "embedding" or (l.operands or 1) > 1 or l.op in ("add", "sub", "mul"):
                out.append(None)
            elif i == 0:
                out.append((-1,) if (l.in_channels, *l.in_hw) == tuple(self.input_chw) else None)
            else:
                p = self.layers[i - 1]
                out.append((i - 1,) if (p.out_channels, *p.out_hw) == (l.in_channels, *l.in_hw) else None)
        return tuple(out)

    def output_layers(self) -> tuple[int, ...]:
        return self.outputs if self.outputs is not None else (len(self.layers) - 1,)

    @property
    def params(self) -> int:
        return sum(l.params for l in self.layers)

    @property
    def conv_weights(self) -> int:
        return sum(l.weight_elems for l in self.layers)

    @property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    @property
    def macs_direct(self) -> int:
        return sum(l.macs_direct for l in self.layers)

    @property
    def macs_effectual(self) -> int:
        return sum(l.macs_effectual for l in self.layers)

    def with_batch(self, batch: int) -> "Workload":
        return replace(self, layers=tuple(l.with_batch(batch) for l in self.layers))


@dataclass(frozen=True)
class LayerPlan:
    """What the simulator needs per layer besides the shape: its format and compression."""
    layer: Layer
    fmt: Format
    compression: Compression = field(default=NO_COMPRESSION)


def plan(workload: Workload, fmt: str | Format | dict[str, str | Format],
         compression: Compression | dict[str, Compression] | None = None) -> tuple[LayerPlan, ...]:
    """Attach a format (one for all layers, or a dict by layer name with optional key ``"*"``) and a
    compression (same convention) to every layer."""
    def pick(spec, name, default, field, error):
        if isinstance(spec, dict):
            unknown = set(spec) - {l.name for l in workload.layers} - {"*"}
            if unknown:
                raise error(f"{field}: unknown layer name(s) {sorted(unknown, key=str)} for workload {workload.name!r}")
            return spec.get(name, spec.get("*", default))
        return spec if spec is not None else default

    out = []
    for layer in workload.layers:
        f = pick(fmt, layer.name, None, "fmt", FormatError)
        if f is None:
            raise FormatError(f"fmt: no format given for layer {layer.name!r}")
        f = get_format(f) if isinstance(f, str) else f
        c = pick(compression, layer.name, NO_COMPRESSION, "compression", ConfigError)
        out.append(LayerPlan(layer, f, c))
    return tuple(out)
