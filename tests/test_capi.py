"""The C ABI (accelsim.h + libaccelsim.so): driven through cffi and compared with the pybind11
path; canary-filled output buffers; a tiny C program compiled with the system compiler."""
import os
import shutil
import subprocess

import numpy as np
import pytest

from accelsim import kernels, native
from accelsim.formats.conv import ConvSpec

cffi = pytest.importorskip("cffi")

DTYPES = {np.dtype(np.int8): 0, np.dtype(np.uint8): 1, np.dtype(np.int16): 2, np.dtype(np.uint16): 3,
          np.dtype(np.int32): 4, np.dtype(np.int64): 5, np.dtype(np.float32): 6}


def _cdef_text(header: str) -> str:
    """The header without preprocessor lines and its extern "C" wrapper (what cffi parses)."""
    out, skip = [], False
    for line in header.splitlines():
        s = line.strip()
        if s.startswith("#ifdef __cplusplus"):
            skip = True
            continue
        if skip:
            skip = not s.startswith("#endif")
            continue
        if s.startswith("#"):
            continue
        out.append(line)
    return "\n".join(out)


@pytest.fixture(scope="module")
def capi():
    ffi = cffi.FFI()
    ffi.cdef(_cdef_text(native.header_text()))
    lib = ffi.dlopen(native.library_path())
    return ffi, lib


def tensor(ffi, arr, keep):
    arr = np.ascontiguousarray(arr)
    keep.append(arr)
    t = ffi.new("accelsim_tensor*")
    t.data = ffi.cast("void*", arr.ctypes.data)
    t.dtype = DTYPES[arr.dtype]
    t.ndim = arr.ndim
    for i, s in enumerate(arr.shape):
        t.shape[i] = s
    return t


def conv(ffi, spec):
    c = ffi.new("accelsim_conv*")
    c.stride_h, c.stride_w = spec.stride
    c.pad_h, c.pad_w = spec.padding
    c.outpad_h, c.outpad_w = spec.output_padding
    c.dil_h, c.dil_w = spec.dilation
    c.groups = spec.groups
    c.transposed = int(spec.transposed)
    return c


def test_abi_version_and_isa(capi):
    ffi, lib = capi
    assert lib.accelsim_abi_version() == 1
    assert ffi.string(lib.accelsim_active_isa()).decode() in kernels.ISAS


@pytest.mark.parametrize("seed", range(10))
def test_qconv_and_requant_equal_pybind(capi, seed):
    ffi, lib = capi
    rng = np.random.default_rng(seed)
    spec = ConvSpec.make(stride=2, padding=1, output_padding=seed % 2, transposed=True)
    x = rng.integers(0, 256, (2, 6, 5, 4)).astype(np.uint8)
    w = rng.integers(-127, 128, (6, 3, 4, 4)).astype(np.int8)
    bias = rng.integers(-500, 500, 3).astype(np.int32)
    keep = []
    tx, tw, tb, tc = tensor(ffi, x, keep), tensor(ffi, w, keep), tensor(ffi, bias, keep), conv(ffi, spec)
    shape, bits = ffi.new("int64_t[4]"), ffi.new("int32_t*")
    assert lib.accelsim_qconv_plan(tx, 8, 0, 17, tw, 0, 8, tb, tc, shape, bits) == 0
    expect = kernels.conv_int(x, w, x_bits=8, x_signed=False, x_zero_point=17, w_bits=8, bias=bias, spec=spec)
    assert tuple(shape) == expect.shape and bits[0] == 32
    canary = np.int32(-0x5A5A5A5B)
    out = np.full(expect.size + 8, canary, np.int32)  # 8 guard elements past the end
    rc = lib.accelsim_qconv(tx, 8, 0, 17, tw, 0, 8, tb, tc, ffi.cast("void*", out.ctypes.data), expect.size * 4)
    assert rc == 0, ffi.string(lib.accelsim_last_error())
    np.testing.assert_array_equal(out[:expect.size].reshape(expect.shape), expect)
    assert (out[expect.size:] == canary).all()
    # requantize through the C ABI
    m0 = np.array([1 << 30], np.int32)
    sh = np.array([6], np.int32)
    q = np.full(expect.size, 99, np.int8)
    rc = lib.accelsim_requantize(tensor(ffi, expect, keep), 0, tensor(ffi, m0, keep), tensor(ffi, sh, keep), ffi.NULL,
                                 ffi.NULL, -3, 8, 1, 1, ffi.NULL, ffi.cast("void*", q.ctypes.data), q.size)
    assert rc == 0, ffi.string(lib.accelsim_last_error())
    np.testing.assert_array_equal(q.reshape(expect.shape), kernels.requantize_integer(
        expect, m0, sh, zero_point=-3, out_bits=8, out_signed=True, act="relu"))


