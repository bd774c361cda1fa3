"""Accelerator descriptions: frozen ``ArchSpec`` dataclasses and strict YAML presets."""
from accelsim.arch.crossbar import CrossbarSpec
from accelsim.arch.loader import arch_from_dict, dram_presets, load_arch, preset_names
from accelsim.arch.spec import ArchSpec, ArraySpec, BufferSpec, DramSpec

DEFAULT_ARCH = "edge-npu"

__all__ = ["DEFAULT_ARCH", "ArchSpec", "ArraySpec", "BufferSpec", "CrossbarSpec", "DramSpec", "arch_from_dict",
           "dram_presets", "load_arch", "preset_names"]
