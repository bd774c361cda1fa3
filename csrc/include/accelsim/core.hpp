// accelsim kernel core: errors, tensor views, convolution geometry, thread pool, ISA selection.
// Every entry point validates shapes, dtypes and parameter ranges before touching memory and
// throws accelsim::Error (pybind11 turns it into ValueError; the C ABI into a status code).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace accelsim {

enum Status : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad shape, dtype, range, null pointer
  kOverflow = 2,         // a value cannot be represented (e.g. flexpoint exponent > 15)
  kInternal = 3,
};

class Error : public std::runtime_error {
 public:
  Error(Status s, const std::string& msg) : std::runtime_error(msg), status(s) {}
  Status status;
};

[[noreturn]] void fail(const std::string& msg, Status s = kInvalidArgument);

// Size arithmetic that cannot wrap: a * b for sizes (a, b >= 0), or an Error naming `what` when the
// product does not fit int64. Every element and byte count that sizes an allocation or a buffer check
// goes through these (TensorView::numel, checked_bytes).
int64_t checked_mul(int64_t a, int64_t b, const char* what);
// The largest tensor the kernels accept: 2^48 elements (so a byte count, <= 8 bytes each, fits easily).
constexpr int64_t kMaxElements = int64_t(1) << 48;

enum class DType : int { i8 = 0, u8 = 1, i16 = 2, u16 = 3, i32 = 4, i64 = 5, f32 = 6, f64 = 7 };
const char* dtype_name(DType t);
size_t dtype_size(DType t);

// A C-contiguous NCHW (or any rank <= 4) tensor: pointer, dtype, shape.
struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::i8;
  int ndim = 0;
  int64_t shape[4] = {0, 0, 0, 0};
  // >= 0: a key the caller vouches always comes with the same bytes (kernels.frozen_key: the
  // runtime's weights), which the packed-weight cache uses instead of hashing the bytes; -1: none.
  int64_t key = -1;
  // Element count, overflow-checked: an Error if a dimension is negative or the product exceeds
  // kMaxElements (never a wrapped count).
  int64_t numel() const;
  // The same check with the tensor's name in the message ("x: shape (...) ...").
  int64_t checked_numel(const char* name) const;
};

struct ConvParams {
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int outpad_h = 0, outpad_w = 0, dil_h = 1, dil_w = 1;
  int groups = 1;
  bool transposed = false;
};

// Fully resolved geometry of one convolution (torch semantics).
struct Geom {
  ConvParams p;
  int64_t n, cin, h, w, cout, kh, kw, oh, ow;
  int64_t cin_g() const { return cin / p.groups; }
  int64_t cout_g() const { return cout / p.groups; }
  int64_t taps() const { return cin_g() * kh * kw; }  // products summed into one output (bound)
  int64_t out_numel() const { return n * cout * oh * ow; }
};

// Validates x (N,C,H,W) and w (torch layout) against p and computes the output size.
Geom make_geom(const int64_t xshape[4], const int64_t wshape[4], const ConvParams& p);

// ---- run-time ISA selection --------------------------------------------------------------
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, amx = 3 };
const char* isa_name(Isa i);
bool isa_supported(Isa i);  // compiled in and supported by this CPU
Isa active_isa();           // ACCELSIM_ISA env var at first use, else the best supported
void set_isa(Isa i);        // throws if unsupported

// ---- threads -------------------------------------------------------------------------------
int num_threads();  // ACCELSIM_NUM_THREADS env var, else hardware concurrency (>= 1)
void set_num_threads(int n);
// Runs fn(i) for i in [0, count) on up to num_threads() threads; each i runs exactly once.
// Deterministic as long as fn(i) writes only its own outputs.
template <class F>
void parallel_for(int64_t count, F&& fn);

}  // namespace accelsim

#include "accelsim/parallel.hpp"
