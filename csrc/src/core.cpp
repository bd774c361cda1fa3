// Errors, geometry validation, run-time ISA selection and thread count.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "accelsim/core.hpp"
#include "accelsim/hot.hpp"
#include "mutants.hpp"

namespace accelsim {

#ifdef ACCELSIM_MUTANTS
int g_mutant = 0;
#endif

void fail(const std::string& msg, Status s) { throw Error(s, msg); }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
  }
  return "?";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::i8: case DType::u8: return 1;
    case DType::i16: case DType::u16: return 2;
    case DType::i32: case DType::f32: return 4;
    case DType::i64: case DType::f64: return 8;
  }
  return 0;
}

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    fail(std::string(what) + ": size " + std::to_string(a) + " * " + std::to_string(b) + " overflows int64");
  return r;
}

int64_t TensorView::checked_numel(const char* name) const {
  auto dims = [&] {
    std::string d;
    for (int i = 0; i < ndim; ++i) d += (i ? ", " : "") + std::to_string(shape[i]);
    return "(" + d + (ndim == 1 ? ",)" : ")");
  };
  bool empty = false;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] < 0) fail(std::string(name) + ": shape " + dims() + " has a negative dimension");
    empty = empty || shape[i] == 0;
  }
  if (empty) return 0;  // however long its other dimensions
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) {
    // n <= kMaxElements here, so n * shape[i] cannot overflow once shape[i] <= kMaxElements / n
    if (shape[i] > kMaxElements / n) fail(std::string(name) + ": shape " + dims() + " has more than 2^48 elements");
    n *= shape[i];
  }
  return n;
}

int64_t TensorView::numel() const { return checked_numel("tensor"); }

static std::string pair_str(int a, int b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

Geom make_geom(const int64_t xs[4], const int64_t ws[4], const ConvParams& p) {
  const int64_t kLimit = int64_t(1) << 24;
  for (int i = 0; i < 4; ++i) {
    if (xs[i] < 1 || xs[i] > kLimit) fail("x dimension " + std::to_string(i) + " must be in [1, 2^24], got " + std::to_string(xs[i]));
    if (ws[i] < 1 || ws[i] > kLimit) fail("w dimension " + std::to_string(i) + " must be in [1, 2^24], got " + std::to_string(ws[i]));
  }
  if (p.stride_h < 1 || p.stride_w < 1 || p.stride_h > (1 << 20) || p.stride_w > (1 << 20))
    fail("stride must be in [1, 2^20], got " + pair_str(p.stride_h, p.stride_w));
  if (p.dil_h < 1 || p.dil_w < 1 || p.dil_h > (1 << 20) || p.dil_w > (1 << 20))
    fail("dilation must be in [1, 2^20], got " + pair_str(p.dil_h, p.dil_w));
  if (p.pad_h < 0 || p.pad_w < 0 || p.pad_h > (1 << 20) || p.pad_w > (1 << 20))
    fail("padding must be in [0, 2^20], got " + pair_str(p.pad_h, p.pad_w));
  if (p.groups < 1) fail("groups must be >= 1, got " + std::to_string(p.groups));
  if (p.outpad_h < 0 || p.outpad_w < 0) fail("output_padding must be >= 0");
  if (!p.transposed && (p.outpad_h || p.outpad_w)) fail("output_padding must be 0 for conv2d");
  if (p.transposed && (p.outpad_h >= std::max(p.stride_h, p.dil_h) || p.outpad_w >= std::max(p.stride_w, p.dil_w)))
    fail("output_padding must be < max(stride, dilation), got " + pair_str(p.outpad_h, p.outpad_w));
  Geom g{};
  g.p = p;
  g.n = xs[0]; g.cin = xs[1]; g.h = xs[2]; g.w = xs[3];
  g.kh = ws[2]; g.kw = ws[3];
  const int64_t G = p.groups;
  if (p.transposed) {
    if (ws[0] != g.cin) fail("conv_transpose2d: w.shape[0]=" + std::to_string(ws[0]) + " must equal x channels " + std::to_string(g.cin));
    g.cout = ws[1] * G;
  } else {
    g.cout = ws[0];
    if (ws[1] * G != g.cin) fail("conv2d: w.shape[1]*groups=" + std::to_string(ws[1] * G) + " must equal x channels " + std::to_string(g.cin));
  }
  if (g.cin % G || g.cout % G)
    fail("channels in=" + std::to_string(g.cin) + " out=" + std::to_string(g.cout) + " must be divisible by groups=" + std::to_string(G));
  if (p.transposed) {
    g.oh = (g.h - 1) * p.stride_h - 2 * int64_t(p.pad_h) + int64_t(p.dil_h) * (g.kh - 1) + p.outpad_h + 1;
    g.ow = (g.w - 1) * p.stride_w - 2 * int64_t(p.pad_w) + int64_t(p.dil_w) * (g.kw - 1) + p.outpad_w + 1;
  } else {
    const int64_t eh = g.h + 2 * int64_t(p.pad_h) - int64_t(p.dil_h) * (g.kh - 1) - 1;
    const int64_t ew = g.w + 2 * int64_t(p.pad_w) - int64_t(p.dil_w) * (g.kw - 1) - 1;
    g.oh = eh < 0 ? 0 : eh / p.stride_h + 1;
    g.ow = ew < 0 ? 0 : ew / p.stride_w + 1;
  }
  if (g.oh < 1 || g.ow < 1)
    fail("output size " + pair_str(int(g.oh), int(g.ow)) + " is empty for this input, kernel and geometry");
  if (g.oh > kLimit || g.ow > kLimit) fail("output size too large");
  const double total = double(g.n) * g.cout * g.oh * g.ow;
  const double wtotal = double(g.cin) * g.kh * g.kw * (g.cout / G);
  if (total > double(int64_t(1) << 40) || wtotal > double(int64_t(1) << 40)) fail("tensor too large");
  return g;
}

// ---- ISA selection ------------------------------------------------------------------------------
const char* isa_name(Isa i) {
  switch (i) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::amx: return "amx";
  }
  return "?";
}

