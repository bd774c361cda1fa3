// pybind11 face of the kernels: the only file that includes pybind11. Arrays are taken as they
// are (no silent casts or copies): a wrong dtype or a non-contiguous array is a ValueError naming
// the argument. The GIL is released while kernels run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

// numpy's C API, for its data-allocator handlers only (NEP 49, numpy >= 1.22).
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <algorithm>
#include <string>
#include <utility>

#include "accelsim/kernels.hpp"
#include "array_cache.hpp"
#include "src/mutants.hpp"

namespace py = pybind11;
using namespace accelsim;

namespace {

DType dtype_of(const py::array& a, const char* name) {
  const auto dt = a.dtype();
  if (dt.equal(py::dtype::of<int8_t>())) return DType::i8;
  if (dt.equal(py::dtype::of<uint8_t>())) return DType::u8;
  if (dt.equal(py::dtype::of<int16_t>())) return DType::i16;
  if (dt.equal(py::dtype::of<uint16_t>())) return DType::u16;
  if (dt.equal(py::dtype::of<int32_t>())) return DType::i32;
  if (dt.equal(py::dtype::of<int64_t>())) return DType::i64;
  if (dt.equal(py::dtype::of<float>())) return DType::f32;
  throw py::value_error(std::string(name) + ": unsupported dtype " + py::str(dt).cast<std::string>());
}

TensorView view(const py::object& obj, const char* name) {
  TensorView t;
  if (obj.is_none()) return t;
  if (!py::isinstance<py::array>(obj)) throw py::value_error(std::string(name) + " must be a numpy array");
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() > 4) throw py::value_error(std::string(name) + " must have rank <= 4, got " + std::to_string(a.ndim()));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  t.dtype = dtype_of(a, name);
  t.ndim = int(a.ndim());
  for (int i = 0; i < t.ndim; ++i) t.shape[i] = a.shape(i);
  t.data = a.data();
  t.checked_numel(name);  // at most 2^48 elements: the kernels' size products cannot wrap
  return t;
}

ConvParams conv_params(std::pair<int, int> stride, std::pair<int, int> padding, std::pair<int, int> output_padding,
                       std::pair<int, int> dilation, int groups, bool transposed) {
  ConvParams p;
  p.stride_h = stride.first; p.stride_w = stride.second;
  p.pad_h = padding.first; p.pad_w = padding.second;
  p.outpad_h = output_padding.first; p.outpad_w = output_padding.second;
  p.dil_h = dilation.first; p.dil_w = dilation.second;
  p.groups = groups;
  p.transposed = transposed;
  return p;
}

py::array new_array(DType t, const Geom& g) {
  std::vector<py::ssize_t> shape{g.n, g.cout, g.oh, g.ow};
  switch (t) {
    case DType::i16: return py::array_t<int16_t>(shape);
    case DType::i32: return py::array_t<int32_t>(shape);
    default: return py::array_t<int64_t>(shape);
  }
}

// A new array in the storage dtype of codes of format f (int8/uint8/int16/uint16).
py::array codes_array(const IntFmt& f, const std::vector<py::ssize_t>& shape) {
  switch (container_dtype(f)) {
    case DType::i8: return py::array_t<int8_t>(shape);
    case DType::u8: return py::array_t<uint8_t>(shape);
    case DType::i16: return py::array_t<int16_t>(shape);
    default: return py::array_t<uint16_t>(shape);
  }
}

// A float64 array (the kernels' generic views take integer codes and float32 only), or no data for None.
TensorView view_f64(const py::object& obj, const char* name) {
  TensorView t;
  if (obj.is_none()) return t;
  if (!py::isinstance<py::array>(obj)) fail(std::string(name) + " must be a numpy array");
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().equal(py::dtype::of<double>()))
    fail(std::string(name) + " must have dtype float64, got " + py::str(a.dtype()).cast<std::string>());
  if (a.ndim() > 4) fail(std::string(name) + " must have rank <= 4, got " + std::to_string(a.ndim()));
  if (!(a.flags() & py::array::c_style))
    fail(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  t.dtype = DType::f64;
  t.ndim = int(a.ndim());
  for (int i = 0; i < t.ndim; ++i) t.shape[i] = a.shape(i);
  t.data = a.data();
  t.checked_numel(name);
  return t;
}

