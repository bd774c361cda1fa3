// The C ABI (accelsim.h) over the same kernels as the pybind11 module: exceptions stop here and
// become status codes plus a thread-local message.
#include "accelsim/accelsim.h"

#include <cstring>
#include <string>

#include "accelsim/kernels.hpp"

using namespace accelsim;

#define ACCELSIM_API extern "C" __attribute__((visibility("default")))

namespace {

thread_local std::string g_last_error;

template <class F>
int guarded(F&& f) {
  try {
    f();
    g_last_error.clear();
    return ACCELSIM_OK;
  } catch (const Error& e) {
    g_last_error = e.what();
    return e.status == kOverflow ? ACCELSIM_EOVERFLOW : ACCELSIM_EINVAL;
  } catch (const std::exception& e) {
    g_last_error = std::string("internal error: ") + e.what();
    return ACCELSIM_EINTERNAL;
  } catch (...) {
    g_last_error = "internal error";
    return ACCELSIM_EINTERNAL;
  }
}

TensorView view(const accelsim_tensor* t, const char* name, bool optional = false) {
  TensorView v;
  if (!t) {
    if (optional) return v;
    fail(std::string(name) + " is NULL");
  }
  if (t->ndim < 0 || t->ndim > 4) fail(std::string(name) + " rank must be in [0, 4]");
  if (t->dtype < 0 || t->dtype > ACCELSIM_F32) fail(std::string(name) + " has an unknown dtype code");
  v.data = t->data;
  v.dtype = DType(t->dtype);
  v.ndim = t->ndim;
  for (int i = 0; i < t->ndim; ++i) v.shape[i] = t->shape[i];
  if (!v.data && !optional) fail(std::string(name) + " data is NULL");
  v.checked_numel(name);  // no negative dimension, at most 2^48 elements: later size products cannot wrap
  return v;
}

ConvParams params(const accelsim_conv* c) {
  if (!c) fail("conv is NULL");
  ConvParams p;
  p.stride_h = c->stride_h; p.stride_w = c->stride_w; p.pad_h = c->pad_h; p.pad_w = c->pad_w;
  p.outpad_h = c->outpad_h; p.outpad_w = c->outpad_w; p.dil_h = c->dil_h; p.dil_w = c->dil_w;
  p.groups = c->groups; p.transposed = c->transposed != 0;
  return p;
}

// `elements` of `elem_bytes` each must fit the caller's buffer; the byte count is overflow-checked.
void check_capacity(void* out, int64_t have, int64_t elements, int64_t elem_bytes) {
  if (!out) fail("out is NULL");
  const int64_t need = checked_mul(elements, elem_bytes, "out");
  if (have < need) fail("out buffer too small: need " + std::to_string(need) + " bytes, got " + std::to_string(have));
}

QConvArgs qargs(const accelsim_tensor* x, int32_t x_bits, int32_t x_signed, int32_t x_zero_point,
                const accelsim_tensor* w, int32_t w_kind, int32_t w_bits, const accelsim_tensor* bias,
                const accelsim_conv* conv) {
  QConvArgs a;
  a.x = view(x, "x");
  a.x_fmt = IntFmt{x_bits, x_signed != 0};
  a.x_zero_point = x_zero_point;
  a.w = view(w, "w");
  if (w_kind < 0 || w_kind > 2) fail("w_kind must be 0 (fixed), 1 (ternary) or 2 (binary)");
  a.w_kind = WeightKind(w_kind);
  a.w_bits = w_bits;
  a.bias = view(bias, "bias", true);
  a.conv = params(conv);
  return a;
}

void put_shape(const Geom& g, int64_t out_shape[4]) {
  if (!out_shape) return;
  out_shape[0] = g.n; out_shape[1] = g.cout; out_shape[2] = g.oh; out_shape[3] = g.ow;
}

}  // namespace

ACCELSIM_API int accelsim_abi_version(void) { return ACCELSIM_ABI_VERSION; }
ACCELSIM_API const char* accelsim_last_error(void) { return g_last_error.c_str(); }
ACCELSIM_API const char* accelsim_active_isa(void) {
  try {
    return isa_name(active_isa());
  } catch (...) {
    return "invalid";
  }
}

