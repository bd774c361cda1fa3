"""A workload: the ordered layers of one generator, plus per-layer format and compression."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from accelsim.errors import ConfigError, FormatError, ModelError
from accelsim.workload.layer import Layer
from accelsim.workload.precision import NO_COMPRESSION, Compression, Format, get_format


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[Layer, ...]
    input_chw: tuple[int, int, int]
    source: str = ""

    def __post_init__(self):
        if not self.layers:
            raise ModelError(f"workload {self.name!r} has no layers")
        names = [l.name for l in self.layers]
        if len(set(names)) != len(names):
            raise ModelError(f"workload {self.name!r}: layer names must be unique")

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