Isa isa_from(const std::string& s) {
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::amx})
    if (s == isa_name(i)) return i;
  throw py::value_error("isa must be one of scalar, avx2, avx512, amx; got '" + s + "'");
}

}  // namespace

#ifndef ACCELSIM_PYMODULE
#define ACCELSIM_PYMODULE _kernels  // a test build of the mutants loads under another name
#endif
// The arguments of one integer convolution (qconv and qconv_requant take the same ones).
static QConvArgs qconv_args(py::object x, int x_bits, bool x_signed, int x_zero_point, py::object w, int w_kind,
                            int w_bits, py::object bias, std::pair<int, int> stride, std::pair<int, int> padding,
                            std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups,
                            bool transposed, int64_t w_key) {
  QConvArgs a;
  a.x = view(x, "x");
  a.x_fmt = IntFmt{x_bits, x_signed};
  a.x_zero_point = x_zero_point;
  a.w = view(w, "w");
  if (w_key < -1) throw py::value_error("w_key must be >= 0, or -1 for none");
  a.w.key = w_key;
  if (w_kind < 0 || w_kind > 2) throw py::value_error("w_kind must be 0 (fixed), 1 (ternary) or 2 (binary)");
  a.w_kind = WeightKind(w_kind);
  a.w_bits = w_bits;
  a.bias = view(bias, "bias");
  a.conv = conv_params(stride, padding, output_padding, dilation, groups, transposed);
  if (a.x.data == nullptr && x.is_none()) throw py::value_error("x must be a numpy array");
  return a;
}

namespace {

// numpy's handler over the array cache (array_cache.hpp); its name is what numpy reports for arrays
// made through it (numpy._core.multiarray.get_handler_name).
namespace ac = accelsim_array_cache;
void* cache_malloc(void*, size_t n) { return ac::cache().alloc(n, false); }
void* cache_calloc(void*, size_t nelem, size_t elsize) {
  if (elsize && nelem > SIZE_MAX / elsize) return nullptr;
  return ac::cache().alloc(nelem * elsize, true);
}
void* cache_realloc(void*, void* p, size_t n) { return ac::cache().resize(p, n); }
void cache_free(void*, void* p, size_t) { ac::cache().release(p); }
PyDataMem_Handler cache_handler = {"accelsim_array_cache", 1, {nullptr, cache_malloc, cache_calloc, cache_realloc, cache_free}};

// numpy's current handler (a context variable) set to `handler` (None: numpy's default); the one it
// replaced is returned, for the caller to put back.
py::object swap_data_handler(py::object handler) {
  PyObject* old = PyDataMem_SetHandler(handler.is_none() ? nullptr : handler.ptr());
  if (!old) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(old);
}

}  // namespace

PYBIND11_MODULE(ACCELSIM_PYMODULE, m) {
  m.doc() = "accelsim C++ kernels (private; use accelsim.kernels)";
  // A kernel's refusal is accelsim.errors.FormatError (a ValueError), the class the golden model raises
  // for the same input. The handle is kept for the life of the process (never released at exit).
  static PyObject* format_error = py::object(py::module_::import("accelsim.errors").attr("FormatError")).release().ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(format_error, e.what());
    }
  });

  m.def("active_isa", []() { return std::string(isa_name(active_isa())); });
  m.def("set_isa", [](const std::string& s) { set_isa(isa_from(s)); });
  m.def("isa_supported", [](const std::string& s) { return isa_supported(isa_from(s)); });
#ifdef ACCELSIM_MUTANTS  // test builds only (csrc/src/mutants.hpp)
  m.def("set_mutant", [](int n) { g_mutant = n; });