ACCELSIM_API int accelsim_qconv_plan(const accelsim_tensor* x, int32_t x_bits, int32_t x_signed, int32_t x_zero_point,
                                     const accelsim_tensor* w, int32_t w_kind, int32_t w_bits,
                                     const accelsim_tensor* bias, const accelsim_conv* conv, int64_t out_shape[4],
                                     int32_t* acc_bits) {
  return guarded([&] {
    QConvPlan plan = qconv_plan(qargs(x, x_bits, x_signed, x_zero_point, w, w_kind, w_bits, bias, conv));
    put_shape(plan.g, out_shape);
    if (acc_bits) *acc_bits = plan.acc_bits;
  });
}

ACCELSIM_API int accelsim_qconv(const accelsim_tensor* x, int32_t x_bits, int32_t x_signed, int32_t x_zero_point,
                                const accelsim_tensor* w, int32_t w_kind, int32_t w_bits, const accelsim_tensor* bias,
                                const accelsim_conv* conv, void* out, int64_t out_bytes) {
  return guarded([&] {
    QConvPlan plan = qconv_plan(qargs(x, x_bits, x_signed, x_zero_point, w, w_kind, w_bits, bias, conv));
    check_capacity(out, out_bytes, plan.g.out_numel(), plan.acc_bits / 8);
    qconv_run(plan, out);
  });
}

ACCELSIM_API int accelsim_requantize(const accelsim_tensor* acc, int32_t mode, const accelsim_tensor* m0,
                                     const accelsim_tensor* shift, const accelsim_tensor* bias_f32,
                                     const accelsim_tensor* mult_f32, int32_t zero_point, int32_t out_bits,
                                     int32_t out_signed, int32_t act, const accelsim_tensor* lut, void* out,
                                     int64_t out_bytes) {
  return guarded([&] {
    RequantArgs a;
    a.acc = view(acc, "acc");
    if (mode < 0 || mode > 1) fail("mode must be 0 (integer) or 1 (torch)");
    a.mode = RequantMode(mode);
    a.m0 = view(m0, "m0", mode != 0);
    a.shift = view(shift, "shift", mode != 0);
    a.bias_f32 = view(bias_f32, "bias_f32", mode != 1);
    a.mult_f32 = view(mult_f32, "mult_f32", mode != 1);
    a.zero_point = zero_point;
    if (out_bits < 1 || out_bits > 16) fail("out_bits must be in [1, 16], got " + std::to_string(out_bits));
    a.out_fmt = IntFmt{out_bits, out_signed != 0};
    if (act < 0 || act > 2) fail("act must be 0 (none), 1 (relu) or 2 (lut)");
    a.act = Activation(act);
    a.lut = view(lut, "lut", act != 2);
    check_capacity(out, out_bytes, a.acc.checked_numel("acc"), int64_t(dtype_size(container_dtype(a.out_fmt))));
    requantize(a, out);
  });
}

ACCELSIM_API int accelsim_bconv(const accelsim_tensor* x, const accelsim_tensor* w, const accelsim_tensor* bias,
                                const accelsim_conv* conv, int64_t out_shape[4], int32_t* out, int64_t out_bytes) {
  return guarded([&] {
    BConvArgs a;
    a.x = view(x, "x");
    a.w = view(w, "w");
    a.bias = view(bias, "bias", true);
    a.conv = params(conv);
    Geom g = bconv_geom(a);
    put_shape(g, out_shape);
    if (out) {
      check_capacity(out, out_bytes, g.out_numel(), 4);
      bconv(a, out);
    }
  });
}

ACCELSIM_API int accelsim_flexconv(const accelsim_tensor* x, int32_t x_exp, const accelsim_tensor* w, int32_t w_exp,
                                   const accelsim_tensor* bias, const accelsim_conv* conv, int32_t dynamic,
                                   int32_t out_exp, int64_t out_shape[4], int16_t* out, int64_t out_bytes,
                                   int32_t* out_exp_used, int64_t* overflows, int64_t* acc_max_abs) {
  return guarded([&] {
    FlexConvArgs a;
    a.x = view(x, "x");
    a.x_exp = x_exp;
    a.w = view(w, "w");
    a.w_exp = w_exp;
    a.bias = view(bias, "bias", true);
    a.conv = params(conv);
    a.dynamic = dynamic != 0;
    a.out_exp = out_exp;
    Geom g = flexconv_geom(a);
    put_shape(g, out_shape);
    if (out) {
      check_capacity(out, out_bytes, g.out_numel(), 2);
      FlexResult r = flexconv(a, out);
      if (out_exp_used) *out_exp_used = r.out_exp;
      if (overflows) *overflows = r.overflows;
      if (acc_max_abs) *acc_max_abs = r.acc_max_abs;
    }
  });
}