def test_errors_are_status_codes_with_messages(capi):
    ffi, lib = capi
    keep = []
    x = np.zeros((1, 4, 3, 3), np.int8)
    w = np.zeros((5, 2, 3, 3), np.int8)  # Cin mismatch for conv_transpose2d
    spec = ConvSpec.make(transposed=True)
    out = np.zeros(1000, np.int32)
    rc = lib.accelsim_qconv(tensor(ffi, x, keep), 8, 1, 0, tensor(ffi, w, keep), 0, 8, ffi.NULL, conv(ffi, spec),
                            ffi.cast("void*", out.ctypes.data), out.nbytes)
    assert rc == 1
    assert "must equal x channels" in ffi.string(lib.accelsim_last_error()).decode()
    # too-small output buffer
    w = np.zeros((4, 2, 3, 3), np.int8)
    rc = lib.accelsim_qconv(tensor(ffi, x, keep), 8, 1, 0, tensor(ffi, w, keep), 0, 8, ffi.NULL, conv(ffi, spec),
                            ffi.cast("void*", out.ctypes.data), 4)
    assert rc == 1 and "too small" in ffi.string(lib.accelsim_last_error()).decode()
    # NULL tensors
    rc = lib.accelsim_qconv(ffi.NULL, 8, 1, 0, ffi.NULL, 0, 8, ffi.NULL, ffi.NULL, ffi.NULL, 0)
    assert rc == 1 and "NULL" in ffi.string(lib.accelsim_last_error()).decode()


def test_flex_and_binary_equal_pybind(capi):
    ffi, lib = capi
    rng = np.random.default_rng(2)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    keep = []
    xm = rng.integers(-32768, 32768, (1, 8, 4, 4)).astype(np.int16)
    wm = rng.integers(-32768, 32768, (8, 4, 4, 4)).astype(np.int16)
    exp = kernels.conv_flex(xm, -3, wm, -7, spec=spec)
    out = np.zeros(exp[0].size, np.int16)
    e, over, amax = ffi.new("int32_t*"), ffi.new("int64_t*"), ffi.new("int64_t*")
    rc = lib.accelsim_flexconv(tensor(ffi, xm, keep), -3, tensor(ffi, wm, keep), -7, ffi.NULL, conv(ffi, spec), 1, 0,
                               ffi.NULL, ffi.cast("int16_t*", out.ctypes.data), out.nbytes, e, over, amax)
    assert rc == 0
    np.testing.assert_array_equal(out.reshape(exp[0].shape), exp[0])
    assert (e[0], over[0], amax[0]) == exp[1:]
    rc = lib.accelsim_flexconv(tensor(ffi, xm, keep), 16, tensor(ffi, wm, keep), 0, ffi.NULL, conv(ffi, spec), 1, 0,
                               ffi.NULL, ffi.cast("int16_t*", out.ctypes.data), out.nbytes, e, over, amax)
    assert rc == 1 and "5-bit" in ffi.string(lib.accelsim_last_error()).decode()
    xb = np.where(rng.random((1, 70, 3, 3)) < 0.5, 1, -1).astype(np.int8)
    wb = np.where(rng.random((70, 5, 4, 4)) < 0.5, 1, -1).astype(np.int8)
    expb = kernels.conv_xnor(xb, wb, spec=spec)
    outb = np.zeros(expb.size, np.int32)
    rc = lib.accelsim_bconv(tensor(ffi, xb, keep), tensor(ffi, wb, keep), ffi.NULL, conv(ffi, spec), ffi.NULL,
                            ffi.cast("int32_t*", outb.ctypes.data), outb.nbytes)
    assert rc == 0
    np.testing.assert_array_equal(outb.reshape(expb.shape), expb)


C_PROGRAM = r"""
#include <stdio.h>
#include <accelsim.h>
int main(void) {
  /* 1x1x2x2 int8 input, 1x1x2x2 weights, conv_transpose2d stride 2 -> 1x1x4x4 */
  int8_t x[4] = {1, 2, 3, -4};
  int8_t w[4] = {1, -1, 2, 3};
  accelsim_tensor tx = {x, ACCELSIM_I8, 4, {1, 1, 2, 2}};
  accelsim_tensor tw = {w, ACCELSIM_I8, 4, {1, 1, 2, 2}};
  accelsim_conv c = {2, 2, 0, 0, 0, 0, 1, 1, 1, 1};
  int32_t out[16];
  int rc = accelsim_qconv(&tx, 8, 1, 0, &tw, ACCELSIM_W_FIXED, 8, NULL, &c, out, sizeof out);
  if (rc != ACCELSIM_OK) { printf("error %d: %s\n", rc, accelsim_last_error()); return 1; }
  for (int i = 0; i < 16; ++i) printf("%d%c", out[i], i == 15 ? '\n' : ' ');
  return 0;
}
"""


def test_c_program_links_the_library(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "tb.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "tb"
    lib = native.library_path()
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", str(src), "-I", native.include_dir(), lib,
                    f"-Wl,-rpath,{os.path.dirname(lib)}", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    x = np.array([1, 2, 3, -4], np.int8).reshape(1, 1, 2, 2)
    w = np.array([1, -1, 2, 3], np.int8).reshape(1, 1, 2, 2)
    expect = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_bits=8,
                              spec=ConvSpec.make(stride=2, transposed=True))
    assert [int(v) for v in out] == expect.ravel().tolist()


def test_extension_and_c_library_share_one_kernel_build(capi):
    """One kernel build: the pybind11 extension links libaccelsim.so (DT_NEEDED) instead of compiling the
    kernels a second time, so the ISA switch and the thread pool are one state for Python and C callers."""
    ffi, lib = capi
    ext = kernels._k.__file__
    with open(ext, "rb") as f:
        assert b"libaccelsim.so\x00" in f.read(), "the extension does not link libaccelsim.so"
    for isa in kernels.available_isas():
        with kernels.use_isa(isa):
            assert ffi.string(lib.accelsim_active_isa()).decode() == isa