bool isa_supported(Isa i) {
  switch (i) {
    case Isa::scalar: return true;
    case Isa::avx2:
#if defined(__x86_64__) || defined(__i386__)
      return hot_avx2() != nullptr && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("popcnt");
#else
      return false;
#endif
    case Isa::avx512:
#if defined(__x86_64__) || defined(__i386__)
      return hot_avx512() != nullptr && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vpopcntdq");
#else
      return false;
#endif
    case Isa::amx:  // AVX-512 plus AMX-INT8 tiles for u8 x s8 (hot_amx.cpp checks the CPU and the OS)
      return isa_supported(Isa::avx512) && hot_amx() != nullptr;
  }
  return false;
}

static std::atomic<int> g_isa{-1};

static Isa detect_isa() {
  const char* env = std::getenv("ACCELSIM_ISA");
  if (env && *env) {
    for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::amx}) {
      if (std::strcmp(env, isa_name(i)) == 0) {
        if (!isa_supported(i)) fail(std::string("ACCELSIM_ISA=") + env + " is not supported on this CPU/build");
        return i;
      }
    }
    fail(std::string("ACCELSIM_ISA must be one of scalar, avx2, avx512, amx; got '") + env + "'");
  }
  for (Isa i : {Isa::amx, Isa::avx512, Isa::avx2})
    if (isa_supported(i)) return i;
  return Isa::scalar;
}

Isa active_isa() {
  int v = g_isa.load();
  if (v < 0) {
    v = int(detect_isa());
    g_isa.store(v);
  }
  return Isa(v);
}

void set_isa(Isa i) {
  if (!isa_supported(i)) fail(std::string("ISA ") + isa_name(i) + " is not supported on this CPU/build");
  g_isa.store(int(i));
}

const HotKernels& hot() {
  switch (active_isa()) {
    case Isa::amx: return *hot_amx();
    case Isa::avx512: return *hot_avx512();
    case Isa::avx2: return *hot_avx2();
    default: return hot_scalar();
  }
}

// ---- threads -------------------------------------------------------------------------------------
static std::atomic<int> g_threads{0};

int num_threads() {
  int v = g_threads.load();
  if (v <= 0) {
    const char* env = std::getenv("ACCELSIM_NUM_THREADS");
    v = env ? std::atoi(env) : 0;
    if (v <= 0) v = int(std::thread::hardware_concurrency());
    if (v <= 0) v = 1;
    if (v > 256) v = 256;
    g_threads.store(v);
  }
  return v;
}

void set_num_threads(int n) {
  if (n < 1 || n > 256) fail("num_threads must be in [1, 256], got " + std::to_string(n));
  g_threads.store(n);
}

}  // namespace accelsim