#endif
  m.def("convt_path", []() { return std::string(convt_path_name(convt_path())); });
  m.def("set_convt_path", [](const std::string& s) { set_convt_path(convt_path_from(s)); });
  m.def("last_convt_path", []() { return std::string(last_convt_path()); });
  m.def("last_conv2d_path", []() { return std::string(last_conv2d_path()); });
  m.def("num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads);
  if (_import_array() < 0) throw py::error_already_set();
  // Created once, never released (arrays made through the handler may outlive the module object).
  static PyObject* cache_capsule = PyCapsule_New(&cache_handler, "mem_handler", nullptr);
  if (!cache_capsule) throw py::error_already_set();
  m.def("swap_data_handler", &swap_data_handler, py::arg("handler"));
  m.def("array_cache_handler", []() { return py::reinterpret_borrow<py::object>(cache_capsule); });
  m.def("array_cache_stats", []() {
    const ac::Stats s = ac::cache().stats();
    py::dict d;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["cached_bytes"] = s.cached_bytes;
    d["cached_blocks"] = s.cached_blocks;
    d["limit_bytes"] = s.limit_bytes;
    d["min_block_bytes"] = uint64_t(ac::kMinBytes);
    return d;
  });
  m.def("array_cache_clear", []() { ac::cache().clear(); });
  m.def("set_array_cache_limit", [](int64_t bytes) {
    if (bytes < 0) throw py::value_error("limit_bytes must be >= 0");
    ac::cache().set_limit(uint64_t(bytes));
  });

  m.def(
      "qconv",
      [](py::object x, int x_bits, bool x_signed, int x_zero_point, py::object w, int w_kind, int w_bits,
         py::object bias, std::pair<int, int> stride, std::pair<int, int> padding,
         std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups, bool transposed,
         int64_t w_key) {
        QConvArgs a = qconv_args(x, x_bits, x_signed, x_zero_point, w, w_kind, w_bits, bias, stride, padding,
                                 output_padding, dilation, groups, transposed, w_key);
        QConvPlan plan = qconv_plan(a);
        py::array out = new_array(plan.acc_bits == 32 ? DType::i32 : DType::i64, plan.g);
        void* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          qconv_run(plan, o);
        }
        return out;
      },
      py::arg("x"), py::arg("x_bits"), py::arg("x_signed"), py::arg("x_zero_point"), py::arg("w"),
      py::arg("w_kind"), py::arg("w_bits"), py::arg("bias"), py::arg("stride"), py::arg("padding"),
      py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("transposed"),
      py::arg("w_key") = -1);

  m.def(
      "qconv_requant",
      [](py::object x, int x_bits, bool x_signed, int x_zero_point, py::object w, int w_kind, int w_bits,
         py::object bias, std::pair<int, int> stride, std::pair<int, int> padding,
         std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups, bool transposed,
         py::object m0, py::object shift, int zero_point, int out_bits, bool out_signed, int act, py::object lut,
         int64_t w_key) {
        QConvArgs a = qconv_args(x, x_bits, x_signed, x_zero_point, w, w_kind, w_bits, bias, stride, padding,
                                 output_padding, dilation, groups, transposed, w_key);
        RequantArgs r;
        r.mode = RequantMode::integer;
        r.m0 = view(m0, "m0");
        r.shift = view(shift, "shift");
        r.zero_point = zero_point;
        r.out_fmt = IntFmt{out_bits, out_signed};
        if (act < 0 || act > 2) throw py::value_error("act must be 0 (none), 1 (relu) or 2 (lut)");
        r.act = Activation(act);
        r.lut = view(lut, "lut");
        if (out_bits < 1 || out_bits > 16) throw py::value_error("out bits must be in [1, 16], got " + std::to_string(out_bits));
        QConvPlan plan = qconv_plan(a);
        py::array out = codes_array(r.out_fmt, {plan.g.n, plan.g.cout, plan.g.oh, plan.g.ow});
        void* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          qconv_requant_run(plan, r, o);
        }
        return out;
      },
      py::arg("x"), py::arg("x_bits"), py::arg("x_signed"), py::arg("x_zero_point"), py::arg("w"),
      py::arg("w_kind"), py::arg("w_bits"), py::arg("bias"), py::arg("stride"), py::arg("padding"),
      py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("transposed"), py::arg("m0"),
      py::arg("shift"), py::arg("zero_point"), py::arg("out_bits"), py::arg("out_signed"), py::arg("act"),
      py::arg("lut"), py::arg("w_key") = -1);
  m.def(
      "requantize",
      [](py::object acc, int mode, py::object m0, py::object shift, py::object bias_f32, py::object mult_f32,
         int zero_point, int out_bits, bool out_signed, int act, py::object lut, py::object bias_mul_f32) {
        RequantArgs a;
        a.acc = view(acc, "acc");
        if (acc.is_none()) throw py::value_error("acc must be a numpy array");
        if (mode < 0 || mode > 1) throw py::value_error("mode must be 0 (integer) or 1 (torch)");
        a.mode = RequantMode(mode);
        a.m0 = view(m0, "m0");
        a.shift = view(shift, "shift");
        a.bias_f32 = view(bias_f32, "bias_f32");
        a.mult_f32 = view(mult_f32, "mult_f32");
        a.bias_mul_f32 = view(bias_mul_f32, "bias_mul_f32");
        a.zero_point = zero_point;
        a.out_fmt = IntFmt{out_bits, out_signed};
        if (act < 0 || act > 2) throw py::value_error("act must be 0 (none), 1 (relu) or 2 (lut)");
        a.act = Activation(act);
        a.lut = view(lut, "lut");
        if (out_bits < 1 || out_bits > 16) throw py::value_error("out bits must be in [1, 16], got " + std::to_string(out_bits));
        std::vector<py::ssize_t> shape(a.acc.shape, a.acc.shape + a.acc.ndim);
        py::array out = codes_array(a.out_fmt, shape);
        void* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          requantize(a, o);
        }
        return out;
      },
      py::arg("acc"), py::arg("mode"), py::arg("m0"), py::arg("shift"), py::arg("bias_f32"), py::arg("mult_f32"),
      py::arg("zero_point"), py::arg("out_bits"), py::arg("out_signed"), py::arg("act"), py::arg("lut"),
      py::arg("bias_mul_f32") = py::none());
  m.def(
      "bconv",
      [](py::object x, py::object w, py::object bias, std::pair<int, int> stride, std::pair<int, int> padding,
         std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups, bool transposed) {
        BConvArgs a;
        a.x = view(x, "x");
        a.w = view(w, "w");
        a.bias = view(bias, "bias");
        if (x.is_none() || w.is_none()) throw py::value_error("x and w must be numpy arrays");
        a.conv = conv_params(stride, padding, output_padding, dilation, groups, transposed);
        Geom g = bconv_geom(a);
        py::array out = new_array(DType::i32, g);
        auto* o = static_cast<int32_t*>(out.mutable_data());
        {
          py::gil_scoped_release release;
          bconv(a, o);
        }
        return out;
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("stride"), py::arg("padding"), py::arg("output_padding"),
      py::arg("dilation"), py::arg("groups"), py::arg("transposed"));

  m.def(
      "bconv_f64",
      [](py::object x, py::object w, py::object bias, py::object scale, std::pair<int, int> stride,
         std::pair<int, int> padding, std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups,
         bool transposed, bool relu, int64_t w_key) {
        BConvF64Args a;
        a.relu = relu;
        a.x = view_f64(x, "x");
        a.w = view(w, "w");
        if (w_key < -1) throw py::value_error("w_key must be >= 0, or -1 for none");
        a.w.key = w_key;
        a.bias = view(bias, "bias");
        a.scale = view_f64(scale, "scale");
        if (x.is_none() || w.is_none()) throw py::value_error("x and w must be numpy arrays");
        if (scale.is_none()) fail("scale must be a float64 array of Cout entries, got None");
        a.conv = conv_params(stride, padding, output_padding, dilation, groups, transposed);
        Geom g = bconv_f64_geom(a);
        py::array_t<double> out(std::vector<py::ssize_t>{g.n, g.cout, g.oh, g.ow});
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          bconv_f64(a, o);
        }
        return out;
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("scale"), py::arg("stride"), py::arg("padding"),
      py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("transposed"),
      py::arg("relu") = false, py::arg("w_key") = -1);

  m.def(
      "flexconv",
      [](py::object x, int x_exp, py::object w, int w_exp, py::object bias, std::pair<int, int> stride,
         std::pair<int, int> padding, std::pair<int, int> output_padding, std::pair<int, int> dilation, int groups,
         bool transposed, bool dynamic, int out_exp) {
        FlexConvArgs a;
        a.x = view(x, "x");
        a.x_exp = x_exp;
        a.w = view(w, "w");
        a.w_exp = w_exp;
        a.bias = view(bias, "bias");
        if (x.is_none() || w.is_none()) throw py::value_error("x and w must be numpy arrays");
        a.conv = conv_params(stride, padding, output_padding, dilation, groups, transposed);
        a.dynamic = dynamic;
        a.out_exp = out_exp;
        Geom g = flexconv_geom(a);
        py::array out = new_array(DType::i16, g);
        auto* o = static_cast<int16_t*>(out.mutable_data());
        FlexResult r;
        {
          py::gil_scoped_release release;
          r = flexconv(a, o);
        }
        return py::make_tuple(out, r.out_exp, r.overflows, r.acc_max_abs);
      },
      py::arg("x"), py::arg("x_exp"), py::arg("w"), py::arg("w_exp"), py::arg("bias"), py::arg("stride"),
      py::arg("padding"), py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("transposed"),
      py::arg("dynamic"), py::arg("out_exp"));

  m.def(
      "pack_signs",
      [](py::object x) {
        TensorView t = view(x, "x");
        if (x.is_none() || t.dtype != DType::i8 || t.ndim < 1)
          throw py::value_error("x must be an int8 array of -1/+1 with rank >= 1");
        const int64_t len = t.shape[t.ndim - 1];
        int64_t rows = 1;  // every axis but the last (a zero-length last axis still has its rows)
        for (int i = 0; i + 1 < t.ndim; ++i) rows *= t.shape[i];
        const int8_t* p = static_cast<const int8_t*>(t.data);
        for (int64_t i = 0; i < t.numel(); ++i)
          if (p[i] != 1 && p[i] != -1) throw py::value_error("x must contain only -1 and +1");
        const int64_t words = (len + 63) / 64;
        py::array_t<uint64_t> out({py::ssize_t(rows), py::ssize_t(words)});
        pack_signs(p, rows, len, out.mutable_data());
        return out;
      },
      py::arg("x"));
  // ---- vector-unit ops (accelsim/formats/vector.py) ----
  m.def(
      "instance_norm_codes",
      [](py::object x, int x_bits, bool x_signed, double scale, int zero_point, py::object weight, py::object bias,
         double eps, bool codes, double out_scale, int out_zero_point, int out_bits, bool out_signed, bool relu,
         py::object residual, bool want_float, bool into_residual) -> py::object {
        TensorView t = view(x, "x");
        if (x.is_none() || t.ndim < 3) throw py::value_error("x must be a code array of rank 3 or 4 (N, C, ...) with values per plane");
        InstanceNormArgs a;
        a.x = t.data;
        a.x_dtype = t.dtype;
        a.x_fmt = IntFmt{x_bits, x_signed};
        if (t.dtype != container_dtype(a.x_fmt)) throw py::value_error("x: dtype does not match x_bits/x_signed");
        a.channels = t.shape[1];
        a.planes = t.shape[0] * t.shape[1];
        a.hw = 1;
        for (int i = 2; i < t.ndim; ++i) a.hw *= t.shape[i];
        a.scale = scale;
        a.zero_point = zero_point;
        a.eps = eps;
        py::array_t<double, py::array::c_style> wv, bv;
        if (!weight.is_none()) {
          wv = py::array_t<double, py::array::c_style>::ensure(weight);
          if (!wv || wv.ndim() != 1 || wv.shape(0) != a.channels)
            throw py::value_error("weight must be a float64 vector of C entries");
          a.weight = wv.data();
        }
        if (!bias.is_none()) {
          bv = py::array_t<double, py::array::c_style>::ensure(bias);
          if (!bv || bv.ndim() != 1 || bv.shape(0) != a.channels)
            throw py::value_error("bias must be a float64 vector of C entries");
          a.bias = bv.data();
        }
        std::vector<py::ssize_t> shape(t.shape, t.shape + t.ndim);
        py::array_t<double, py::array::c_style> rv;
        if (!residual.is_none()) {  // float64, C-contiguous, x's shape; taken as it is (no cast, no copy)
          if (!py::isinstance<py::array_t<double, py::array::c_style>>(residual))
            throw py::value_error("residual must be a C-contiguous float64 array");
          rv = py::reinterpret_borrow<py::array_t<double, py::array::c_style>>(residual);
          if (rv.ndim() != t.ndim || !std::equal(shape.begin(), shape.end(), rv.shape()))
            throw py::value_error("residual must have the shape of x");
          a.residual = rv.data();
        } else if (want_float && codes) {
          throw py::value_error("float and code outputs only with a residual");
        }
        py::array out, outf;
        if (codes) {
          a.out_fmt = IntFmt{out_bits, out_signed};
          a.out_scale = out_scale;
          a.out_zero_point = out_zero_point;
          a.relu = relu;
          if (out_bits < 2 || out_bits > 16) throw py::value_error("out_bits must be in [2, 16]");
          out = codes_array(a.out_fmt, shape);
          a.out_codes = out.mutable_data();
        }
        if (into_residual && (residual.is_none() || !rv.writeable()))
          throw py::value_error("into_residual needs a writeable residual array");
        if (!codes || want_float) {  // into the residual: element i is read, then written, by one thread
          outf = into_residual ? py::array(rv) : py::array(py::array_t<double>(shape));
          a.out_float = static_cast<double*>(outf.mutable_data());
        }
        {
          py::gil_scoped_release release;
          instance_norm_codes(a);
        }
        if (codes && want_float) return py::make_tuple(outf, out);
        return codes ? out : outf;
      },
      py::arg("x"), py::arg("x_bits"), py::arg("x_signed"), py::arg("scale"), py::arg("zero_point"),
      py::arg("weight"), py::arg("bias"), py::arg("eps"), py::arg("codes"), py::arg("out_scale"),
      py::arg("out_zero_point"), py::arg("out_bits"), py::arg("out_signed"), py::arg("relu"),
      py::arg("residual") = py::none(), py::arg("want_float") = false, py::arg("into_residual") = false);
  m.def(
      "pad_codes",
      [](py::object x, int top, int bottom, int left, int right, int mode, int value) {
        TensorView t = view(x, "x");
        if (x.is_none() || t.ndim != 4) throw py::value_error("x must be a code array of rank 4 (N, C, H, W)");
        std::vector<py::ssize_t> shape{t.shape[0], t.shape[1], t.shape[2] + top + bottom, t.shape[3] + left + right};
        py::array out;
        switch (t.dtype) {
          case DType::i8: out = py::array_t<int8_t>(shape); break;
          case DType::u8: out = py::array_t<uint8_t>(shape); break;
          case DType::i16: out = py::array_t<int16_t>(shape); break;
          case DType::u16: out = py::array_t<uint16_t>(shape); break;
          default: throw py::value_error("x must hold int8, uint8, int16 or uint16 codes");
        }
        void* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          pad_codes(t.data, t.dtype, t.shape[0] * t.shape[1], t.shape[2], t.shape[3], top, bottom, left, right, mode,
                    value, o);
        }
        return out;
      },
      py::arg("x"), py::arg("top"), py::arg("bottom"), py::arg("left"), py::arg("right"), py::arg("mode"),
      py::arg("value"));
  m.def(
      "lut_codes",
      [](py::object x, py::array table) {
        TensorView t = view(x, "x");
        if (x.is_none() || t.ndim < 1) throw py::value_error("x must be a code array of rank >= 1");
        if (!(t.dtype == DType::i8 || t.dtype == DType::u8 || t.dtype == DType::i16 || t.dtype == DType::u16))
          throw py::value_error("x must hold int8, uint8, int16 or uint16 codes");
        if (!(table.flags() & py::array::c_style)) throw py::value_error("table must be C-contiguous");
        const auto td = table.dtype();
        const bool ok = td.equal(py::dtype::of<int8_t>()) || td.equal(py::dtype::of<uint8_t>()) ||
                        td.equal(py::dtype::of<int16_t>()) || td.equal(py::dtype::of<uint16_t>()) ||
                        td.equal(py::dtype::of<double>());
        if (!ok) throw py::value_error("table must hold int8, uint8, int16, uint16 or float64 entries");
        const int64_t T = int64_t(1) << (8 * dtype_size(t.dtype));
        const int64_t C = t.ndim > 1 ? t.shape[1] : 1;
        const bool per_channel = table.ndim() == 2;
        if (!((table.ndim() == 1 && table.shape(0) == T) ||
              (per_channel && t.ndim > 1 && table.shape(0) == C && table.shape(1) == T)))
          throw py::value_error("table must have shape (" + std::to_string(T) + ",) or (channels of x, " +
                                std::to_string(T) + ") for " + dtype_name(t.dtype) + " codes");
        int64_t inner = 1;
        for (int i = 2; i < t.ndim; ++i) inner *= t.shape[i];
        const int64_t outer = t.ndim > 0 ? t.shape[0] : 1;
        std::vector<py::ssize_t> shape(t.shape, t.shape + t.ndim);
        py::array out(td, shape);
        void* o = out.mutable_data();
        const void* tp = table.data();
        const size_t esz = size_t(table.itemsize());
        {
          py::gil_scoped_release release;
          lut_codes(t.data, t.dtype, t.ndim > 1 ? outer : 1, t.ndim > 1 ? C : 1, t.ndim > 1 ? inner : t.shape[0],
                    tp, per_channel, esz, o);
        }
        return out;
      },
      py::arg("x"), py::arg("table"));
  m.def(
      "pixel_shuffle_codes",
      [](py::array x, int factor) {
        if (!(x.flags() & py::array::c_style)) throw py::value_error("x must be C-contiguous");
        if (x.ndim() != 4) throw py::value_error("x must have rank 4 (N, C, H, W)");
        const size_t esz = size_t(x.itemsize());
        if (!(esz == 1 || esz == 2 || esz == 4 || esz == 8)) throw py::value_error("x: elements of 1, 2, 4 or 8 bytes");
        if (factor < 1 || x.shape(1) % (int64_t(factor) * factor))
          throw py::value_error("pixel shuffle by " + std::to_string(factor) + " needs channels divisible by " +
                                std::to_string(int64_t(factor) * factor) + ", got " + std::to_string(x.shape(1)));
        const int64_t r = factor, n = x.shape(0), c = x.shape(1) / (r * r), h = x.shape(2), w = x.shape(3);
        std::vector<py::ssize_t> shape{n, c, h * r, w * r};
        py::array out(x.dtype(), shape);
        void* o = out.mutable_data();
        const void* xp = x.data();
        {
          py::gil_scoped_release release;
          pixel_shuffle_codes(xp, esz, n, c, r, h, w, o);
        }
        return out;
      },
      py::arg("x"), py::arg("factor"));
  m.def(
      "quantize_codes",
      [](py::array_t<double, py::array::c_style> x, double scale, int zero_point, int bits, bool is_signed) {
        IntFmt f{bits, is_signed};
        if (bits < 2 || bits > 16) throw py::value_error("bits must be in [2, 16]");
        std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
        py::array out = codes_array(f, shape);
        void* o = out.mutable_data();
        const double* xp = x.data();
        const int64_t n = x.size();
        {
          py::gil_scoped_release release;
          quantize_codes(xp, n, scale, zero_point, f, o);
        }
        return out;
      },
      py::arg("x").noconvert(), py::arg("scale"), py::arg("zero_point"), py::arg("bits"), py::arg("is_signed"));
  m.def(
      "dequantize_codes",
      [](py::array q, double scale, int zero_point) {
        if (!(q.flags() & py::array::c_style)) throw py::value_error("codes must be C-contiguous");
        const DType dt = dtype_of(q, "codes");
        std::vector<py::ssize_t> shape(q.shape(), q.shape() + q.ndim());
        py::array_t<double> out(shape);
        double* o = out.mutable_data();
        const void* qp = q.data();
        const int64_t n = q.size();
        {
          py::gil_scoped_release release;
          dequantize_codes(qp, dt, n, scale, zero_point, o);
        }
        return out;
      },
      py::arg("codes"), py::arg("scale"), py::arg("zero_point"));
  m.def(
      "dequantize_add",
      [](py::array q, double scale, int zero_point, py::object residual, bool codes, double out_scale,
         int out_zero_point, int out_bits, bool out_signed, bool want_float, bool into_residual) -> py::object {
        if (!(q.flags() & py::array::c_style)) throw py::value_error("codes must be C-contiguous");
        DequantizeAddArgs a;
        a.dtype = dtype_of(q, "codes");
        a.codes = q.data();
        a.n = q.size();
        a.scale = scale;
        a.zero_point = zero_point;
        std::vector<py::ssize_t> shape(q.shape(), q.shape() + q.ndim());
        // float64, C-contiguous, the codes' shape; taken as it is (no cast, no copy)
        if (!py::isinstance<py::array_t<double, py::array::c_style>>(residual))
          throw py::value_error("residual must be a C-contiguous float64 array");
        auto rv = py::reinterpret_borrow<py::array_t<double, py::array::c_style>>(residual);
        if (rv.ndim() != q.ndim() || !std::equal(shape.begin(), shape.end(), rv.shape()))
          throw py::value_error("residual must have the shape of the codes");
        a.residual = rv.data();
        py::array out, outf;
        if (codes) {
          if (out_bits < 2 || out_bits > 16) throw py::value_error("out_bits must be in [2, 16]");
          a.out_fmt = IntFmt{out_bits, out_signed};
          a.out_scale = out_scale;
          a.out_zero_point = out_zero_point;
          out = codes_array(a.out_fmt, shape);
          a.out_codes = out.mutable_data();
        }
        if (into_residual && !rv.writeable()) throw py::value_error("into_residual needs a writeable residual array");
        if (!codes || want_float) {  // into the residual: element i is read, then written, by one thread
          outf = into_residual ? py::array(rv) : py::array(py::array_t<double>(shape));
          a.out_float = static_cast<double*>(outf.mutable_data());
        }
        {
          py::gil_scoped_release release;
          dequantize_add(a);
        }
        if (codes && want_float) return py::make_tuple(outf, out);
        return codes ? out : outf;
      },
      py::arg("codes"), py::arg("scale"), py::arg("zero_point"), py::arg("residual"), py::arg("codes_out"),
      py::arg("out_scale"), py::arg("out_zero_point"), py::arg("out_bits"), py::arg("out_signed"),
      py::arg("want_float"), py::arg("into_residual"));
  m.def("peak_probe_names", []() {
    std::vector<std::string> out;
    for (const char* const* p = peak_probe_names(); *p; ++p) out.emplace_back(*p);
    return out;
  });
  m.def(
      "peak_probe",
      [](const std::string& name, int64_t iters) {
        py::gil_scoped_release release;
        return peak_probe(name, iters);
      },
      py::arg("name"), py::arg("iters"));
}
