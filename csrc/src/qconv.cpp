// Integer convolution (fixed point, ternary, binary weights): exact accumulators.
//
// conv_transpose2d is computed as GEMM + col2im (zero-free: only effectual products):
//   cols[(co, ky, kx), p] = sum_ci w[ci, co, ky, kx] * (x[ci, p] - z_x)     (GEMM, per image+group)
//   acc[co, iy*s - pad + ky*d, ix*s - pad + kx*d] += cols[(co, ky, kx), (iy, ix)]   (col2im)
// (the packed path sums the col2im in phase planes, conv_sinks.hpp); conv2d as im2col + GEMM.
// Padded taps hold x - z_x = 0 (real zero), so they contribute nothing.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "conv_sinks.hpp"
#include "packed_gemm.hpp"
#include "mutants.hpp"
#include "validate.hpp"

namespace accelsim {

static int64_t max_abs_code(WeightKind k, int bits) {
  switch (k) {
    case WeightKind::ternary:
    case WeightKind::binary: return 1;
    default: return int64_t(1) << (bits - 1);
  }
}

static std::atomic<int> g_convt_path{-1};
static std::atomic<int> g_last_convt{0};  // 0 none, 1 phase, 2 col2im, 3 other, 4 implicit, 5 dense
static std::atomic<int> g_last_conv2d{0};  // 0 none, 1 implicit, 2 packed (u8 x s8), 3 other

static const ConvtPath kConvtPaths[] = {ConvtPath::automatic, ConvtPath::phase, ConvtPath::col2im,
                                         ConvtPath::implicit, ConvtPath::dense};

// The path named `name`, or a failure naming `what` and every valid name.
static ConvtPath convt_path_named(const std::string& name, const std::string& what) {
  std::string names;
  for (ConvtPath p : kConvtPaths) {
    if (name == convt_path_name(p)) return p;
    names += std::string(names.empty() ? "" : ", ") + convt_path_name(p);
  }
  fail(what + " must be one of " + names + "; got '" + name + "'");
}

ConvtPath convt_path_from(const std::string& name) { return convt_path_named(name, "transposed-conv path"); }

const char* convt_path_name(ConvtPath p) {
  switch (p) {
    case ConvtPath::phase: return "phase";
    case ConvtPath::col2im: return "col2im";
    case ConvtPath::implicit: return "implicit";
    case ConvtPath::dense: return "dense";
    default: return "auto";
  }
}

ConvtPath convt_path() {
  int v = g_convt_path.load();
  if (v < 0) {
    const char* env = std::getenv("ACCELSIM_CONVT");
    v = env && *env ? int(convt_path_named(env, "ACCELSIM_CONVT")) : int(ConvtPath::automatic);
    g_convt_path.store(v);
  }
  return ConvtPath(v);
}

void set_convt_path(ConvtPath p) { g_convt_path.store(int(p)); }

const char* last_convt_path() {
  static const char* const names[] = {"", "phase", "col2im", "other", "implicit", "dense"};
  return names[g_last_convt.load()];
}

const char* last_conv2d_path() {
  static const char* const names[] = {"", "implicit", "packed", "other"};
  return names[g_last_conv2d.load()];
}

QConvPlan qconv_plan(const QConvArgs& a) {
  QConvPlan plan;
  plan.args = a;
  check_int_fmt(a.x_fmt, "x");
  require_tensor(a.x, "x", 4, {container_dtype(a.x_fmt)});
  if (a.x_zero_point < a.x_fmt.qmin() || a.x_zero_point > a.x_fmt.qmax())
    fail("x_zero_point must lie in [" + std::to_string(a.x_fmt.qmin()) + ", " + std::to_string(a.x_fmt.qmax()) +
         "], got " + std::to_string(a.x_zero_point));
  int w_bits = a.w_bits;
  int32_t wlo, whi;
  switch (a.w_kind) {
    case WeightKind::fixed:
      if (a.w_bits < 2 || a.w_bits > 16) fail("w_bits must be in [2, 16], got " + std::to_string(a.w_bits));
      wlo = -(1 << (a.w_bits - 1));
      whi = (1 << (a.w_bits - 1)) - 1;
      break;
    case WeightKind::ternary: w_bits = 2; wlo = -1; whi = 1; break;
    case WeightKind::binary: w_bits = 2; wlo = -1; whi = 1; break;
    default: fail("w_kind must be fixed, ternary or binary");
  }
  require_tensor(a.w, "w", 4, {w_bits <= 8 ? DType::i8 : DType::i16});
  plan.g = make_geom(a.x.shape, a.w.shape, a.conv);
  int64_t bias_max = 0;
  if (a.bias.data) {
    require_tensor(a.bias, "bias", 1, {DType::i32, DType::i64});
    if (a.bias.shape[0] != plan.g.cout)
      fail("bias must have Cout=" + std::to_string(plan.g.cout) + " entries, got " + std::to_string(a.bias.shape[0]));
    for (int64_t i = 0; i < a.bias.shape[0]; ++i) {
      const int64_t b = a.bias.dtype == DType::i32 ? static_cast<const int32_t*>(a.bias.data)[i]
                                                   : static_cast<const int64_t*>(a.bias.data)[i];
      if (b > (int64_t(1) << 62) || b < -(int64_t(1) << 62)) fail("bias must satisfy |b| <= 2^62");
      bias_max = std::max<int64_t>(bias_max, b < 0 ? -b : b);
    }
  }
  check_codes(a.x, a.x_fmt.qmin(), a.x_fmt.qmax(), "x");
  if (a.w_kind == WeightKind::binary) {
    check_signs(a.w, "w (binary weights must be -1 or +1)");
  } else {
    check_codes(a.w, wlo, whi, "w");
  }
  const int64_t xspan = int64_t(a.x_fmt.qmax()) - a.x_fmt.qmin();
  const double bound = double(xspan) * double(max_abs_code(a.w_kind, a.w_bits)) * double(plan.g.taps()) + double(bias_max);
  plan.acc_bits = bound < 2147483648.0 ? 32 : 64;
  if (bound >= 9.2e18) fail("accumulators could exceed int64: reduce the reduction length or bit widths");
  return plan;
}

namespace {

// Reads element i of an integer code tensor as int32.
inline int32_t code_at(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::i8: return static_cast<const int8_t*>(t.data)[i];
    case DType::u8: return static_cast<const uint8_t*>(t.data)[i];
    case DType::i16: return static_cast<const int16_t*>(t.data)[i];
    case DType::u16: return static_cast<const uint16_t*>(t.data)[i];
    case DType::i32: return static_cast<const int32_t*>(t.data)[i];
    default: return 0;
  }
}

// What the accumulation loops read: code tensors, the activation zero point, an int64 bias.
struct ConvOperands {
  TensorView x, w;
  int32_t x_zero_point;
  const int64_t* bias;  // nullable, Cout entries
};

template <class TIn, class TAcc>
using GemmFn = void (*)(const TIn*, const TIn*, TAcc*, int64_t, int64_t, int64_t);

template <class TIn, class TAcc>
void run_transposed(const ConvOperands& a, const Geom& g, TAcc* out, GemmFn<TIn, TAcc> gemm) {
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  const int64_t P = g.h * g.w, M = cout_g * g.kh * g.kw, K = cin_g;
  // Weights as A[g][m = (co, ky, kx)][k = ci].
  std::vector<TIn> A(size_t(G * M * K));
  for (int64_t gi = 0; gi < G; ++gi)
    for (int64_t ci = 0; ci < cin_g; ++ci)
      for (int64_t m = 0; m < M; ++m)
        A[size_t((gi * M + m) * K + ci)] = TIn(code_at(a.w, (gi * cin_g + ci) * M + m));
  const int64_t PB = std::max<int64_t>(16, std::min<int64_t>(P, (int64_t(1) << 18) / std::max<int64_t>(M, 1)));
  const int64_t* bias = a.bias;
  const int32_t zx = a.x_zero_point;
  const int64_t plane = g.oh * g.ow;
  parallel_for(g.n * G, [&](int64_t job) {
    const int64_t n = job / G, gi = job % G;
    std::vector<TIn> xs(size_t(K * P));
    const int64_t xbase = (n * g.cin + gi * cin_g) * P;
    for (int64_t i = 0; i < K * P; ++i) xs[size_t(i)] = TIn(code_at(a.x, xbase + i) - zx);
    TAcc* o = out + (n * g.cout + gi * cout_g) * plane;
    for (int64_t co = 0; co < cout_g; ++co) {
      const TAcc b = bias ? TAcc(bias[gi * cout_g + co]) : TAcc(0);
      std::fill(o + co * plane, o + (co + 1) * plane, b);
    }
    std::vector<TIn> bblk(size_t(K * PB));
    std::vector<TAcc> cols(size_t(M * PB));
    for (int64_t p0 = 0; p0 < P; p0 += PB) {
      const int64_t pb = std::min(PB, P - p0);
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(&bblk[size_t(k * pb)], &xs[size_t(k * P + p0)], size_t(pb) * sizeof(TIn));
      gemm(&A[size_t(gi * M * K)], bblk.data(), cols.data(), M, K, pb);
      for (int64_t m = 0; m < M; ++m) {
        const int64_t co = m / (g.kh * g.kw), ky = (m / g.kw) % g.kh, kx = m % g.kw;
        const TAcc* c = &cols[size_t(m * pb)];
        TAcc* oc = o + co * plane;
        for (int64_t j = 0; j < pb; ++j) {
          const int64_t p = p0 + j, iy = p / g.w, ix = p % g.w;
          const int64_t oy = iy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
          const int64_t ox = ix * g.p.stride_w - g.p.pad_w + kx * g.p.dil_w;
          if (oy < 0 || oy >= g.oh || ox < 0 || ox >= g.ow) continue;
          oc[oy * g.ow + ox] += c[j];
        }
      }
    }
  });
}

template <class TIn, class TAcc>
void run_direct(const ConvOperands& a, const Geom& g, TAcc* out, GemmFn<TIn, TAcc> gemm) {
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  const int64_t P = g.oh * g.ow, M = cout_g, K = cin_g * g.kh * g.kw;
  std::vector<TIn> A(size_t(g.cout * K));  // w[co][ci][ky][kx] is already A[g][m][k]
  for (int64_t i = 0; i < g.cout * K; ++i) A[size_t(i)] = TIn(code_at(a.w, i));
  const int64_t PB = std::max<int64_t>(16, std::min<int64_t>(P, (int64_t(1) << 18) / std::max<int64_t>(K, 1)));
  const int64_t* bias = a.bias;
  const int32_t zx = a.x_zero_point;
  parallel_for(g.n * G, [&](int64_t job) {
    const int64_t n = job / G, gi = job % G;
    std::vector<TIn> bblk(size_t(K * PB));
    std::vector<TAcc> cblk(size_t(M * PB));
    for (int64_t p0 = 0; p0 < P; p0 += PB) {
      const int64_t pb = std::min(PB, P - p0);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t ci = k / (g.kh * g.kw), ky = (k / g.kw) % g.kh, kx = k % g.kw;
        const int64_t xbase = (n * g.cin + gi * cin_g + ci) * g.h * g.w;
        TIn* row = &bblk[size_t(k * pb)];
        for (int64_t j = 0; j < pb; ++j) {
          const int64_t p = p0 + j, oy = p / g.ow, ox = p % g.ow;
          const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
          const int64_t ix = ox * g.p.stride_w - g.p.pad_w + kx * g.p.dil_w;
          row[j] = (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) ? TIn(0) : TIn(code_at(a.x, xbase + iy * g.w + ix) - zx);
        }
      }
      gemm(&A[size_t(gi * M * K)], bblk.data(), cblk.data(), M, K, pb);
      for (int64_t m = 0; m < M; ++m) {
        const int64_t co = gi * cout_g + m;
        const TAcc b = bias ? TAcc(bias[co]) : TAcc(0);
        TAcc* o = out + (n * g.cout + co) * P + p0;
        const TAcc* c = &cblk[size_t(m * pb)];
        for (int64_t j = 0; j < pb; ++j) o[j] = c[j] + b;
      }
    }
  });
}

template <class TX, class TB>
inline void sub_offset(const TX* __restrict p, int64_t n, int32_t offset, TB* __restrict dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = TB(p[j] - offset);
}

// Writes TB(x[src + j] - offset) for j < n, reading x as its own dtype.
template <class TB>
inline void load_offset(const TensorView& x, int64_t src, int64_t n, int32_t offset, TB* dst) {
  if constexpr (std::is_same<TB, uint8_t>::value) {
    if (x.dtype == DType::i8 && offset == -128) {  // int8 code + 128 as uint8: flip the sign bit
      const uint8_t* p = static_cast<const uint8_t*>(x.data) + src;
      for (int64_t j = 0; j < n; ++j) dst[j] = uint8_t(p[j] ^ 0x80u);
      return;
    }
  }
  switch (x.dtype) {
    case DType::i8: return sub_offset(static_cast<const int8_t*>(x.data) + src, n, offset, dst);
    case DType::u8: return sub_offset(static_cast<const uint8_t*>(x.data) + src, n, offset, dst);
    case DType::i16: return sub_offset(static_cast<const int16_t*>(x.data) + src, n, offset, dst);
    default: for (int64_t j = 0; j < n; ++j) dst[j] = TB(code_at(x, src + j) - offset);
  }
}

// Writes TB(x[src + j * stride] - offset) for j < n.
template <class TB>
inline void load_offset_strided(const TensorView& x, int64_t src, int64_t n, int64_t stride, int32_t offset, TB* dst) {
#if defined(__SSE2__)
  if constexpr (std::is_same<TB, uint8_t>::value) {
    if (stride == 2 && (x.dtype == DType::i8 || x.dtype == DType::u8)) {
      // Every other byte, 16 at a time: x - offset lies in [0, 255] (offset is the format's qmin), so
      // the byte difference modulo 256 is it. Reads stop at byte 2 (n - 1) of the row.
      const uint8_t* p = static_cast<const uint8_t*>(x.data) + src;
      const __m128i lo = _mm_set1_epi16(0x00FF), off = _mm_set1_epi8(char(uint8_t(offset)));
      int64_t j = 0;
      for (; j + 17 <= n; j += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * j));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * j + 16));
        const __m128i even = _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + j), _mm_sub_epi8(even, off));
      }
      for (; j < n; ++j) dst[j] = uint8_t(p[2 * j] - uint8_t(offset));
      return;
    }
  }
#endif
  auto go = [&](const auto* p) {
    for (int64_t j = 0; j < n; ++j) dst[j] = TB(p[j * stride] - offset);
  };
  switch (x.dtype) {
    case DType::i8: return go(static_cast<const int8_t*>(x.data) + src);
    case DType::u8: return go(static_cast<const uint8_t*>(x.data) + src);
    case DType::i16: return go(static_cast<const int16_t*>(x.data) + src);
    default: for (int64_t j = 0; j < n; ++j) dst[j] = TB(code_at(x, src + j * stride) - offset);
  }
}

// ---- packed int8 weights, reused across calls -------------------------------------------------------
// Packing the weight panels costs a pass over the weights per call, which dominates layers with
// large weights and small images (pix2pix's 1024x512x4x4 at 2x2). Packed u8s8 weights are kept in a
// small process-wide LRU cache keyed by everything the packing depends on: the weights' address,
// shape and a hash of their bytes (so weights changed in place are packed anew), the tile geometry
// of the active ISA, the conv kind and layout, and what else the packing depends on: the output-
// channel blocking (layout 0) or the geometry that decides a transposed conv's phases (layouts 1, 2).
struct PackedWeightsKey {
  const void* ptr = nullptr;
  int64_t shape[4] = {0, 0, 0, 0};
  uint64_t hash = 0;
  bool keyed = false;  // hash is the caller's key for the bytes (TensorView::key), not their fingerprint
  int mr = 0, nr = 0, kg = 0, kga = 0;
  int64_t cob = 0, groups = 0;
  bool transposed = false;
  // 0: the conv's GEMM rows (conv_packed), 1: per transposed-conv phase (convt_phase), 2: per
  // implicit-GEMM grid (conv_implicit), 3: per implicit-GEMM grid of a 1x1-input transposed conv
  // (one per output pixel, ImplicitLayout::per_pixel), 4: dense panels of a 1x1-input transposed conv
  // (conv_dense: of the taps its output pixels take)
  int layout = 0;
  int64_t phases[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // convt_phase_key: each field whole, no packing
  bool operator==(const PackedWeightsKey& o) const {
    return ptr == o.ptr && std::equal(shape, shape + 4, o.shape) && hash == o.hash && keyed == o.keyed && mr == o.mr &&
           nr == o.nr &&
           kg == o.kg && kga == o.kga && cob == o.cob && groups == o.groups && transposed == o.transposed &&
           layout == o.layout && std::equal(phases, phases + 8, o.phases);
  }
};
// What decides a transposed conv's phases and their taps (convt_phases): strides, dilations, padding
// mod stride, and which phases have outputs (min(oh, sh) and min(ow, sw): phase row oy0 < sh has
// outputs iff oy0 < oh).
void convt_phase_key(const Geom& g, int64_t* f) {
  const ConvParams& p = g.p;
  const int64_t v[8] = {p.stride_h, p.stride_w, p.dil_h, p.dil_w, p.pad_h % p.stride_h, p.pad_w % p.stride_w,
                        std::min<int64_t>(g.oh, p.stride_h), std::min<int64_t>(g.ow, p.stride_w)};
  std::copy(v, v + 8, f);
}
struct PackedWeights {
  // [output-channel block][group] (layout 0), [phase][group] (layout 1), [grid][group] (layout 2)
  std::vector<std::vector<PackedA<int8_t>>> A;
  std::vector<std::vector<int32_t>> sums;       // [block][group * Mb + m]: sum over k of w(m, k)
  int64_t bytes = 0;
};

// The active ISA's fingerprint (hot.hpp hash_bytes: the same value on every ISA) of 256 KiB chunks,
// in parallel (every weight byte is read on each cached call: at batch 1 that pass was a sixth of a
// DCGAN layer), then of the chunks' fingerprints. Chunks are fixed, so the value does not depend on
// the thread count.
uint64_t hash_bytes(const void* data, int64_t n) {
  const HotKernels& hk = hot();
  const auto* p = static_cast<const uint8_t*>(data);
  constexpr int64_t kChunk = int64_t(1) << 18;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return hk.hash_bytes(p, n);
  std::vector<uint64_t> hs(static_cast<size_t>(chunks));
  parallel_for(chunks, [&](int64_t c) {
    hs[size_t(c)] = hk.hash_bytes(p + c * kChunk, std::min(kChunk, n - c * kChunk));
  });
  return hk.hash_bytes(reinterpret_cast<const uint8_t*>(hs.data()), chunks * 8) ^ uint64_t(n);
}

class PackedWeightsCache {
 public:
  std::shared_ptr<const PackedWeights> find(const PackedWeightsKey& k) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first == k) {
        entries_.splice(entries_.begin(), entries_, it);  // most recently used first
        return entries_.front().second;
      }
    return nullptr;
  }
  void insert(const PackedWeightsKey& k, std::shared_ptr<const PackedWeights> v) {
    std::lock_guard<std::mutex> lock(mu_);
    bytes_ += v->bytes;
    entries_.emplace_front(k, std::move(v));
    while (bytes_ > kCapacityBytes && entries_.size() > 1) {  // evict the least recently used
      bytes_ -= entries_.back().second->bytes;
      entries_.pop_back();
    }
  }

 private:
  static constexpr int64_t kCapacityBytes = int64_t(256) << 20;
  std::mutex mu_;
  std::list<std::pair<PackedWeightsKey, std::shared_ptr<const PackedWeights>>> entries_;
  int64_t bytes_ = 0;
};

PackedWeightsCache& packed_weights_cache() {
  static PackedWeightsCache* c = new PackedWeightsCache();  // never destroyed: no exit-order issues
  return *c;
}

// The cache's entry for int8 weights w packed in `layout` for conv g on tiles ts (conv_packed: with
// its output-channel blocking cob), made by pack() and kept when absent.
template <class Pack>
std::shared_ptr<const PackedWeights> cached_weights(const TensorView& w, const TileShape& ts, const Geom& g, int layout,
                                                    int64_t cob, Pack&& pack) {
  PackedWeightsKey key;
  key.ptr = w.data;
  std::copy(w.shape, w.shape + 4, key.shape);
  key.keyed = w.key >= 0;  // the caller's key for the bytes, else their fingerprint
  key.hash = key.keyed ? uint64_t(w.key) : hash_bytes(w.data, w.numel());
  key.mr = ts.mr, key.nr = ts.nr, key.kg = ts.kg, key.kga = ts.kga();
  key.cob = cob, key.groups = g.p.groups, key.transposed = g.p.transposed, key.layout = layout;
  if (layout == 3 || layout == 4) {  // conv_implicit's grids per output pixel, conv_dense's used taps: by these
    const int64_t v[8] = {g.oh, g.ow, g.p.pad_h, g.p.pad_w, g.p.dil_h, g.p.dil_w, 0, 0};
    std::copy(v, v + 8, key.phases);
  } else if (layout != 0 && g.p.transposed) {
    convt_phase_key(g, key.phases);  // the phases depend on the geometry
  }
  std::shared_ptr<const PackedWeights> pw = packed_weights_cache().find(key);
  if (!pw) {
    pw = pack();
    packed_weights_cache().insert(key, pw);
  }
  return pw;
}

// Convolution through the packed GEMM, for any integer GEMM kind:
//   acc = bias + corr_factor * sum_k w + sum_d 2^(8d) * sum_k B * digit_d(w),   B = x - offset
// (padded taps of conv2d hold pad_value). D = 1: one weight row per GEMM row; D = 2 (flexpoint):
// two GEMM rows per weight row, its low and high byte digits, so int16 x digit products and their
// sums over `kchunk` k values stay within int32 (TOut = int64 then sums the chunks).
// conv_transpose2d: GEMM rows (co, ky, kx), columns input pixels, then col2im; conv2d: im2col.
// Outputs go to `out`, or, when out is null, task by task to hook (packed_gemm.hpp TaskOut); or, for
// a conv2d given a row function (Kind u8 x s8, D = 1, TOut int32, no kchunk), C block by C block to
// emit (RowSink): out and hook are then unused.
template <class Kind, int D, class TOut, class Hook, class RowEmit = std::nullptr_t>
void conv_packed(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int32_t pad_value,
                 int64_t corr_factor, const int64_t* bias, TOut* out, Hook hook, int64_t flush, int64_t kchunk,
                 RowEmit* emit = nullptr) {
  using TA = typename Kind::TA;
  using TB = typename Kind::TB;
  const HotKernels& hk = hot();
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const bool tr = g.p.transposed;
  const int64_t M = tr ? cout_g * T : cout_g, K = tr ? cin_g : cin_g * T;  // per group
  const int64_t P_out = g.oh * g.ow;
  const TB pad = TB(pad_value);
  // dst[i] += corr + sum_d 2^(8d) * C[row + d][i] for i < n: the contribution of D digit rows of C.
  auto add_rows = [&hk](const auto* src, int64_t ldc, int64_t n, int64_t cr, TOut* dst) {
    if constexpr (D == 1 && std::is_same<TOut, int32_t>::value &&
                  std::is_same<std::remove_cv_t<std::remove_pointer_t<decltype(src)>>, int32_t>::value) {
      hk.add_row_s32(src, n, 1, int32_t(cr), nullptr, dst);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        TOut v = TOut(cr);
        for (int64_t d = 0; d < D; ++d) v += TOut(src[d * ldc + i]) * (TOut(1) << (8 * d));
        dst[i] += v;
      }
    }
  };
  // B rows: conv_transpose2d, input pixels on rows padded to pg.W (phase-plane col2im); conv2d, im2col.
  const PhaseGeom pg(g, false);
  const int64_t P = tr ? pg.cols_per_image() : P_out;
  auto row = [&](int64_t gi, int64_t k, int64_t c0, int64_t nb, TB* dst) {
    if (tr) {
      int64_t img = c0 / P, iy = (c0 % P) / pg.W, ix = (c0 % P) % pg.W;
      for (int64_t j = 0; j < nb;) {  // runs of input pixels and of padding (zero contribution)
        const int64_t run = std::min(nb - j, (ix < g.w ? g.w : pg.W) - ix);
        if (ix < g.w) load_offset(x, ((img * g.cin + gi * cin_g + k) * g.h + iy) * g.w + ix, run, offset, dst + j);
        else std::fill(dst + j, dst + j + run, pad);
        j += run;
        ix += run;
        if (ix == pg.W) {
          ix = 0;
          if (++iy == g.h) { iy = 0; ++img; }
        }
      }
      return;
    }
    // conv2d, im2col by runs: per output row, the taps that read padding, then the input row read at
    // stride stride_w (contiguous when 1), then padding again.
    const int64_t ci = k / T, ky = (k / g.kw) % g.kh, kx = k % g.kw;
    const int64_t sw = g.p.stride_w, xoff = kx * g.p.dil_w - g.p.pad_w;  // ix = ox * sw + xoff
    const int64_t ox_lo = xoff >= 0 ? 0 : (-xoff + sw - 1) / sw;           // first ox with ix >= 0
    const int64_t ox_hi = g.w - 1 - xoff < 0 ? 0 : (g.w - 1 - xoff) / sw + 1;  // first ox with ix >= w
    int64_t img = c0 / P_out, p = c0 % P_out, oy = p / g.ow, ox = p % g.ow;
    for (int64_t j = 0; j < nb;) {
      const int64_t run = std::min(nb - j, g.ow - ox), end = ox + run;
      const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
      TB* d = dst + j - ox;  // d[ox'] is column ox' of this output row
      if (iy < 0 || iy >= g.h) {
        std::fill(d + ox, d + end, pad);
      } else {
        const int64_t a = std::min(std::max(ox, ox_lo), end), b = std::max(std::min(end, ox_hi), a);
        std::fill(d + ox, d + a, pad);
        const int64_t src = ((img * g.cin + gi * cin_g + ci) * g.h + iy) * g.w + a * sw + xoff;
        if (sw == 1) load_offset(x, src, b - a, offset, d + a);
        else load_offset_strided(x, src, b - a, sw, offset, d + a);
        std::fill(d + b, d + end, pad);
      }
      j += run;
      ox = end;
      if (ox == g.ow) {
        ox = 0;
        if (++oy == g.oh) { oy = 0; ++img; }
      }
    }
  };
  // Output channels in blocks whose weight panels stay within max(input bytes, 2 MiB) (D = 2 panels
  // are twice the weights): one packed GEMM per block, B packed anew for each.
  const int64_t a_bytes = G * D * M * K * int64_t(sizeof(TA));
  const int64_t budget = std::max<int64_t>(x.numel() * int64_t(sizeof(TB)), int64_t(2) << 20);
  const int64_t cob = (cout_g + std::min(cout_g, (a_bytes + budget - 1) / budget) - 1) /
                      std::min(cout_g, (a_bytes + budget - 1) / budget);  // channels per block
  // Weight (m, k) of group gi, torch layout: w[ci][co_g][ky][kx] (transposed) or w[co][ci_g][ky][kx];
  // m counts from the block's first channel. Per block and group: panels and sum_k w(m, k) (summed
  // in source order; int32: |sum| < 2^31).
  const int64_t sm = tr ? 1 : K, sk = tr ? M : 1;
  // Output-channel block cb (Mb GEMM rows per group): its panels into `panels` and its row sums
  // into sums[gi * Mb + m], each when given.
  auto block_of = [&](const auto* wp, int64_t cb, int64_t Mb, std::vector<PackedA<TA>>* panels, int32_t* sums) {
    for (int64_t gi = 0; gi < G; ++gi) {
      const auto* wg = wp + gi * M * K + (tr ? cb * T : cb * K);
      if (panels) panels->push_back(pack_a<TA, D>(tile_of(Kind{}, hk), Mb, K, wg, sm, sk));
      if (!sums) continue;
      int32_t* sum = sums + gi * Mb;
      if (tr)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t m = 0; m < Mb; ++m) sum[m] += wg[k * M + m];
      else
        for (int64_t m = 0; m < Mb; ++m)
          for (int64_t k = 0; k < K; ++k) sum[m] += wg[m * K + k];
    }
  };
  auto pack_all = [&](const auto* wp) {  // every block, for the cache (int8 weights)
    auto pw = std::make_shared<PackedWeights>();
    for (int64_t cb = 0; cb < cout_g; cb += cob) {
      const int64_t ncb = std::min(cob, cout_g - cb), Mb = tr ? ncb * T : ncb;
      pw->A.emplace_back();
      pw->sums.emplace_back(size_t(G * Mb), 0);
      block_of(wp, cb, Mb, &pw->A.back(), pw->sums.back().data());
      for (const auto& a : pw->A.back()) pw->bytes += int64_t(a.data.size() * sizeof(TA));
    }
    return pw;
  };
  // Packed int8 panels come from the cache (u8s8); other kinds pack per block below.
  std::shared_ptr<const PackedWeights> cached;
  if constexpr (std::is_same<Kind, GemmU8S8>::value && D == 1) {
    if (w.dtype == DType::i8) {
      cached = cached_weights(w, tile_of(Kind{}, hk), g, 0, cob,
                              [&] { return pack_all(static_cast<const int8_t*>(w.data)); });
    }
  }
  for (int64_t cb = 0, blk = 0; cb < cout_g; cb += cob, ++blk) {
    const int64_t ncb = std::min(cob, cout_g - cb), Mb = tr ? ncb * T : ncb;
    std::vector<PackedA<TA>> own;
    std::vector<int64_t> corr(size_t(G * Mb), 0);
    std::vector<int32_t> block_sums;
    if (!cached) {  // this block only: keeps the packed panels of one block in memory at a time
      if (corr_factor) block_sums.assign(size_t(G * Mb), 0);
      int32_t* sums = corr_factor ? block_sums.data() : nullptr;
      if (w.dtype == DType::i8) block_of(static_cast<const int8_t*>(w.data), cb, Mb, &own, sums);
      else block_of(static_cast<const int16_t*>(w.data), cb, Mb, &own, sums);
    }
    if (corr_factor) {
      const std::vector<int32_t>& sums = cached ? cached->sums[size_t(blk)] : block_sums;
      for (int64_t i = 0; i < G * Mb; ++i) corr[size_t(i)] = corr_factor * sums[size_t(i)];
    }
    const std::vector<PackedA<TA>>& A = [&]() -> const std::vector<PackedA<TA>>& {
      if constexpr (std::is_same<TA, int8_t>::value) {
        if (cached) return cached->A[size_t(blk)];
      }
      return own;
    }();
    if (tr) {
      auto make_sink = [&](int64_t gi, int64_t m0, int64_t mc, int64_t c0, int64_t c1) {
        auto add = [&, gi](const auto* src, int64_t ldc, int64_t n, int64_t m, int64_t, TOut* dst) {
          add_rows(src, ldc, n, corr[size_t(gi * Mb + m)], dst);
        };
        return PhaseSink<TOut, TOut, Hook, decltype(add)>(g, pg, D, bias, out, hook, gi, cb, m0, mc, c0, c1, add);
      };
      // B panels written directly (PacksPanels, packed_gemm.hpp) for 8-bit codes into uint8 k-groups:
      // per column block, column c -> its input pixel's offset within a channel plane (or -1, a
      // padding column), then per k-group and column kg channel bytes. Row by row (`row`), each run
      // of g.w pixels between padding columns costs a call: on DCGAN-64's 4x4 and 8x8 inputs that
      // packing was a fifth of the layer (perf, AMX).
      struct TrB {
        const decltype(row)* rowf;
        const void* xd;
        bool direct, x_u8;
        int64_t cin, cin_g, h, w, W, P, K;
        int32_t offset;
        TB pad;
        void operator()(int64_t gi, int64_t k, int64_t c0, int64_t nb, TB* dst) const { (*rowf)(gi, k, c0, nb, dst); }
        bool packs(int64_t kg) const { return direct && kg <= 4; }
        void pack_panels(int64_t gi, int64_t c0, int64_t nbb, int64_t kgroups, int64_t nr, int64_t pstride,
                         TB* blk) const {
          const int64_t kg = pstride / (kgroups * nr), plane = h * w;
          thread_local std::vector<int64_t> offs;
          if (offs.size() < size_t(nbb)) offs.resize(size_t(nbb));
          for (int64_t c = 0; c < nbb; ++c) {
            const int64_t col = c0 + c, img = col / P, f = col % P, iy = f / W, ix = f % W;
            offs[size_t(c)] = ix < w ? (img * cin * h + iy) * w + ix : -1;
          }
          auto go = [&](const auto* x) {
            for (int64_t kq = 0; kq < kgroups; ++kq) {
              decltype(x) src[4] = {nullptr, nullptr, nullptr, nullptr};  // channel planes; nullptr past K
              for (int64_t i = 0; i < kg; ++i)
                if (kq * kg + i < K) src[i] = x + (gi * cin_g + kq * kg + i) * plane;
              for (int64_t p0 = 0; p0 < nbb; p0 += nr) {
                TB* __restrict d = blk + (p0 / nr) * pstride + kq * kg * nr;
                const int64_t n = std::min(nr, nbb - p0);
                const int64_t* o = offs.data() + p0;
                for (int64_t j = 0; j < n; ++j)
                  for (int64_t i = 0; i < kg; ++i)
                    d[j * kg + i] = !src[i] ? TB(0) : (o[j] >= 0 ? TB(src[i][o[j]] - offset) : pad);
                std::fill(d + n * kg, d + nr * kg, TB(0));  // the last panel's columns past nbb
              }
            }
          };
          if (x_u8) go(static_cast<const uint8_t*>(xd));
          else go(static_cast<const int8_t*>(xd));
        }
      };
      // Only for rows shorter than 16 pixels: from 16 on, `row` copies whole runs and interleave_rows
      // moves 16 columns per SSE2 step, faster than this per-column gather (DCGAN-64's 32x32 layer:
      // 0.8x with it, bench_kernels at load 3.5).
      const bool direct = D == 1 && std::is_same<TB, uint8_t>::value && (x.dtype == DType::i8 || x.dtype == DType::u8) &&
                          g.w < 16;
      const TrB trb{&row, x.data, direct, x.dtype == DType::u8, g.cin, cin_g, g.h, g.w, pg.W, P, K, offset, pad};
      packed_gemm<Kind>(GemmShape{G, D * Mb, K, g.n, P, D * T}, A, trb, make_sink, flush, kchunk);
    } else if constexpr (!std::is_same_v<RowEmit, std::nullptr_t>) {
      static_assert(D == 1 && std::is_same_v<Kind, GemmU8S8> && std::is_same_v<TOut, int32_t>, "RowSink: u8 x s8 sums");
      if (kchunk) fail("internal: conv_packed's row function needs whole sums (no kchunk)");
      auto make_sink = [&](int64_t gi, int64_t m0, int64_t mc, int64_t, int64_t) {
        const int64_t co0 = gi * cout_g + cb + m0;  // the task's first channel (GEMM row m0 of the block)
        auto add = [&, gi, m0, co0](int64_t r) {    // bias + corr of the task's row r (|.| < 2^31: the plan's bound)
          return int32_t((bias ? bias[co0 + r] : 0) + corr[size_t(gi * Mb + m0 + r)]);
        };
        return RowSink<decltype(add), RowEmit>(g, co0, mc, add, *emit);
      };
      packed_gemm<Kind>(GemmShape{G, Mb, K, g.n, P_out, 1, true}, A, row, make_sink, flush, 0);
    } else {
      auto make_sink = [&](int64_t gi, int64_t m0, int64_t mc, int64_t c0, int64_t c1) {
        auto add = [&, gi](const auto* src, int64_t ldc, int64_t n, int64_t m, TOut* dst) {
          add_rows(src, ldc, n, corr[size_t(gi * Mb + m)], dst);
        };
        return DirectSink<TOut, Hook, decltype(add)>(g, D, bias, out, hook, gi, cb, m0, mc, c0, c1, add);
      };
      // Straight into the output, column blocks may cut images; a hook takes whole images.
      packed_gemm<Kind>(GemmShape{G, D * Mb, K, g.n, P_out, D, out != nullptr}, A, row, make_sink, flush, kchunk);
    }
  }
}

// ---- transposed convolution by phase decomposition (u8 x s8, int32 accumulators) ------------------
// Output pixel (oy, ox) has u = oy + pad_h = qy * sh + ry and v = ox + pad_w = qx * sw + rx. Tap
// (ky, kx) reaches it, from input pixel (qy - ty, qx - tx), iff (ky*dh) mod sh = ry and (kx*dw) mod
// sw = rx, with (ty, tx) = ((ky*dh) div sh, (kx*dw) div sw). So output phase (ry, rx) is an ordinary
// stride-1 convolution of x with that phase's taps: per group the GEMM
//   C[co][(img, i, j)] = sum over k = (ci, t) of w(ci, co, tap t) * B[k][(img, i, j)],
//   B[k][(img, i, j)] = x[img, ci, qy0 + i - ty_t, qx0 + j - tx_t] - offset   (pad_value outside x),
// whose columns are the phase's output pixels oy = oy0 + i * sh, ox = ox0 + j * sw; the sink writes
// bias + corr + C straight into them (each output once). No int32 column buffer, no col2im. Phases
// with the same number of taps run as one packed GEMM (each phase a GEMM group) over a common grid
// of NQY x NQX columns (phases may have one row or column fewer: those columns are padding).
struct ConvtPhase {
  int64_t oy0, ox0, nqy, nqx, qy0, qx0;
  std::vector<int64_t> ty, tx, tap;  // the phase's taps: input shifts and index ky * kw + kx
};

// The calling thread's buffer for a channel-quad copy of the input (convt_phase, conv_implicit),
// reused across calls; each caller gives back memory beyond 64 MiB when it is done.
AlignedVector<uint8_t>& quad_copy_buffer() {
  thread_local AlignedVector<uint8_t> buf;
  return buf;
}

std::vector<ConvtPhase> convt_phases(const Geom& g) {
  const int64_t sh = g.p.stride_h, sw = g.p.stride_w, ph = g.p.pad_h, pw = g.p.pad_w;
  std::vector<ConvtPhase> out;
  for (int64_t ry = 0; ry < sh; ++ry)
    for (int64_t rx = 0; rx < sw; ++rx) {
      ConvtPhase p;
      p.oy0 = ((ry - ph) % sh + sh) % sh;
      p.ox0 = ((rx - pw) % sw + sw) % sw;
      p.nqy = p.oy0 < g.oh ? (g.oh - p.oy0 + sh - 1) / sh : 0;
      p.nqx = p.ox0 < g.ow ? (g.ow - p.ox0 + sw - 1) / sw : 0;
      p.qy0 = (p.oy0 + ph) / sh;
      p.qx0 = (p.ox0 + pw) / sw;
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t a = ky * g.p.dil_h, b = kx * g.p.dil_w;
          if (a % sh != ry || b % sw != rx) continue;
          p.ty.push_back(a / sh);
          p.tx.push_back(b / sw);
          p.tap.push_back(ky * g.kw + kx);
        }
      out.push_back(std::move(p));
    }
  return out;
}

// Packed weights of every phase: A[phase][group] (rows co of the group; k = (c4 * taps + t) * 4 + c
// is input channel ci = 4 * c4 + c at tap t, zero for ci >= cin_g: k-groups of 4 are 4 channels
// at one tap, as the input's channel quads, ConvtInput) and sums[phase][gi * cout_g + co] = sum over
// k of w. Phases without taps have no panels.
std::shared_ptr<const PackedWeights> pack_convt_phases(const int8_t* w, const Geom& g,
                                                       const std::vector<ConvtPhase>& phases, const TileShape& ts) {
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t cin4 = (cin_g + 3) / 4;
  auto pw = std::make_shared<PackedWeights>();
  for (const ConvtPhase& p : phases) {
    const int64_t tp = int64_t(p.tap.size()), K = cin4 * tp * 4;
    pw->A.emplace_back();
    pw->sums.emplace_back(size_t(G * cout_g), 0);
    if (!tp) continue;
    std::vector<int8_t> a(size_t(K * cout_g));  // [k][co]
    for (int64_t gi = 0; gi < G; ++gi) {
      std::fill(a.begin(), a.end(), int8_t(0));
      for (int64_t ci = 0; ci < cin_g; ++ci)
        for (int64_t t = 0; t < tp; ++t) {
          const int8_t* src = w + (gi * cin_g + ci) * cout_g * T + p.tap[size_t(t)];  // w[ci][co][tap]
          int8_t* dst = &a[size_t((((ci / 4) * tp + t) * 4 + ci % 4) * cout_g)];
          for (int64_t co = 0; co < cout_g; ++co) dst[co] = src[co * T];
        }
      int32_t* sum = &pw->sums.back()[size_t(gi * cout_g)];
      for (int64_t k = 0; k < K; ++k)
        for (int64_t co = 0; co < cout_g; ++co) sum[co] += a[size_t(k * cout_g + co)];
      pw->A.back().push_back(pack_a<int8_t>(ts, cout_g, K, a.data(), 1, cout_g));
      pw->bytes += int64_t(pw->A.back().back().data.size());
    }
  }
  return pw;
}

// Groups gg = gi * S + s of one packed GEMM (S = sel.size(): a conv group's phases are consecutive):
// phase `sel[s]`, conv group gi.
struct PhaseAList {
  const PackedWeights* pw;
  const std::vector<int64_t>* sel;
  const PackedA<int8_t>& operator[](size_t gg) const {
    const size_t S = sel->size();
    return pw->A[size_t((*sel)[gg % S])][gg / S];
  }
};

// The transposed convolution of conv_packed's u8 x s8 path (same operands: B = x - offset, padding
// pad_value, acc = bias + corr_factor * sum w + sum w * B), by phases, into out (int32, g's shape).
void convt_phase(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int32_t pad_value,
                 int64_t corr_factor, const int64_t* bias, int32_t* out, int64_t flush) {
  const HotKernels& hk = hot();
  const TileShape ts = tile_of(GemmU8S8{}, hk);
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), P_out = g.oh * g.ow;
  const int64_t sh = g.p.stride_h, sw = g.p.stride_w;
  const std::vector<ConvtPhase> phases = convt_phases(g);
  const std::shared_ptr<const PackedWeights> pw = cached_weights(
      w, ts, g, 1, 0, [&] { return pack_convt_phases(static_cast<const int8_t*>(w.data), g, phases, ts); });
  const uint8_t pad = uint8_t(pad_value);
  // Phases with output pixels but no taps: bias only.
  for (const ConvtPhase& p : phases) {
    if (!p.tap.empty() || !p.nqy || !p.nqx) continue;
    parallel_for(g.n * g.cout, [&](int64_t nc) {
      const int32_t b = bias ? int32_t(bias[nc % g.cout]) : 0;
      int32_t* o = out + nc * P_out;
      for (int64_t i = 0; i < p.nqy; ++i)
        for (int64_t j = 0; j < p.nqx; ++j) o[(p.oy0 + i * sh) * g.ow + p.ox0 + j * sw] = b;
    });
  }
  // The input once as B values in channel quads over a padded window: xq[img][gi][c4][yp][xp][c] =
  // x[img][gi * cin_g + 4 * c4 + c][ylo + yp][xlo + xp] - offset, pad_value outside x (and for
  // channels >= cin_g, whose weights are zero). The window covers every (qy - ty, qx - tx) that a
  // phase's NQY x NQX column grid reads, so B is a plain copy of quads: no bounds checks.
  std::vector<const ConvtPhase*> live;
  int64_t NQYm = 0, NQXm = 0;
  for (const ConvtPhase& p : phases)
    if (!p.tap.empty() && p.nqy && p.nqx) {
      live.push_back(&p);
      NQYm = std::max(NQYm, p.nqy);
      NQXm = std::max(NQXm, p.nqx);
    }
  if (live.empty()) return;
  int64_t ylo = INT64_MAX, yhi = INT64_MIN, xlo = INT64_MAX, xhi = INT64_MIN;
  for (const ConvtPhase* p : live) {
    const auto [tyl, tyh] = std::minmax_element(p->ty.begin(), p->ty.end());
    const auto [txl, txh] = std::minmax_element(p->tx.begin(), p->tx.end());
    ylo = std::min(ylo, p->qy0 - *tyh), yhi = std::max(yhi, p->qy0 + NQYm - 1 - *tyl);
    xlo = std::min(xlo, p->qx0 - *txh), xhi = std::max(xhi, p->qx0 + NQXm - 1 - *txl);
  }
  const int64_t cin4 = (cin_g + 3) / 4, Hp = yhi - ylo + 1, Wp = xhi - xlo + 1, plane = Hp * Wp * 4;
  AlignedVector<uint8_t>& xq_buf = quad_copy_buffer();
  if (int64_t(xq_buf.size()) < g.n * G * cin4 * plane) xq_buf.resize(size_t(g.n * G * cin4 * plane));
  uint8_t* const xq = xq_buf.data();
  parallel_for(g.n * G * cin4, [&](int64_t job) {
    const int64_t img = job / (G * cin4), gi = (job / cin4) % G, c4 = job % cin4;
    uint8_t* dst = xq + job * plane;
    std::fill(dst, dst + plane, pad);
    const int64_t y0 = std::max<int64_t>(0, ylo), y1 = std::min(g.h, yhi + 1);
    const int64_t x0 = std::max<int64_t>(0, xlo), x1 = std::min(g.w, xhi + 1);
    if (x1 <= x0) return;
    std::vector<uint8_t> tmp(size_t(x1 - x0));
    for (int64_t c = 0; c < 4 && 4 * c4 + c < cin_g; ++c) {
      const int64_t ci = gi * cin_g + 4 * c4 + c;
      for (int64_t iy = y0; iy < y1; ++iy) {
        load_offset(x, ((img * g.cin + ci) * g.h + iy) * g.w + x0, x1 - x0, offset, tmp.data());
        uint8_t* d = dst + ((iy - ylo) * Wp + (x0 - xlo)) * 4 + c;
        for (int64_t i = 0; i < x1 - x0; ++i) d[4 * i] = tmp[size_t(i)];
      }
    }
  });
  // One packed GEMM per tap count.
  std::vector<int64_t> counts;
  for (const ConvtPhase* p : live) counts.push_back(int64_t(p->tap.size()));
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  for (const int64_t tp : counts) {
    std::vector<int64_t> sel;
    int64_t NQY = 0, NQX = 0;
    for (size_t i = 0; i < phases.size(); ++i)
      if (int64_t(phases[i].tap.size()) == tp && phases[i].nqy && phases[i].nqx) {
        sel.push_back(int64_t(i));
        NQY = std::max(NQY, phases[i].nqy);
        NQX = std::max(NQX, phases[i].nqx);
      }
    const int64_t PP = NQY * NQX, K = cin4 * tp * 4;
    // B of GEMM group gg (phase sel[gg % S], group gg / S): row k = (c4 * tp + t) * 4 + c, column
    // (img, i, j) = byte c of quad xq[img][gi][c4][qy0 + i - ty - ylo][qx0 + j - tx - xlo].
    struct PhaseB {
      const std::vector<ConvtPhase>* phases;
      const std::vector<int64_t>* sel;
      const uint8_t* xq;
      int64_t G, cin4, tp, plane, Wp, ylo, xlo, PP, NQX;
      // Offset in xq of column c's quad for tap shift (0, 0) and channel quad 0 of its group.
      int64_t base(const ConvtPhase& p, int64_t gi, int64_t img, int64_t i, int64_t j) const {
        return ((img * G + gi) * cin4 * Hp() + (p.qy0 + i - ylo)) * Wp * 4 + (p.qx0 + j - xlo) * 4;
      }
      int64_t Hp() const { return plane / (Wp * 4); }
      int64_t shift(const ConvtPhase& p, int64_t kq) const {  // k-group kq = (c4, t)
        const int64_t c4 = kq / tp, t = kq % tp;
        return c4 * plane - (p.ty[size_t(t)] * Wp + p.tx[size_t(t)]) * 4;
      }
      void operator()(int64_t gg, int64_t k, int64_t c0, int64_t nb, uint8_t* dst) const {
        const int64_t S = int64_t(sel->size());
        const ConvtPhase& p = (*phases)[size_t((*sel)[size_t(gg % S)])];
        const int64_t gi = gg / S, off = shift(p, k / 4) + k % 4;
        int64_t img = c0 / PP, i = (c0 % PP) / NQX, j = (c0 % PP) % NQX;
        for (int64_t d = 0; d < nb;) {  // runs within one phase row
          const int64_t run = std::min(nb - d, NQX - j);
          const uint8_t* src = xq + base(p, gi, img, i, j) + off;
          for (int64_t q = 0; q < run; ++q) dst[d + q] = src[4 * q];
          d += run;
          j += run;
          if (j == NQX) {
            j = 0;
            if (++i == PP / NQX) { i = 0; ++img; }
          }
        }
      }
      bool packs(int64_t kg) const { return kg == 4; }
      void pack_panels(int64_t gg, int64_t c0, int64_t nbb, int64_t kgroups, int64_t nr, int64_t pstride,
                       uint8_t* blk) const {
        const int64_t S = int64_t(sel->size());
        const ConvtPhase& p = (*phases)[size_t((*sel)[size_t(gg % S)])];
        const int64_t gi = gg / S, kreal = cin4 * tp;
        int64_t img = c0 / PP, i = (c0 % PP) / NQX, j = (c0 % PP) % NQX;
        for (int64_t cc = 0; cc < nbb;) {  // runs within one phase row and one panel
          const int64_t run = std::min({nbb - cc, NQX - j, nr - cc % nr});
          const uint8_t* src = xq + base(p, gi, img, i, j);
          uint8_t* dst = blk + (cc / nr) * pstride + (cc % nr) * 4;
          const int64_t bytes = 4 * run, b16 = bytes & ~int64_t(15);
          for (int64_t kq = 0; kq < kreal; ++kq) {
            const uint8_t* s = src + shift(p, kq);
            uint8_t* d = dst + kq * 4 * nr;
            int64_t q = 0;
            for (; q < b16; q += 16) std::memcpy(d + q, s + q, 16);  // fixed size: one vector move
            for (; q < bytes; q += 4) std::memcpy(d + q, s + q, 4);
          }
          for (int64_t kq = kreal; kq < kgroups; ++kq) std::memset(dst + kq * 4 * nr, 0, size_t(4 * run));
          cc += run;
          j += run;
          if (j == NQX) {
            j = 0;
            if (++i == PP / NQX) { i = 0; ++img; }
          }
        }
        if (nbb % nr) {  // the last panel's columns past nbb
          uint8_t* dst = blk + (nbb / nr) * pstride + (nbb % nr) * 4;
          for (int64_t kq = 0; kq < kgroups; ++kq) std::memset(dst + kq * 4 * nr, 0, size_t(4 * (nr - nbb % nr)));
        }
      }
    };
    const PhaseB row{&phases, &sel, xq, G, cin4, tp, plane, Wp, ylo, xlo, PP, NQX};
    // Each task writes C (rows m0.., columns c0..c1) as outputs: bias + corr + C, each phase row at
    // stride sw (hk.store_strided_s32). Stride-2 rows in pairs: when packed_gemm runs a column block's
    // groups in one task, in order, the phases (ry, 0) and (ry, 1) of a conv group are consecutive
    // GEMM groups; the first (role 1) then leaves its outputs in a per-thread stash [m][column], the
    // second (role 2) interleaves both into whole output rows (hk.interleave2_s32): every output
    // line is written once, with full vector stores.
    struct Sink {
      const HotKernels* hk;
      const Geom* g;
      const ConvtPhase* p;      // this phase
      const ConvtPhase* other;  // role 2: the stashed phase
      const int32_t* add;       // per row m of the group: bias + corr
      int32_t* out;
      int32_t* stash;           // roles 1, 2: [m][column - c0], row length ld
      int64_t gi, m0, mc, PP, NQX, c0, ld;
      int role;
      void consume(int64_t n0, int64_t nb, const int32_t* C, int64_t ldc) {
        const int64_t sh = g->p.stride_h, sw = g->p.stride_w, P_out = g->oh * g->ow, cout_g = g->cout_g();
        if (role == 1) {
          for (int64_t r = 0; r < mc; ++r)
            hk->store_strided_s32(C + r * ldc, nb, add[m0 + r], stash + (m0 + r) * ld + (n0 - c0), 1);
          return;
        }
        thread_local std::vector<int32_t> mine;  // role 2: one row of this phase's outputs
        if (role == 2 && int64_t(mine.size()) < nb) mine.resize(size_t(nb));
        // even output columns 2j come from the phase with ox0 = 0, odd ones 2j + 1 from the other
        const ConvtPhase* ev = role == 2 && other->ox0 == 0 ? other : p;
        const ConvtPhase* od = ev == p ? other : p;
        for (int64_t r = 0; r < mc; ++r) {
          if (role == 2) hk->store_strided_s32(C + r * ldc, nb, add[m0 + r], mine.data(), 1);
          const int32_t* stashed = role == 2 ? stash + (m0 + r) * ld + (n0 - c0) : nullptr;
          int32_t* const plane = out + gi * cout_g * P_out + (m0 + r) * P_out;
          for (int64_t c = n0; c < n0 + nb;) {
            const int64_t img = c / PP, f = c % PP, i = f / NQX, j = f % NQX;
            const int64_t run = std::min(n0 + nb - c, NQX - j);
            if (i < p->nqy) {
              int32_t* orow = plane + img * g->cout * P_out + (p->oy0 + i * sh) * g->ow;
              if (role == 2) {
                const int32_t* a = (ev == p ? mine.data() : stashed) + (c - n0);
                const int32_t* b = (od == p ? mine.data() : stashed) + (c - n0);
                const int64_t pairs = std::max<int64_t>(0, std::min(run, od->nqx - j));
                if (pairs) hk->interleave2_s32(a, b, 0, 1, pairs, 0, orow + 2 * j, 0);
                if (ev->nqx > od->nqx && j <= od->nqx && od->nqx < j + run)  // odd width: the last column
                  orow[2 * od->nqx] = a[od->nqx - j];
              } else if (j < p->nqx) {
                hk->store_strided_s32(C + r * ldc + (c - n0), std::min(run, p->nqx - j), add[m0 + r],
                                      orow + p->ox0 + j * sw, sw);
              }
            }
            c += run;
          }
        }
      }
      void finish() {}
    };
    // bias + corr per (group, phase in this call, co): |.| < 2^31 by the plan's bound
    const int64_t S = int64_t(sel.size());
    std::vector<int32_t> adds(size_t(S * G * cout_g));
    for (int64_t gi = 0; gi < G; ++gi)
      for (int64_t si = 0; si < S; ++si)
        for (int64_t co = 0; co < cout_g; ++co)
          adds[size_t((gi * S + si) * cout_g + co)] =
              int32_t((bias ? bias[gi * cout_g + co] : 0) + corr_factor * pw->sums[size_t(sel[size_t(si)])][size_t(gi * cout_g + co)]);
    // Stride-2 pairs: phases (ry, 0), (ry, 1) both in this GEMM (consecutive in sel).
    std::vector<int> roles(size_t(S), 0);
    if (sw == 2)
      for (int64_t si = 0; si + 1 < S; ++si)
        if (!roles[size_t(si)] && sel[size_t(si)] / 2 == sel[size_t(si + 1)] / 2) roles[size_t(si)] = 1, roles[size_t(si + 1)] = 2;
    bool in_order = false;  // set by packed_gemm before any task runs
    auto make_sink = [&](int64_t gg, int64_t m0, int64_t mc, int64_t c0, int64_t c1) {
      const int64_t si = gg % S, gi = gg / S;
      const int role = in_order ? roles[size_t(si)] : 0;
      thread_local std::vector<int32_t> stash;
      if (role == 1 && int64_t(stash.size()) < cout_g * (c1 - c0)) stash.resize(size_t(cout_g * (c1 - c0)));
      const ConvtPhase* other = role == 2 ? &phases[size_t(sel[size_t(si - 1)])] : nullptr;
      return Sink{&hk, &g, &phases[size_t(sel[size_t(si)])], other, &adds[size_t((gi * S + si) * cout_g)], out,
                  stash.data(), gi, m0, mc, PP, NQX, c0, c1 - c0, role};
    };
    const PhaseAList A{pw.get(), &sel};
    GemmShape shape{S * G, cout_g, K, g.n, PP, 1, true, true};
    shape.in_order = &in_order;
    packed_gemm<GemmU8S8>(shape, A, row, make_sink, flush, 0);
  }
  if (xq_buf.size() > (size_t(64) << 20)) AlignedVector<uint8_t>().swap(xq_buf);  // keep at most 64 MiB
}

// conv2d with at most 4 output channels (an RGB output layer), stride 1, dilation 1, one group, on
// kernels that have hk.direct_row_u8s8: no im2col (whose B would be cin*kh*kw bytes per output pixel
// for only cout rows of weights). B = x - offset with padded taps = pad_value, as conv_packed's
// u8s8 path; the correction corr_factor * sum w and the bias are the rows' start values.
bool direct_small_ok(const Geom& g, const HotKernels& hk) {
  const ConvParams& p = g.p;
  return hk.direct_row_u8s8 && !p.transposed && p.groups == 1 && g.cout <= 4 && p.stride_h == 1 &&
         p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && g.kw <= 64 && g.ow >= 16;
}

void conv_direct_small(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int32_t pad_value,
                       int64_t corr_factor, const int64_t* bias, int32_t* out, const HotKernels& hk) {
  const int64_t KQ = (g.kw + 3) / 4, R = g.cin * g.kh, cout = g.cout;
  // Weight quads [r = (ci, ky)][q][co]: bytes kx = 4q .. 4q+3 (zero past kw); start values per channel.
  std::vector<int32_t> wq(size_t(R * KQ * cout), 0);
  std::vector<int32_t> base(static_cast<size_t>(cout), 0);
  const int8_t* wp = static_cast<const int8_t*>(w.data);
  for (int64_t co = 0; co < cout; ++co) {
    int64_t sum = 0;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int8_t v = wp[(co * R + r) * g.kw + kx];
        sum += v;
        uint8_t* bytes = reinterpret_cast<uint8_t*>(&wq[size_t((r * KQ + kx / 4) * cout + co)]);
        bytes[kx % 4] = uint8_t(v);
      }
    base[size_t(co)] = int32_t((bias ? bias[co] : 0) + corr_factor * sum);  // |.| < 2^31: the plan's bound
  }
  // Padded input rows per image: Hp = oh + kh - 1 rows of L bytes per channel (column j is input
  // column j - pad_w), with the slack the row kernel may read past ow.
  const int64_t Hp = g.oh + g.kh - 1, L = (g.ow + 63) / 64 * 64 + 4 * KQ + 64;
  std::vector<uint8_t> padded(size_t(g.cin * Hp * L));
  const uint8_t pad = uint8_t(pad_value);
  for (int64_t n = 0; n < g.n; ++n) {
    parallel_for(g.cin, [&](int64_t ci) {
      for (int64_t yp = 0; yp < Hp; ++yp) {
        uint8_t* dst = padded.data() + (ci * Hp + yp) * L;
        const int64_t iy = yp - g.p.pad_h;
        if (iy < 0 || iy >= g.h) {
          std::fill(dst, dst + L, pad);
          continue;
        }
        const int64_t lo = std::min<int64_t>(L, g.p.pad_w), hi = std::min<int64_t>(L, g.p.pad_w + g.w);
        std::fill(dst, dst + lo, pad);
        if (hi > lo) load_offset(x, ((n * g.cin + ci) * g.h + iy) * g.w + (lo - g.p.pad_w), hi - lo, offset, dst + lo);
        std::fill(dst + std::max(lo, hi), dst + L, pad);
      }
    });
    parallel_for(g.oh, [&](int64_t oy) {
      std::vector<const uint8_t*> rows(static_cast<size_t>(R));
      for (int64_t ci = 0; ci < g.cin; ++ci)
        for (int64_t ky = 0; ky < g.kh; ++ky) rows[size_t(ci * g.kh + ky)] = padded.data() + (ci * Hp + oy + ky) * L;
      int32_t* outs[4];
      for (int64_t co = 0; co < cout; ++co) outs[co] = out + ((n * cout + co) * g.oh + oy) * g.ow;
      hk.direct_row_u8s8(rows.data(), R, wq.data(), KQ, cout, base.data(), g.ow, outs);
    });
  }
}

// ---- implicit GEMM (AMX tiles; AVX-512 vpdpbusd): conv2d (any stride), transposed conv by phases ---
// The input is copied once into 64-channel blocks over a padded window, held as polyphase sub-images
// (ImplicitLayout): xb[img][gi][cb][f][c] = x[img][gi cin_g + 64 cb + c][input pixel of f] - offset
// (pad_value outside x and for channels past cin_g, whose weights are zero), for f < L: one pixel's
// 64 channel bytes are one cache line.
// A grid is a set of output pixels (oy0 + i sy, ox0 + j sx), i < nqy, j < nqx, that one GEMM makes:
// column q = i Wp + j, and tap t reads flat window pixel q + off_t for every column. So the 16
// columns q0.. of one step (64 channels at one tap) are 16 consecutive pixels of one block, an AMX
// A tile of 16 aligned cache lines: the activations are read in place (hk.ukr_u8s8_implicit), with
// no im2col and no packing; the kernel transposes its pixel-by-channel sums on the way out. Columns
// with j >= nqx (the last Wp - nqx of each row) are computed and dropped.
//  - conv2d with stride (sy, sx): one grid, every output pixel; tap (ky, kx) reads sub-image
//    (ky dh mod sy, kx dw mod sx) at shift (ky dh div sy, kx dw div sx) (window from -pad);
//  - transposed conv: one grid per output phase (convt_phases), its taps only: a stride-1
//    convolution of x with them (convt_phase's derivation), outputs at stride (sh, sw).
// Operands as conv_packed's u8 x s8 path: x - offset, padded taps pad_value, acc = bias +
// corr_factor * sum w + sum w (x - offset); weights (per grid and group) packed as the kernel's B
// tiles, 32 output channels per panel, one 2 KiB step per (64-channel block cb, tap t).
struct ImplicitGrid {
  int64_t oy0, ox0, sy, sx, nqy, nqx, wp;  // wp: the window's width Wp (columns per grid row)
  std::vector<int64_t> off, tap;  // per tap: window offset of column 0, weight tap index ky kw + kx
};

// The grids of a conv and the input window they read (rows ylo.., columns xlo.., Hp x Wp).
// The window is held as sy x sx sub-images (polyphase: a strided conv2d's taps each read one of
// them at stride 1), each Hp x Wp: sub-image (a, b) pixel (i, j) is input pixel (ylo + i sy + a,
// xlo + j sx + b), at flat index (a sx + b) Hp Wp + i Wp + j. sy = sx = 1 but for strided conv2d.
struct ImplicitLayout {
  std::vector<ImplicitGrid> grids;
  int64_t ylo = 0, xlo = 0, Hp = 1, Wp = 1, sy = 1, sx = 1;
  bool per_pixel = false;  // a transposed conv of 1x1 inputs: one grid per output pixel, its one tap
};

// Whether the batched layout (implicit_batched) may hold g's images: at least 32, outputs at most 32
// wide, on AVX-512 (measured on Zen 4 only: AMX tiles keep the per-image layout).
bool batched_candidate(const Geom& g) { return g.n >= 32 && g.ow <= 32 && active_isa() != Isa::amx; }

ImplicitLayout implicit_layout(const Geom& g) {
  ImplicitLayout lay;
  const int64_t T = g.kh * g.kw;
  if (!g.p.transposed) {  // tap (ky, kx) of output (oy, ox) reads padded pixel (oy sy + ky dh, ox sx + kx dw)
    const int64_t sy = g.p.stride_h, sx = g.p.stride_w;
    lay.ylo = -g.p.pad_h, lay.xlo = -g.p.pad_w, lay.sy = sy, lay.sx = sx;
    lay.Hp = (g.h + 2 * g.p.pad_h + sy - 1) / sy, lay.Wp = (g.w + 2 * g.p.pad_w + sx - 1) / sx;
    ImplicitGrid gr{0, 0, 1, 1, g.oh, g.ow, lay.Wp, {}, {}};
    for (int64_t t = 0; t < T; ++t) {
      const int64_t dy = (t / g.kw) * g.p.dil_h, dx = (t % g.kw) * g.p.dil_w;
      gr.tap.push_back(t);
      gr.off.push_back(((dy % sy) * sx + dx % sx) * lay.Hp * lay.Wp + (dy / sy) * lay.Wp + dx / sx);
    }
    lay.grids.push_back(gr);
    return lay;
  }
  if (g.h == 1 && g.w == 1 && batched_candidate(g)) {
    // 1x1 inputs (a generator's first layer): output pixel (oy, ox) takes tap (ky, kx) with
    // ky dh = oy + ph, kx dw = ox + pw, or none; a phase grid would run every tap of its phase over a
    // window of padding. One grid per pixel, each its own tap only, for the batched layout.
    lay.per_pixel = true;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        ImplicitGrid gr{oy, ox, 1, 1, 1, 1, 1, {}, {}};
        const int64_t a = oy + g.p.pad_h, b = ox + g.p.pad_w;
        if (a % g.p.dil_h == 0 && a / g.p.dil_h < g.kh && b % g.p.dil_w == 0 && b / g.p.dil_w < g.kw) {
          gr.tap.push_back(a / g.p.dil_h * g.kw + b / g.p.dil_w);
          gr.off.push_back(0);
        }
        lay.grids.push_back(gr);
      }
    return lay;
  }
  const std::vector<ConvtPhase> phases = convt_phases(g);
  int64_t ylo = INT64_MAX, yhi = INT64_MIN, xlo = INT64_MAX, xhi = INT64_MIN;
  for (const ConvtPhase& p : phases)
    if (p.nqy && p.nqx)
      for (size_t t = 0; t < p.tap.size(); ++t) {
        ylo = std::min(ylo, p.qy0 - p.ty[t]), yhi = std::max(yhi, p.qy0 + p.nqy - 1 - p.ty[t]);
        xlo = std::min(xlo, p.qx0 - p.tx[t]), xhi = std::max(xhi, p.qx0 + p.nqx - 1 - p.tx[t]);
      }
  if (ylo > yhi) ylo = yhi = xlo = xhi = 0;  // no phase has taps: bias only
  lay.ylo = ylo, lay.xlo = xlo, lay.Hp = yhi - ylo + 1, lay.Wp = xhi - xlo + 1;
  for (const ConvtPhase& p : phases)  // a grid row holds its nqx pixels (phases without taps too)
    if (p.nqy) lay.Wp = std::max(lay.Wp, p.nqx);
  for (const ConvtPhase& p : phases) {
    if (!p.nqy || !p.nqx) continue;
    ImplicitGrid gr{p.oy0, p.ox0, g.p.stride_h, g.p.stride_w, p.nqy, p.nqx, lay.Wp, {}, p.tap};
    for (size_t t = 0; t < p.tap.size(); ++t) gr.off.push_back((p.qy0 - p.ty[t] - ylo) * lay.Wp + (p.qx0 - p.tx[t] - xlo));
    lay.grids.push_back(gr);
  }
  return lay;
}

// Whether conv_implicit holds a chunk of images innermost (batched layout): pixel f of image i at
// line f NB + i, so one kernel call is 32 images at one grid pixel and the grid's padding columns
// (Wp - nqx per row) and its 32-column remainders cost nothing; a task is a block of output rows
// (every grid's pixels in them) of 32 images and 32 channels, so the rows are written whole, once.
// Taken for batched_candidate convs whose grids cover the output exactly, with the images filling
// their 32-blocks at least as well as the per-image layout fills its 32-column tiles. (Until
// 2026-12-08 also only where under 3/4 of the per-image layout's computed columns were output pixels,
// DCGAN-64's 1x1, 4x4 and 8x8 inputs at batch 64. Fuller grids gain too, on Zen 4, 2 threads, one
// process, 40 calls interleaved: DCGAN's 128x16x16 transposed layer at batch 64 (grids 89 % full)
// 6.8 against 8.0 ms on the per-image implicit layout and 9.0 ms on col2im, auto's earlier choice;
// SRResNet's 64x32x32 convs at batch 32 4.11 against 4.22 and 15.5 against 16.6 ms; the whole DCGAN
// at batch 64 20.5 against 22.9 ms, twice, 30 runs each. Each output row is written whole, once,
// instead of in every phase's every other code.)
// (output pixels, computed pixels) of one image's grids in the per-image layout (rows of wp columns,
// 32-column tiles).
std::pair<int64_t, int64_t> grid_pixels(const std::vector<ImplicitGrid>& grids) {
  int64_t valid = 0, computed = 0;
  for (const ImplicitGrid& gr : grids) valid += gr.nqy * gr.nqx, computed += (gr.nqy * gr.wp + 31) / 32 * 32;
  return {valid, computed};
}

bool implicit_batched(const std::vector<ImplicitGrid>& grids, const Geom& g) {
  if (!batched_candidate(g)) return false;
  const auto [valid, computed] = grid_pixels(grids);
  const int64_t blocks = (g.n + 31) / 32 * 32;
  return valid == g.oh * g.ow && computed > 0 && g.n * computed >= valid * blocks;
}

// Whether the implicit GEMM can run g (the caller checks the u8 x s8 operands), on ISAs with the
// kernel (AMX tiles; AVX-512 vpdpbusd): a transposed conv on any geometry (implicit_run decides when it
// does), a conv2d with >= 32 input and >= 16 output channels per group (below that the im2col path's
// packing is cheap and its tiles fuller; on AVX-512 the implicit path was faster than im2col on all 8
// conv2d layers of bench_builds --set conv2d at batch 1, 1.16-2.02x, medians).
bool implicit_ok(const Geom& g, const HotKernels& hk) {
  const ConvParams& p = g.p;
  if (!hk.ukr_u8s8_implicit) return false;
  if (p.transposed) return true;
  return g.cin_g() >= 32 && g.cout_g() >= 16;
}

// auto's choice of the implicit GEMM for a transposed conv: >= 32 input and >= 16 output channels per
// group, and batch 1 or an input of at least 64 window columns per phase (h (w + 2) >= 64: 8x8 and
// up; on 4x4 inputs most of each 32-column tile is padding). benchmarks/bench_convt.py (AMX, 2
// threads, 5 interleaved runs, benchmarks/results/bench_convt-amx-swap-2026-12-07.json): the implicit
// GEMM was faster than both phase and col2im on the 16 geometries this picks (1.01-1.71x, medians)
// and slower on the 3 it leaves to them (3 and 8 output channels; DCGAN's 512x4x4 at batch 64).
// On AVX-512 (vpdpbusd) it is taken where the batched layout applies (implicit_batched: >= 32 images of
// outputs at most 32 wide), with >= 32 input and >= 16 output channels per group: on Zen 4, 2 threads
// (bench_convt --isas avx512, docs/performance.md), DCGAN-64's 1x1, 4x4 and 8x8 layers at batch 64
// took 0.13x, 0.70x and 1.02x of col2im's time (auto's earlier choice); its 16x16 layer 0.76x
// (implicit_batched). Also on AVX-512: one image of
// at most 4 input pixels (a generator's 1x1 and 2x2 layers: each weight is read once whatever the path,
// and the kernel computes only the grid's few pixels): pix2pix's 512x1x1 and 1024x2x2 layers in the
// runtime (conv_requant, Zen 4, 2 threads, medians of 20) 0.30 and 0.60 ms against phase's 0.43 and
// 0.80 and col2im's 0.99 for the second. And one image of >= 256 input channels per group when the
// input has at most 16 pixels or >= 85 % of the grids' computed pixels are outputs (with the copy of
// whole 64-channel planes and the weight prefetch): pix2pix's transposed layers, each after a 64 MB
// pass over other memory (conv_requant, Zen 4, 2 threads, medians of 20), 1024x4x4 1.06 ms against
// phase's 1.15, 512x32x32 3.20 against 3.41, 256x64x64 3.52 against phase's 4.15 and col2im's 4.08,
// CycleGAN's 256x64x64 4.26 against 4.44, DCGAN's 512x4x4 0.32 against 0.35; 1024x8x8 (grids 67 %
// full) kept phases, 2.12 against 1.77. Whole models in one process, old rule against new,
// interleaved: pix2pix 1.03-1.05x (30 runs), DCGAN at batch 1 1.08-1.09x (200-300 runs), CycleGAN
// 1.005x. And (2026-12-08, after the kernel took the grids' bases and the phase rows a vector store)
// one image whose grids' 32-channel weight panels are <= 32 KiB (input channels rounded up to 64 x
// taps per grid <= 1024 bytes per channel: the panel stays in L1 across a task's tiles), whatever its
// grids' fill: DCGAN's 256x8x8 and 128x16x16 layers at batch 1 (warm, 20 calls) 0.138 and 0.140 ms
// against auto's earlier 0.152 and 0.172, CycleGAN's 128x128x128 5.23 against 5.65 ms; the whole
// DCGAN at batch 1 1.02-1.05x (300 runs, three times), pix2pix and CycleGAN within the noise.
// pix2pix's 1024x8x8 (128 KiB panels, grids 67 % full) stays on phases: 1.64 against 2.05 ms.
// Elsewhere on AVX-512 a transposed conv takes it only when asked.
static bool implicit_convt_auto(const Geom& g) {
  if (g.cin_g() < 32 || g.cout_g() < 16) return false;
  if (active_isa() == Isa::avx512) {
    if (g.n == 1 && g.h * g.w <= 4) return true;
    const std::vector<ImplicitGrid> grids = implicit_layout(g).grids;
    if (g.n == 1) {  // one image: weight panels of <= 32 KiB, or >= 256 input channels and small inputs or full grids
      int64_t taps = 0;
      for (const ImplicitGrid& gr : grids) taps = std::max(taps, int64_t(gr.tap.size()));
      if ((g.cin_g() + 63) / 64 * taps * 2048 <= 32768) return true;  // a grid's 32-channel panel (packed weights)
      if (g.cin_g() >= 256 && g.h * g.w <= 16) return true;
      const auto [valid, computed] = grid_pixels(grids);
      if (g.cin_g() >= 256 && 20 * valid >= 17 * computed) return true;  // >= 85 % of the computed pixels are outputs
    }
    return implicit_batched(grids, g);
  }
  return active_isa() == Isa::amx && (g.n == 1 || g.h * (g.w + 2) >= 64);
}

// Calls f(oy, ox, n, j) for each run of grid pixels among columns [qa, qb) of grid gr (rows of gr.wp
// columns): output pixels (oy, ox + k gr.sx), k < n, whose sums start at column qa + j.
template <class F>
void implicit_runs(const ImplicitGrid& gr, int64_t qa, int64_t qb, F&& f) {
  const int64_t Wp = gr.wp;
  for (int64_t i = qa / Wp; i * Wp < qb && i < gr.nqy; ++i) {
    const int64_t f0 = std::max(qa, i * Wp), f1 = std::min(qb, i * Wp + gr.nqx);
    if (f1 > f0) f(gr.oy0 + i * gr.sy, gr.ox0 + (f0 - i * Wp) * gr.sx, f1 - f0, f0 - qa);
  }
}

// One window row of a 64-channel block: d[j ps + 4 c4 + b] = byte b of quads[c4 Wp + j] (16 rows of Wp
// channel quads into Wp pixels of 64 channel bytes, ps bytes apart: 64, or the batched layout's
// images x 64): 4 x 4 transposes of quads (SSE2) and a scalar tail.
inline void transpose_quads(const uint32_t* __restrict quads, int64_t Wp, uint8_t* __restrict d, int64_t ps) {
  int64_t j = 0;
#if defined(__SSE2__)
  for (; j + 4 <= Wp; j += 4)
    for (int64_t c4 = 0; c4 < 16; c4 += 4) {
      auto ld = [&](int64_t r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(quads + (c4 + r) * Wp + j)); };
      const __m128i r0 = ld(0), r1 = ld(1), r2 = ld(2), r3 = ld(3);
      const __m128i t0 = _mm_unpacklo_epi32(r0, r1), t1 = _mm_unpackhi_epi32(r0, r1);
      const __m128i t2 = _mm_unpacklo_epi32(r2, r3), t3 = _mm_unpackhi_epi32(r2, r3);
      auto st = [&](int64_t q, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (j + q) * ps + c4 * 4), v); };
      st(0, _mm_unpacklo_epi64(t0, t2));
      st(1, _mm_unpackhi_epi64(t0, t2));
      st(2, _mm_unpacklo_epi64(t1, t3));
      st(3, _mm_unpackhi_epi64(t1, t3));
    }
#endif
  for (; j < Wp; ++j)
    for (int64_t c4 = 0; c4 < 16; ++c4) std::memcpy(d + j * ps + c4 * 4, quads + c4 * Wp + j, 4);
}

// dst(j)[t] = T(s[t lds + j] - sub) (modulo 2^8 or 2^16) for t < nt, j < nj, T uint8_t or uint16_t:
// blocks of B x B elements (B = 16 / sizeof(T)) through rounds of SSE2 unpacks at twice the width
// each (bytes, words, dwords, qwords: 64 unpacks per 16 x 16 block of bytes instead of 256 moves),
// the edges element by element. Users: the input copy of conv_implicit (64 channel planes into
// pixels of 64 channel bytes; the general loop had taken 10 % of DCGAN's 512x4x4 layer at batch 64)
// and the batched layout's output codes ([pixel][32 images] into each image's rows: the per-element
// copies had taken 5 % (int8) and 11 % (int16, the runtime's convs read by a norm, an add or the
// output) of that layer's runs; perf, Zen 4). kWholeLines: rows read a line at a time (below), for
// the strided input copy, whose rows are whole channel planes apart.
// One round: registers base + b and base + b + d (d = W / sizeof(T)) into their W-byte unpacks.
template <int W>
inline void unpack_pair(__m128i& lo, __m128i& hi) {
  const __m128i a = lo, b = hi;
  if constexpr (W == 1) lo = _mm_unpacklo_epi8(a, b), hi = _mm_unpackhi_epi8(a, b);
  else if constexpr (W == 2) lo = _mm_unpacklo_epi16(a, b), hi = _mm_unpackhi_epi16(a, b);
  else if constexpr (W == 4) lo = _mm_unpacklo_epi32(a, b), hi = _mm_unpackhi_epi32(a, b);
  else lo = _mm_unpacklo_epi64(a, b), hi = _mm_unpackhi_epi64(a, b);
}
template <int W, int B>
inline void unpack_round(__m128i* r) {
  constexpr int d = W / (16 / B);  // register distance of this round: element width W / element size
  for (int base = 0; base < B; base += 2 * d)
    for (int b = 0; b < d; ++b) unpack_pair<W>(r[base + b], r[base + b + d]);
}
template <class T, bool kWholeLines = false, class Dst>
inline void transpose_to(const T* __restrict s, int64_t lds, int64_t nt, int64_t nj, T sub, Dst&& dst) {
  int64_t t0 = 0;
#if defined(__SSE2__)
  constexpr int E = int(sizeof(T)), B = 16 / E, L = B == 16 ? 4 : 3;  // B x B blocks, L rounds
  const __m128i vsub = E == 1 ? _mm_set1_epi8(char(sub)) : _mm_set1_epi16(short(sub));
  auto block = [&](const __m128i* rows, int64_t t, int64_t j0) {  // rows t .. t + B - 1, elements j0 .. j0 + B - 1
    __m128i r[B];
    for (int i = 0; i < B; ++i) r[i] = E == 1 ? _mm_sub_epi8(rows[i], vsub) : _mm_sub_epi16(rows[i], vsub);
    unpack_round<E, B>(r);
    unpack_round<2 * E, B>(r);
    unpack_round<4 * E, B>(r);
    if constexpr (E == 1) unpack_round<8, B>(r);
    for (int k = 0; k < B; ++k) {
      int rev = 0;
      for (int bit = 0; bit < L; ++bit) rev |= ((k >> bit) & 1) << (L - 1 - bit);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst(j0 + rev) + t), r[k]);
    }
  };
  const int64_t njb = nj / B * B;
  for (; t0 + B <= nt; t0 += B) {
    if constexpr (kWholeLines) {
      // Rows a plane apart (a power of two bytes, often) share one L1 set: B rows read 16 bytes at a
      // time evict each other's lines before the next 16. So each row's 4 B elements (a cache line of
      // bytes) are loaded at once, with the line after next prefetched, then transposed as 4 blocks.
      alignas(64) __m128i buf[4][B];
      for (int64_t jc = 0; jc < njb; jc += 4 * B) {
        const int nq = int(std::min<int64_t>(4, (njb - jc) / B));
        for (int i = 0; i < B; ++i) {
          const T* row = s + (t0 + i) * lds + jc;
          _mm_prefetch(reinterpret_cast<const char*>(row + 8 * B), _MM_HINT_T0);
          for (int u = 0; u < nq; ++u) buf[u][i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + u * B));
        }
        for (int u = 0; u < nq; ++u) block(buf[u], t0, jc + u * B);
      }
    } else {
      for (int64_t j0 = 0; j0 < njb; j0 += B) {
        __m128i rows[B];
        for (int i = 0; i < B; ++i) rows[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + (t0 + i) * lds + j0));
        block(rows, t0, j0);
      }
    }
    for (int64_t j0 = njb; j0 < nj; ++j0) {
      T* d = dst(j0);
      for (int64_t t = t0; t < t0 + B; ++t) d[t] = T(s[t * lds + j0] - sub);
    }
  }
#endif
  for (int64_t j = 0; j < nj && t0 < nt; ++j) {
    T* d = dst(j);
    for (int64_t t = t0; t < nt; ++t) d[t] = T(s[t * lds + j] - sub);
  }
}

// Emits task outputs: emit(img, ni, co, nc, gr, qa, qb, row, ldr) takes the final sums (bias and
// correction included: the kernel starts from each grid's base) of channels co .. co + nc - 1 (over
// all groups), channel co + m's at row + m ldr; the rows may be changed in place.
// ni = 0 (nc = 1): row[0..qb - qa) holds columns [qa, qb) of grid gr of image img (implicit_runs
// maps them to output pixels), valid sums up to a multiple of 32 columns. ni > 0 (the batched
// layout): qa = oy0, qb = nr: row[t 32 + j], t < nr ow, j < 32, is output pixel oy0 ow + t of image
// img + j (rows oy0 .. oy0 + nr - 1), valid for j < ni; gr is unused.
template <class Emit>
void conv_implicit(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int32_t pad_value,
                   int64_t corr_factor, const int64_t* bias, Emit&& emit) {
  const HotKernels& hk = hot();
  const TileShape ts = tile_of(GemmU8S8{}, hk);
  const bool tr = g.p.transposed;
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t CB = (cin_g + 63) / 64;
  const ImplicitLayout lay = implicit_layout(g);
  const std::vector<ImplicitGrid>& grids = lay.grids;
  const int64_t ylo = lay.ylo, xlo = lay.xlo, Hp = lay.Hp, Wp = lay.Wp, SY = lay.sy, SX = lay.sx;
  int64_t L = SY * SX * Hp * Wp;
  for (const ImplicitGrid& gr : grids) {
    const int64_t omax = gr.off.empty() ? 0 : *std::max_element(gr.off.begin(), gr.off.end());
    L = std::max(L, (gr.nqy * Wp + 31) / 32 * 32 + omax);
  }
  // Packed weights per grid and group, cached as layout 2 (conv2d: one grid, the same for every
  // geometry; transposed: one per phase, keyed by the phase geometry). Per 32-channel panel and step
  // s = cb Tp + t: [2 halves][16 k-groups][16 channels][4], channel cb 64 + 4 kq + b at tap t.
  const std::shared_ptr<const PackedWeights> pw = cached_weights(w, ts, g, lay.per_pixel ? 3 : 2, 0, [&] {
    auto pk = std::make_shared<PackedWeights>();
    const int8_t* wp = static_cast<const int8_t*>(w.data);
    for (const ImplicitGrid& gr : grids) {
      const int64_t Tp = int64_t(gr.tap.size()), steps = CB * Tp, panels = (cout_g + 31) / 32;
      pk->A.emplace_back();
      pk->sums.emplace_back(size_t(G * cout_g), 0);
      for (int64_t gi = 0; gi < G; ++gi) {
        PackedA<int8_t> a;
        a.ts = ts, a.M = cout_g, a.kgroups = steps, a.panels = panels;
        a.data.assign(size_t(panels * steps * 2048), int8_t(0));
        for (int64_t co = 0; co < cout_g; ++co) {
          int32_t sum = 0;
          int8_t* dp = a.data.data() + (co / 32) * steps * 2048 + ((co % 32) / 16) * 1024 + (co % 16) * 4;
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t t = 0; t < Tp; ++t) {
              const int64_t tap = gr.tap[size_t(t)];
              const int8_t v = tr ? wp[((gi * cin_g + ci) * cout_g + co) * T + tap]  // w[ci][co][tap]
                                  : wp[((gi * cout_g + co) * cin_g + ci) * T + tap];  // w[co][ci][tap]
              sum += v;
              dp[((ci / 64) * Tp + t) * 2048 + ((ci % 64) / 4) * 64 + ci % 4] = v;
            }
          pk->sums.back()[size_t(gi * cout_g + co)] = sum;
        }
        pk->bytes += int64_t(a.data.size());
        pk->A.back().push_back(std::move(a));
      }
    }
    return std::shared_ptr<const PackedWeights>(pk);
  });
  // The copy: per image, group and 64-channel block, the window's L pixels of 64 bytes (bplane
  // bytes; L past the window for the 32-column remainders). Batched (implicit_batched): per group and
  // block, the window's pixels with NB images each (pixel f of image i at line f NB + i; no
  // remainder reads past the window), NB the chunk's images rounded up to 32.
  const bool batched = implicit_batched(grids, g);
  if (batched) L = SY * SX * Hp * Wp;
  const int64_t img_bytes = G * CB * L * 64;
  // Images in chunks whose copy stays within 32 MiB (at least one image; batched: 32 at a time).
  const int64_t fit = std::max<int64_t>(1, (int64_t(32) << 20) / img_bytes);
  const int64_t chunk = batched ? std::min(g.n, std::max<int64_t>(32, fit / 32 * 32)) : std::min(g.n, fit);
  const int64_t NB = batched ? (chunk + 31) / 32 * 32 : 1;
  const int64_t ps = batched ? NB * 64 : 64;  // bytes from one window pixel to the next
  const int64_t bplane = batched ? L * NB * 64 : L * 64;
  // Per grid: bias + corr per channel (|.| < 2^31 by the plan's bound; 32 zeros past the last: the
  // kernel reads 32 per call) and the steps' A offsets.
  std::vector<std::vector<int32_t>> base(grids.size());
  std::vector<std::vector<int64_t>> xoff(grids.size());  // step s = cb T + t: byte offset of its pixels
  for (size_t k = 0; k < grids.size(); ++k) {
    for (int64_t c = 0; c < g.cout; ++c)
      base[k].push_back(int32_t((bias ? bias[c] : 0) + corr_factor * pw->sums[k][size_t(c)]));
    base[k].resize(size_t(g.cout + 32), 0);
    const int64_t Tp = int64_t(grids[k].tap.size());
    for (int64_t cb = 0; cb < CB; ++cb)
      for (int64_t t = 0; t < Tp; ++t) xoff[k].push_back(cb * bplane + grids[k].off[size_t(t)] * ps);
  }
  const int64_t buf_bytes = batched ? G * CB * bplane : chunk * img_bytes;
  AlignedVector<uint8_t>& xb_buf = quad_copy_buffer();
  if (int64_t(xb_buf.size()) < buf_bytes) xb_buf.resize(size_t(buf_bytes));
  uint8_t* const xb = xb_buf.data();
  const uint8_t pad = uint8_t(pad_value);
  // Tasks: (image, group, grid, column chunk of QC, output-channel chunk of COC); batched: (group,
  // block of RB output rows, block of 32 images, chunk of 32 output channels).
  constexpr int64_t QC = 256, COC = 64;
  // batched: tasks of RB output rows (RB ow <= 64 pixels: whole cache lines of 1-byte codes) and 32 channels
  const int64_t RB = std::max<int64_t>(1, 64 / g.ow), ncob = (cout_g + 31) / 32;
  const int64_t nco = (cout_g + COC - 1) / COC;
  for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
    const int64_t nn = std::min(chunk, g.n - n0), nib = (nn + 31) / 32;
    std::vector<int64_t> first_task(grids.size() + 1, 0);  // per image (batched: per 32) and group
    for (size_t k = 0; k < grids.size(); ++k)
      first_task[k + 1] = first_task[k] + (grids[k].nqy * Wp + QC - 1) / QC * nco;
    if (batched) first_task.assign(1, 0), first_task.push_back((g.oh + RB - 1) / RB * nib * ncob);
    const int64_t per_ig = first_task.back();
    // Copy jobs: one 64-channel block of one image and group, in `parts` ranges of its SY Hp window
    // rows (of at least 16 KiB each) when there are fewer blocks than 2 per thread: at batch 1 of 64
    // channels one thread had copied the one block while the other waited, and gone to sleep by the
    // compute job (SRResNet's 64x32x32 conv alone 0.24 -> 0.16 ms; the whole model about 4 % faster in
    // alternated processes, Zen 4; DCGAN at batch 1 unchanged).
    const int64_t blocks = nn * G * CB, R = SY * Hp;
    // Byte codes in whole 64-channel blocks, stride 1, every input column inside the window: a block's
    // rows are 64 channel rows of pixels to transpose ((x - offset) modulo 256 is the code minus qmin,
    // in [0, 255]). The general loop below (a channel quad at a time, rows of Wp bytes) had taken 10 %
    // of DCGAN's 512x4x4 layer at batch 64, most of it byte loops over rows of 4 pixels (perf, Zen 4).
    const bool byte_blocks = (x.dtype == DType::i8 || x.dtype == DType::u8) && cin_g % 64 == 0 && xlo <= 0;
    const bool whole_planes = byte_blocks && SY == 1 && SX == 1 && g.w - xlo <= Wp;
    // Strided (SY or SX > 1), byte codes in whole 64-channel blocks, every input pixel inside the window:
    // per window row, its input row as one transpose into the SX column phases. The general loop below
    // (strided byte loads into channel quads) had taken about a fifth of CycleGAN's 64x256x256 stride-2
    // conv (perf); with this, CycleGAN's two stride-2 convs ran 13-15 % faster and pix2pix's 4x4
    // stride-2 encoder convs on 64-512 channels 7-13 % (Zen 4, 2 threads, 30 interleaved calls each).
    const bool strided_planes = byte_blocks && (SY > 1 || SX > 1) && ylo <= 0 && g.w >= 16 &&
                                (g.w - 1 - xlo) / SX < Wp && (g.h - 1 - ylo) / SY < Hp;
    std::vector<int64_t> col_at;  // strided_planes: input column ix at byte (b Hp Wp + j) ps of its row, ix - xlo = j SX + b
    if (strided_planes)
      for (int64_t ix = 0; ix < g.w; ++ix) col_at.push_back((((ix - xlo) % SX) * Hp * Wp + (ix - xlo) / SX) * ps);
    std::vector<int64_t> pixel_at;  // whole_planes: input pixel iy w + ix at byte ((iy - ylo) Wp + ix - xlo) ps
    if (whole_planes)
      for (int64_t iy = 0; iy < g.h; ++iy)
        for (int64_t ix = 0; ix < g.w; ++ix) pixel_at.push_back(((iy - ylo) * Wp + ix - xlo) * ps);
    const int64_t parts = blocks >= 2 * num_threads()
                              ? 1
                              : std::max<int64_t>(1, std::min<int64_t>({R, 2 * num_threads(), R * SX * Wp * 64 / 16384}));
    parallel_for(blocks * parts, [&](int64_t jp) {
      const int64_t job = jp / parts, part = jp % parts, r0 = part * R / parts, r1 = (part + 1) * R / parts;
      const int64_t il = job / (G * CB), img = n0 + il, gi = (job / CB) % G, cb = job % CB;
      uint8_t* dst = batched ? xb + (gi * CB + cb) * bplane + il * 64 : xb + job * bplane;
      if (!batched && part == 0) std::fill(dst + SY * SX * Hp * Wp * 64, dst + bplane, pad);
      if (whole_planes) {  // window rows r0 .. r1 - 1: the input rows in them as one transpose, the rest pad
        const int64_t ia = std::clamp<int64_t>(-ylo, r0, r1), ib = std::clamp<int64_t>(g.h - ylo, ia, r1);
        for (int64_t r = r0; r < r1; ++r) {
          uint8_t* d = dst + r * Wp * ps;
          const bool inside = r >= ia && r < ib;
          for (int64_t j = 0; j < Wp; ++j)
            if (!inside || j < -xlo || j >= g.w - xlo) std::fill(d + j * ps, d + j * ps + 64, pad);
        }
        if (ib > ia)
          transpose_to<uint8_t>(static_cast<const uint8_t*>(x.data) + ((img * g.cin + gi * cin_g + cb * 64) * g.h + ylo + ia) * g.w,
                                g.h * g.w, 64, (ib - ia) * g.w, uint8_t(offset),
                                [&, o = pixel_at.data() + (ylo + ia) * g.w](int64_t p) { return dst + o[p]; });
        return;
      }
      if (strided_planes) {  // window row r = a Hp + i reads input row iy = ylo + i SY + a into its SX column phases
        const uint8_t* src = static_cast<const uint8_t*>(x.data) + (img * g.cin + gi * cin_g + cb * 64) * g.h * g.w;
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t a = r / Hp, i = r % Hp, iy = ylo + i * SY + a;
          const bool inside = iy >= 0 && iy < g.h;
          for (int64_t b = 0; b < SX; ++b) {
            uint8_t* d = dst + ((a * SX + b) * Hp + i) * Wp * ps;
            for (int64_t j = 0; j < Wp; ++j) {
              const int64_t ix = xlo + j * SX + b;
              if (!inside || ix < 0 || ix >= g.w) std::fill(d + j * ps, d + j * ps + 64, pad);
            }
          }
          if (inside)
            transpose_to<uint8_t, true>(src + iy * g.w, g.h * g.w, 64, g.w, uint8_t(offset),
                                        [&, d = dst + (a * SX * Hp + i) * Wp * ps](int64_t ix) { return d + col_at[size_t(ix)]; });
        }
        return;
      }
      thread_local std::vector<uint8_t> rows;       // 4 rows of Wp values (one channel quad)
      thread_local AlignedVector<uint32_t> quads;  // 16 rows of Wp quads
      if (int64_t(rows.size()) < 4 * Wp) rows.resize(size_t(4 * Wp));
      if (int64_t(quads.size()) < 16 * Wp) quads.resize(size_t(16 * Wp));
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t a = r / Hp, i = r % Hp, iy = ylo + i * SY + a;
        for (int64_t b = 0; b < SX; ++b) {
          uint8_t* d = dst + ((a * SX + b) * Hp + i) * Wp * ps;
          // columns j whose input column xlo + j SX + b lies in [0, w)
          const int64_t j0 = std::min(Wp, std::max<int64_t>(0, (-xlo - b + SX - 1) / SX));
          const int64_t j1 = std::max(j0, std::min(Wp, g.w - 1 - xlo - b < 0 ? 0 : (g.w - 1 - xlo - b) / SX + 1));
          if (iy < 0 || iy >= g.h || j1 <= j0) {
            for (int64_t j = 0; j < Wp; ++j) std::fill(d + j * ps, d + j * ps + 64, pad);
            continue;
          }
          for (int64_t c4 = 0; c4 < 16; ++c4) {
            const int64_t nch = std::max<int64_t>(0, std::min<int64_t>(4, cin_g - cb * 64 - 4 * c4));
            std::fill(rows.begin(), rows.begin() + 4 * Wp, pad);
            for (int64_t c = 0; c < nch; ++c) {
              const int64_t src = ((img * g.cin + gi * cin_g + cb * 64 + 4 * c4 + c) * g.h + iy) * g.w + xlo + j0 * SX + b;
              if (SX == 1) load_offset(x, src, j1 - j0, offset, rows.data() + c * Wp + j0);
              else load_offset_strided(x, src, j1 - j0, SX, offset, rows.data() + c * Wp + j0);
            }
            interleave_rows<4, uint8_t>(rows.data(), Wp, Wp, Wp, 0, reinterpret_cast<uint8_t*>(quads.data() + c4 * Wp));
          }
          transpose_quads(quads.data(), Wp, d, ps);
        }
      }
    });
    parallel_for((batched ? 1 : nn) * G * per_ig, [&](int64_t task) {
      const int64_t gi = (task / per_ig) % G, r = task % per_ig;
      thread_local AlignedVector<int32_t> acc;
      const int64_t acc_len = batched ? 32 * RB * g.ow * 32 : COC * QC;  // batched: RB ow <= 64
      if (int64_t(acc.size()) < acc_len) acc.resize(size_t(acc_len));
      if (hk.tile_begin) hk.tile_begin();
      if (batched) {  // output rows oy0 .. oy0 + nr - 1 of images n0 + 32 ib .., channels co0 ..: every grid's pixels
        const int64_t ci = r % ncob, ib = (r / ncob) % nib, oy0 = r / (ncob * nib) * RB, co0 = ci * 32;
        const int64_t nc = std::min<int64_t>(32, cout_g - co0), nr = std::min(RB, g.oh - oy0);
        const int64_t ni = std::min<int64_t>(32, nn - ib * 32);  // images of this block (the rest: padding lines)
        const int64_t ldr = RB * g.ow * 32;
        const uint8_t* xs = xb + gi * CB * bplane + ib * 32 * 64;
        for (size_t k = 0; k < grids.size(); ++k) {
          const ImplicitGrid& gr = grids[k];
          const int64_t steps = int64_t(xoff[k].size());
          const int8_t* wk = pw->A[k][size_t(gi)].data.data() + (co0 / 32) * steps * 2048;
          for (int64_t oy = oy0; oy < oy0 + nr; ++oy) {
            if (oy < gr.oy0 || (oy - gr.oy0) % gr.sy || (oy - gr.oy0) / gr.sy >= gr.nqy) continue;  // not its row
            const int64_t i = (oy - gr.oy0) / gr.sy;
            for (int64_t j = 0; j < gr.nqx; ++j) {  // acc[m][((oy - oy0) ow + ox) 32 + image], ox = ox0 + j sx
              int32_t* c = acc.data() + ((oy - oy0) * g.ow + gr.ox0 + j * gr.sx) * 32;
              // from the grid's base (grids differ in their weight sums)
              hk.ukr_u8s8_implicit(xs + (i * Wp + j) * ps, xoff[k].data(), wk, steps, c, ldr, ni,
                                   base[k].data() + gi * cout_g + co0);
            }
          }
        }
        emit(n0 + ib * 32, ni, gi * cout_g + co0, nc, grids[0], oy0, nr, acc.data(), ldr);
        return;
      }
      const size_t k = size_t(std::upper_bound(first_task.begin(), first_task.end(), r) - first_task.begin() - 1);
      const ImplicitGrid& gr = grids[k];
      const int64_t ci = (r - first_task[k]) % nco, qi = (r - first_task[k]) / nco;
      const int64_t qa = qi * QC, qb = std::min(gr.nqy * Wp, qa + QC), co0 = ci * COC;
      const int64_t nc = std::min(COC, cout_g - co0), panels = (nc + 31) / 32;
      const int64_t steps = int64_t(xoff[k].size());
      const PackedA<int8_t>& A = pw->A[k][size_t(gi)];
      const int64_t img = n0 + task / (G * per_ig);
      const uint8_t* xs = xb + ((img - n0) * G + gi) * CB * bplane;
      for (int64_t q0 = qa; q0 < qb; q0 += 32)
        for (int64_t p = 0; p < panels; ++p)
          hk.ukr_u8s8_implicit(xs + q0 * 64, xoff[k].data(), A.data.data() + (co0 / 32 + p) * steps * 2048, steps,
                               acc.data() + p * 32 * QC + (q0 - qa), QC, std::min<int64_t>(32, qb - q0),
                               base[k].data() + gi * cout_g + co0 + 32 * p);
      for (int64_t m = 0; m < nc; ++m) emit(img, 0, gi * cout_g + co0 + m, 1, gr, qa, qb, acc.data() + m * QC, QC);
    });
  }
  if (xb_buf.size() > (size_t(64) << 20)) AlignedVector<uint8_t>().swap(xb_buf);
}

// ---- dense: a transposed conv of 1x1 inputs ---------------------------------------------------------
// Output pixel (oy, ox) of a 1x1 input takes tap (ky, kx) with ky dh = oy + ph, kx dw = ox + pw, or
// none (bias only), so per group the conv is one matrix product y[n][j] = sum_ci x[n][ci] w[ci][j]
// over the weights' own columns j = co T + tap (T = kh kw): no window of padding (the implicit GEMM's
// phase grids run every tap of a phase over one), no 32-column tiles for one column (col2im's GEMM),
// each weight read once per call and reused by up to 6 images per load (hot.hpp dense_u8s8).
bool dense_ok(const Geom& g, const HotKernels& hk) {
  return g.p.transposed && g.h == 1 && g.w == 1 && hk.dense_u8s8 != nullptr;
}

// Emits planes: emit(img, ni, co, nc, planes, ld) takes output channels co .. co + nc - 1 (one
// group's) of images img .. img + ni - 1, planes[i ld + m oh ow + px] the final sums (bias and
// correction included) of image img + i, channel co + m, output pixel px.
template <class Emit>
void conv_dense(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int64_t corr_factor,
                const int64_t* bias, Emit&& emit) {
  const HotKernels& hk = hot();
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t kq = (cin_g + 3) / 4, P = g.oh * g.ow;
  // Each output pixel's tap (-1: none), and the taps some pixel takes (U of the T, in tap order): only
  // their columns are computed (pix2pix's 512x1x1 -> 2x2 layer takes 4 of its 16 taps). identity: the
  // output is the kernel window itself (padding 0, dilation 1, no output_padding: DCGAN's first
  // layer), so the sums' rows are the planes.
  std::vector<int64_t> tap(size_t(P), -1), used, col(size_t(T), -1);  // col: a used tap's column u
  for (int64_t oy = 0; oy < g.oh; ++oy)  // first each pixel's tap index, then its column
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const int64_t a = oy + g.p.pad_h, b = ox + g.p.pad_w;
      if (a % g.p.dil_h == 0 && a / g.p.dil_h < g.kh && b % g.p.dil_w == 0 && b / g.p.dil_w < g.kw)
        col[size_t(tap[size_t(oy * g.ow + ox)] = a / g.p.dil_h * g.kw + b / g.p.dil_w)] = 0;
    }
  for (int64_t t = 0; t < T; ++t)
    if (col[size_t(t)] == 0) col[size_t(t)] = int64_t(used.size()), used.push_back(t);
  for (int64_t& t : tap)
    if (t >= 0) t = col[size_t(t)];
  const int64_t U = std::max<int64_t>(1, int64_t(used.size())), J = cout_g * U;  // (no tap used: zero weights)
  if (used.empty()) used.push_back(-1);
  bool identity = P == U;
  for (int64_t px = 0; px < P && identity; ++px) identity = tap[size_t(px)] == px;
  // Tasks of cpt channels (about 256 columns: 4 panels of 64), fixed by the weights' shape and the
  // used taps (the cache key: layout 4) so the packing is reused whatever the batch.
  const int64_t cpt = std::max<int64_t>(1, 256 / U), chunks = (cout_g + cpt - 1) / cpt;
  const std::shared_ptr<const PackedWeights> pw = cached_weights(w, tile_of(GemmU8S8{}, hk), g, 4, 0, [&] {
    auto pk = std::make_shared<PackedWeights>();
    const int8_t* wp = static_cast<const int8_t*>(w.data);
    pk->sums.emplace_back(size_t(G * J), 0);
    std::vector<int32_t>& sums = pk->sums.back();
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t c0 = c * cpt, ncol = (std::min(cout_g, c0 + cpt) - c0) * U, panels = (ncol + 63) / 64;
      pk->A.emplace_back();
      for (int64_t gi = 0; gi < G; ++gi) {
        PackedA<int8_t> a;  // [panel][k-quad][64 columns][4], column j: channel c0 + j / U, tap used[j % U]
        a.M = ncol, a.kgroups = kq, a.panels = panels;
        a.data.assign(size_t(panels * kq * 256), int8_t(0));
        for (int64_t ci = 0; ci < cin_g; ++ci) {
          const int8_t* src = wp + ((gi * cin_g + ci) * cout_g + c0) * T;  // w[ci][co][tap] of the chunk's channels
          for (int64_t j = 0; j < ncol; ++j) {
            const int64_t t = used[size_t(j % U)];
            const int8_t v = t < 0 ? int8_t(0) : src[(j / U) * T + t];
            a.data[size_t(((j / 64) * kq + ci / 4) * 256 + (j % 64) * 4 + ci % 4)] = v;
            sums[size_t(gi * J + c0 * U + j)] += v;
          }
        }
        pk->bytes += int64_t(a.data.size());
        pk->A.back().push_back(std::move(a));
      }
    }
    return std::shared_ptr<const PackedWeights>(pk);
  });
  // bias + corr * sum w per column (|.| < 2^31 by the plan's bound), bias alone per channel
  std::vector<int32_t> base(size_t(G * J)), bias32(size_t(g.cout));
  for (int64_t c = 0; c < g.cout; ++c) {
    bias32[size_t(c)] = int32_t(bias ? bias[c] : 0);
    for (int64_t u = 0; u < U; ++u)
      base[size_t(c * U + u)] = int32_t((bias ? bias[c] : 0) + corr_factor * pw->sums[0][size_t(c * U + u)]);
  }
  // x - offset as [image][group][kq quads] bytes (past cin_g: zeros, against zero weights)
  const int64_t ldx = G * kq * 4;
  thread_local AlignedVector<uint8_t> xq;
  if (int64_t(xq.size()) < g.n * ldx) xq.resize(size_t(g.n * ldx));
  for (int64_t img = 0; img < g.n; ++img)
    for (int64_t gi = 0; gi < G; ++gi) {
      uint8_t* d = xq.data() + img * ldx + gi * kq * 4;
      load_offset(x, img * g.cin + gi * cin_g, cin_g, offset, d);
      std::fill(d + cin_g, d + kq * 4, uint8_t(0));
    }
  const uint8_t* const xs = xq.data();
  constexpr int64_t IB = 48;  // images per block: the task's sums (48 x 4 panels x 64 x 4 bytes) stay in L2
  parallel_for(G * chunks, [&](int64_t task) {
    const int64_t gi = task / chunks, c = task % chunks, c0 = c * cpt, nc = std::min(cout_g, c0 + cpt) - c0;
    const PackedA<int8_t>& A = pw->A[size_t(c)][size_t(gi)];
    const int64_t ldy = A.panels * 64, co = gi * cout_g + c0;
    const int32_t* bc = base.data() + co * U;
    thread_local AlignedVector<int32_t> acc, planes;
    if (int64_t(acc.size()) < IB * ldy) acc.resize(size_t(IB * ldy));
    if (!identity && int64_t(planes.size()) < IB * nc * P) planes.resize(size_t(IB * nc * P));
    for (int64_t i0 = 0; i0 < g.n; i0 += IB) {
      const int64_t ni = std::min(IB, g.n - i0);
      for (int64_t p = 0; p < A.panels; ++p)
        hk.dense_u8s8(xs + i0 * ldx + gi * kq * 4, ldx, ni, A.data.data() + p * kq * 256, kq, acc.data() + p * 64, ldy);
      for (int64_t i = 0; i < ni; ++i) {
        int32_t* y = acc.data() + i * ldy;
        if (identity) {
          for (int64_t j = 0; j < nc * U; ++j) y[j] += bc[j];
          continue;
        }
        int32_t* d = planes.data() + i * nc * P;
        for (int64_t m = 0; m < nc; ++m)
          for (int64_t px = 0; px < P; ++px) {
            const int64_t u = tap[size_t(px)];
            d[m * P + px] = u >= 0 ? y[m * U + u] + bc[m * U + u] : bias32[size_t(co + m)];
          }
      }
      if (identity) emit(i0, ni, co, nc, static_cast<const int32_t*>(acc.data()), ldy);
      else emit(i0, ni, co, nc, static_cast<const int32_t*>(planes.data()), nc * P);
    }
  });
}

}  // namespace

void conv_accumulate_flex(const TensorView& x, const TensorView& w, const int64_t* bias, const Geom& g,
                          const FlexTaskHook& hook) {
  // int16 x low digit [0, 255]: |pair sum| <= 2 * 2^15 * 255, 128 pairs < 2^31; high digit: smaller.
  conv_packed<GemmS16, 2, int64_t>(x, w, g, 0, 0, 0, bias, static_cast<int64_t*>(nullptr), hook, 0, 256);
}

void conv_accumulate_i64(const TensorView& x, int32_t x_zero_point, const TensorView& w, const int64_t* bias,
                         const Geom& g, int64_t* out) {
  const ConvOperands ops{x, w, x_zero_point, bias};
  if (g.p.transposed) run_transposed<int32_t, int64_t>(ops, g, out, hot().gemm_s32_s64);
  else run_direct<int32_t, int64_t>(ops, g, out, hot().gemm_s32_s64);
}

// Whether a transposed convolution on the int8 path runs by phases (convt_path(); automatic: see
// docs/design.md for the measurements behind it).
// Taps per phase when every phase of a transposed convolution has the same number, else 0.
static int64_t uniform_phase_taps(const Geom& g) {
  auto per_phase = [](int64_t k, int64_t d, int64_t s, int64_t r) {
    int64_t n = 0;
    for (int64_t i = 0; i < k; ++i) n += (i * d) % s == r;
    return n;
  };
  const int64_t t = per_phase(g.kh, g.p.dil_h, g.p.stride_h, 0) * per_phase(g.kw, g.p.dil_w, g.p.stride_w, 0);
  for (int64_t ry = 0; ry < g.p.stride_h; ++ry)
    for (int64_t rx = 0; rx < g.p.stride_w; ++rx)
      if (per_phase(g.kh, g.p.dil_h, g.p.stride_h, ry) * per_phase(g.kw, g.p.dil_w, g.p.stride_w, rx) != t) return 0;
  return t;
}

// Automatic: phases where benchmarks/bench_convt.py and bench_kernels.py measured them faster
// (docs/design.md): every phase with the same number of taps, at least 4 (one packed GEMM whose
// reduction is >= 4x the col2im GEMM's; 1-tap phases, as kernel = stride, gain no reduction
// length), few input channels per group, at most 128 with AMX tiles (64-byte k-groups: the col2im
// GEMM then runs <= 2 tile steps per C tile) and 64 otherwise (with more, the col2im GEMM's
// reduction is long enough already: within the noise or slower), at least 16 output channels per
// group (fewer leave most rows of the micro-kernel tiles empty, while the col2im GEMM has taps x
// channels rows), on ISAs whose u8 x s8 k-groups are 4 bytes (the phases' B is copied as whole
// channel quads; AVX2's pairs are gathered byte by byte). 1x1 inputs (a generator's first layer)
// take phases at any channel count: on Zen 4 (AVX-512), DCGAN-64's 100x1x1 layer ran 1.19-1.85x
// faster than col2im at batch 1 in four interleaved runs (docs/performance.md). On AVX-512 also 256
// or more input channels per group: pix2pix's 1024x4x4, 1024x8x8, 1024x16x16 and 512x32x32 layers
// in the runtime (conv_requant, Zen 4, 2 threads, medians of 20) 0.84, 1.59, 2.90 and 3.00 ms by
// phases against col2im's 0.98, 2.27, 3.29 and 3.12; conv_int at batch 8: 1024x8x8 1.26x, 512x4x4
// 1.08x (the implicit GEMM, where it applies, comes first).
static bool use_phase(const Geom& g, const HotKernels& hk) {
  switch (convt_path()) {
    case ConvtPath::phase: return true;
    case ConvtPath::col2im: return false;
    default:
      return (g.cin_g() <= (tile_of(GemmU8S8{}, hk).kga() >= 64 ? 128 : 64) || (g.h == 1 && g.w == 1) ||
              (active_isa() == Isa::avx512 && g.cin_g() >= 256)) &&
             g.cout_g() >= 16 && tile_of(GemmU8S8{}, hk).kg == 4 && uniform_phase_taps(g) >= 4;
  }
}

// Whether the int8 path runs g as an implicit GEMM (conv_implicit), on ISAs with the kernel: conv2d
// by implicit_ok; a transposed conv when convt_path() is `implicit`, or `auto` (or `dense`, where
// conv_dense does not run) and implicit_convt_auto says so.
static bool implicit_run(const Geom& g, const HotKernels& hk) {
  if (g.p.transposed) {
    const ConvtPath p = convt_path();  // `dense` on a geometry conv_dense does not take: as automatic
    const bool automatic = p == ConvtPath::automatic || p == ConvtPath::dense;
    if (p != ConvtPath::implicit && !(automatic && implicit_convt_auto(g))) return false;
  }
  return implicit_ok(g, hk);
}

// Whether the int8 path runs g by conv_dense: a transposed conv of 1x1 inputs on ISAs with the kernel,
// when convt_path() is `dense` or `auto`.
static bool dense_run(const Geom& g, const HotKernels& hk) {
  const ConvtPath p = convt_path();
  return (p == ConvtPath::dense || p == ConvtPath::automatic) && dense_ok(g, hk);
}

// The u8 x s8 path (B = x - qmin in [0, 255]) is exact in int32 by the plan's bound; on kernels that
// sum in int16 first (vpmaddubsw) no pair sum, nor `flush` of them, may exceed int16 either.
struct U8Path {
  bool ok;
  int64_t flush;
  bool range_ok;  // B in [0, 255] and weights in [-128, 128]: kernels that sum in int32 straight (dense)
};

// The bias (int32 or int64 codes) widened to int64, empty when there is none.
static std::vector<int64_t> bias_i64(const TensorView& bias) {
  std::vector<int64_t> out;
  if (bias.data)
    for (int64_t i = 0; i < bias.shape[0]; ++i)
      out.push_back(bias.dtype == DType::i32 ? static_cast<const int32_t*>(bias.data)[i]
                                             : static_cast<const int64_t*>(bias.data)[i]);
  return out;
}

// Validation of the requantization parameters before any accumulator exists (an empty view).
static void validate_requant(const RequantArgs& r, void* out) {
  RequantArgs v = r;
  v.acc.shape[0] = 0;
  requantize(v, out);
}

static U8Path u8_path(const QConvArgs& a, const HotKernels& hk) {
  const int64_t umax = int64_t(a.x_fmt.qmax()) - a.x_fmt.qmin();
  const int64_t wmax = max_abs_code(a.w_kind, a.w_bits);
  const int64_t pair_max = 2 * umax * wmax;
  const int64_t flush = pair_max > 0 ? 32767 / pair_max : 1 << 20;
  return {umax <= 255 && wmax <= 128 && (!hk.u8s8_int16_sums || flush >= 2), flush, umax <= 255 && wmax <= 128};
}

void qconv_requant_run(const QConvPlan& plan, const RequantArgs& rq, void* out) {
  if (!out) fail("output pointer is null");
  const QConvArgs& a = plan.args;
  const Geom& g = plan.g;
  const int64_t P = g.oh * g.ow;
  RequantArgs r = rq;  // requantize() validates every parameter once, on an empty accumulator view
  r.acc = TensorView{};
  r.acc.dtype = plan.acc_bits == 32 ? DType::i32 : DType::i64;
  r.acc.ndim = 4;
  const int64_t shape[4] = {g.n, g.cout, g.oh, g.ow};
  std::copy(shape, shape + 4, r.acc.shape);
  const HotKernels& hk = hot();
  const U8Path u8 = u8_path(a, hk);
  const int64_t flush = u8.flush;
  const bool u8ok = u8.ok;
  const bool per_channel = rq.mode == RequantMode::integer
                               ? rq.m0.shape[0] == g.cout
                               : (rq.mult_f32.shape[0] == g.cout || rq.bias_f32.shape[0] == g.cout ||
                                  (rq.bias_mul_f32.data && rq.bias_mul_f32.shape[0] == g.cout));
  const int64_t corr_u8 = ACCELSIM_MUTANT(8) ? int64_t(a.x_fmt.qmin()) + a.x_zero_point
                                             : int64_t(a.x_fmt.qmin()) - a.x_zero_point;
  // The switch is checked on every transposed conv, not only where the phase path could run (AVX2's
  // int16-sum kernels never reach use_phase): a bad ACCELSIM_CONVT fails on every ISA.
  if (g.p.transposed) (void)convt_path();
  // The fused epilogues (dense, implicit, im2col conv2d) requantize rows of sums straight into the
  // output codes (o) with the row kernel: every channel's parameters (requant_row_params, after the
  // requantization is validated), the bias widened, the codes' dtype; ok false when some channel's
  // mode the row kernel does not take (negative shift, lookup table, torch mode: those requantize
  // after the conv).
  struct Fused {
    bool ok = true;
    std::vector<RequantRow> rows;
    std::vector<int64_t> bias;
    DType od = DType::i8;
    int64_t osize = 1;
    const int64_t* bias_ptr() const { return bias.empty() ? nullptr : bias.data(); }
  };
  auto fused_epilogue = [&] {
    validate_requant(r, out);
    Fused f;
    f.rows.resize(size_t(g.cout));
    for (int64_t c = 0; c < g.cout && f.ok; ++c) f.ok = requant_row_params(r, c, &f.rows[size_t(c)]);
    if (f.ok) f.bias = bias_i64(a.bias), f.od = container_dtype(rq.out_fmt), f.osize = int64_t(dtype_size(f.od));
    return f;
  };
  char* const o = static_cast<char*>(out);
  // dense (1x1 inputs) and implicit: requantized in their tasks when the row kernel applies, else
  // after them (the scratch path below, through qconv_run: the same path)
  const bool dense = plan.acc_bits == 32 && u8.range_ok && a.w.dtype == DType::i8 && dense_run(g, hk);
  if (dense) {
    const Fused f = fused_epilogue();
    if (f.ok) {
      g_last_convt.store(5);
      const DType od = f.od;
      const int64_t osize = f.osize;
      conv_dense(a.x, a.w, g, a.x_fmt.qmin(), corr_u8, f.bias_ptr(),
                 [&](int64_t img, int64_t ni, int64_t co, int64_t nc, const int32_t* planes, int64_t ld) {
                   // a row kernel call per image and channel (gathering a channel's planes of all ni
                   // images into one call was slower at batch 64: 0.50 against 0.32 ms, Zen 4)
                   for (int64_t i = 0; i < ni; ++i)
                     for (int64_t m = 0; m < nc; ++m)
                       requant_row_run(f.rows[size_t(co + m)], planes + i * ld + m * P, P, od,
                                       o + (((img + i) * g.cout + co + m) * P) * osize);
                 });
      return;
    }
  }
  const bool implicit = !dense && plan.acc_bits == 32 && u8ok && a.w.dtype == DType::i8 && implicit_run(g, hk);
  if (implicit) {
    const Fused f = fused_epilogue();
    if (f.ok) {  // each task requantizes its accumulators' rows straight into the output codes
      if (g.p.transposed) g_last_convt.store(4);
      else g_last_conv2d.store(1);
      const DType od = f.od;
      const int64_t osize = f.osize;
      conv_implicit(a.x, a.w, g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr_u8,
                    f.bias_ptr(),
                    [&](int64_t img, int64_t ni, int64_t co, int64_t nc, const ImplicitGrid& gr, int64_t qa, int64_t qb,
                        int32_t* row, int64_t ldr) {
                      // whole rows (32-column multiples: full vectors) into codes, then out
                      const int64_t n = ni ? qb * g.ow * 32 : (qb - qa + 31) / 32 * 32;
                      thread_local std::vector<char> codes;
                      if (int64_t(codes.size()) < nc * n * osize) codes.resize(size_t(nc * n * osize));
                      for (int64_t m = 0; m < nc; ++m)
                        requant_row_run(f.rows[size_t(co + m)], row + m * ldr, n, od, codes.data() + m * n * osize);
                      if (ni) {  // batched: codes[m][t 32 + j] of pixel qa ow + t of image img + j
                        const int64_t plane = g.oh * g.ow * osize, npx = qb * g.ow;
                        const char* const cb = codes.data();  // (char stores may alias the vector's pointer)
                        for (int64_t m = 0; m < nc; ++m) {  // channel by channel: its codes stay in L1
                          char* const d0 = o + (img * g.cout + co + m) * plane + qa * g.ow * osize;
                          if (osize == 1)
                            transpose_to<uint8_t>(reinterpret_cast<const uint8_t*>(cb + m * n), 32, npx, ni, 0,
                                                  [&](int64_t j) { return reinterpret_cast<uint8_t*>(d0 + j * g.cout * plane); });
                          else
                            transpose_to<uint16_t>(reinterpret_cast<const uint16_t*>(cb + m * n * 2), 32, npx, ni, 0,
                                                   [&](int64_t j) { return reinterpret_cast<uint16_t*>(d0 + j * g.cout * plane); });
                        }
                        return;
                      }
                      char* plane = o + (img * g.cout + co) * g.oh * g.ow * osize;
                      implicit_runs(gr, qa, qb, [&](int64_t oy, int64_t ox, int64_t m, int64_t j) {
                        char* d = plane + (oy * g.ow + ox) * osize;
                        if (gr.sx == 1) std::memcpy(d, codes.data() + j * osize, size_t(m * osize));
                        else  // a transposed conv's phase: every sx-th code of the row
                          hk.store_strided_codes(codes.data() + j * osize, m, osize, d, gr.sx);
                      });
                    });
      return;
    }
  }
  if (!dense && !implicit && plan.acc_bits == 32 && u8ok && g.p.transposed && a.w.dtype == DType::i8 &&
      use_phase(g, hk)) {
    validate_requant(r, out);
    const std::vector<int64_t> bias64 = bias_i64(a.bias);
    // Chunks of images: accumulators of a chunk (<= 4 MiB, at least one image) in the calling
    // thread's scratch, then requantized while they are still in cache.
    const int64_t per_img = g.cout * P, osize = int64_t(dtype_size(container_dtype(rq.out_fmt)));
    const int64_t chunk = std::min(g.n, std::max<int64_t>(1, (int64_t(4) << 20) / (4 * per_img)));
    thread_local std::vector<int32_t> acc;
    if (int64_t(acc.size()) < chunk * per_img) acc.resize(size_t(chunk * per_img));
    const int64_t x_img = g.cin * g.h * g.w * int64_t(dtype_size(a.x.dtype));
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t nn = std::min(chunk, g.n - n0);
      Geom gc = g;
      gc.n = nn;
      TensorView xc = a.x;
      xc.shape[0] = nn;
      xc.data = static_cast<const char*>(a.x.data) + n0 * x_img;
      convt_phase(xc, a.w, gc, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr_u8,
                  bias64.empty() ? nullptr : bias64.data(), acc.data(), flush);
      RequantArgs t = r;
      t.acc.data = acc.data();
      t.acc.shape[0] = nn;
      requantize(t, static_cast<char*>(out) + n0 * per_img * osize);
    }
    if (acc.size() * 4 > (size_t(64) << 20)) std::vector<int32_t>().swap(acc);
    g_last_convt.store(1);
    return;
  }
  if (!dense && !implicit && plan.acc_bits == 32 && u8ok && g.p.transposed && a.w.dtype == DType::i8) {
    g_last_convt.store(2);
    validate_requant(r, out);
    const std::vector<int64_t> bias64 = bias_i64(a.bias);
    const int64_t corr = corr_u8;
    const size_t osize = dtype_size(container_dtype(rq.out_fmt));
    // Each task's accumulators [image][channel co0..co0+nco][P], requantized into its output planes.
    auto hook = [&](const int32_t* acc, int64_t co0, int64_t nco, int64_t img0, int64_t nimg) {
      RequantArgs t = r;
      t.acc.data = nullptr;
      t.acc.ndim = 3;
      t.acc.shape[0] = 1, t.acc.shape[1] = nco, t.acc.shape[2] = P;
      if (per_channel) {  // the task's channels' parameters
        auto slice = [&](TensorView& v, size_t esize) {
          v.data = static_cast<const char*>(v.data) + co0 * int64_t(esize);
          v.shape[0] = nco;
        };
        if (rq.mode == RequantMode::integer) slice(t.m0, 4), slice(t.shift, 4);
        else  // torch mode: each of its tensors has 1 or cout entries, independently
          for (TensorView* v : {&t.bias_f32, &t.mult_f32, &t.bias_mul_f32})
            if (v->data && v->shape[0] == g.cout) slice(*v, 4);
      }
      for (int64_t i = 0; i < nimg; ++i) {
        t.acc.data = acc + i * nco * P;
        requantize(t, static_cast<char*>(out) + ((img0 + i) * g.cout + co0) * P * int64_t(osize));
      }
    };
    conv_packed<GemmU8S8, 1, int32_t>(a.x, a.w, g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr,
                                      bias64.empty() ? nullptr : bias64.data(), static_cast<int32_t*>(nullptr), hook,
                                      flush, 0);
    return;
  }
  // conv2d on the packed GEMM (fewer than 32 input or 16 output channels per group; every conv2d on
  // ISAs without the implicit kernel): each C block requantized as the GEMM makes it (RowSink), while
  // it is in cache, straight into the output codes; no accumulator tensor. CycleGAN's 7x7 3->64 conv
  // had written and re-read 16 MiB of int32 sums.
  if (!g.p.transposed && !implicit && plan.acc_bits == 32 && u8ok && a.w.dtype == DType::i8 &&
      !direct_small_ok(g, hk)) {
    const Fused f = fused_epilogue();
    if (f.ok) {
      g_last_conv2d.store(2);
      const DType od = f.od;
      const int64_t osize = f.osize;
      auto emit = [&](int64_t co, int64_t img, int64_t p, const int32_t* sums, int64_t n) {
        requant_row_run(f.rows[size_t(co)], sums, n, od, o + ((img * g.cout + co) * P + p) * osize);
      };
      conv_packed<GemmU8S8, 1, int32_t>(a.x, a.w, g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr_u8,
                                        f.bias_ptr(), static_cast<int32_t*>(nullptr),
                                        NoHook{}, flush, 0, &emit);
      return;
    }
  }
  // Other paths: the accumulators into the calling thread's scratch (kept up to 64 MiB), then requantize.
  thread_local std::vector<int64_t> scratch;
  const int64_t bytes = g.out_numel() * (plan.acc_bits == 32 ? 4 : 8);
  if (int64_t(scratch.size()) * 8 < bytes) scratch.resize(size_t((bytes + 7) / 8));
  qconv_run(plan, scratch.data());
  r.acc.data = scratch.data();
  requantize(r, out);
  if (scratch.size() * 8 > (size_t(64) << 20)) std::vector<int64_t>().swap(scratch);
}

void qconv_run(const QConvPlan& plan, void* out) {
  if (!out) fail("output pointer is null");
  const QConvArgs& a = plan.args;
  const std::vector<int64_t> bias64 = bias_i64(a.bias);
  const ConvOperands ops{a.x, a.w, a.x_zero_point, bias64.empty() ? nullptr : bias64.data()};
  const bool fits16 = a.x_fmt.bits <= 15;  // x - z_x fits int16; weight codes always do
  const HotKernels& hk = hot();
  const U8Path u8 = u8_path(a, hk);
  const int64_t flush = u8.flush;
  const bool u8ok = u8.ok;
  // correction (qmin - z_x) * sum w of the u8 x s8 paths (mutant 8: the zero point's sign flipped)
  const int64_t corr = ACCELSIM_MUTANT(8) ? int64_t(a.x_fmt.qmin()) + a.x_zero_point
                                          : int64_t(a.x_fmt.qmin()) - a.x_zero_point;
  const bool tr = plan.g.p.transposed;
  if (tr) (void)convt_path();  // a bad ACCELSIM_CONVT fails on every ISA (see qconv_requant_run)
  const bool dense = plan.acc_bits == 32 && u8.range_ok && a.w.dtype == DType::i8 && dense_run(plan.g, hk);
  const bool implicit = !dense && plan.acc_bits == 32 && u8ok && a.w.dtype == DType::i8 && implicit_run(plan.g, hk);
  if (tr) g_last_convt.store(dense ? 5 : implicit ? 4 : plan.acc_bits == 32 && u8ok ? 2 : 3);
  else g_last_conv2d.store(implicit ? 1 : plan.acc_bits == 32 && (u8ok || fits16) ? 2 : 3);
  if (dense) {
    const int64_t P = plan.g.oh * plan.g.ow, cout = plan.g.cout;
    int32_t* o = static_cast<int32_t*>(out);
    conv_dense(a.x, a.w, plan.g, a.x_fmt.qmin(), corr, ops.bias,
               [&](int64_t img, int64_t ni, int64_t co, int64_t nc, const int32_t* planes, int64_t ld) {
                 for (int64_t i = 0; i < ni; ++i)
                   std::memcpy(o + ((img + i) * cout + co) * P, planes + i * ld, size_t(nc * P) * 4);
               });
  } else if (implicit) {
    const Geom& g = plan.g;
    int32_t* o = static_cast<int32_t*>(out);
    conv_implicit(a.x, a.w, g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr, ops.bias,
                  [&](int64_t img, int64_t ni, int64_t co, int64_t nc, const ImplicitGrid& gr, int64_t qa, int64_t qb,
                      int32_t* row, int64_t ldr) {
                    const int64_t plane = g.oh * g.ow;
                    if (ni) {  // batched: channel co + m's sum of pixel qa ow + t of image img + j at row[m ldr + t 32 + j]
                      for (int64_t m = 0; m < nc; ++m)
                        for (int64_t j = 0; j < ni; ++j) {
                          int32_t* d = o + ((img + j) * g.cout + co + m) * plane + qa * g.ow;
                          for (int64_t t = 0; t < qb * g.ow; ++t) d[t] = row[m * ldr + t * 32 + j];
                        }
                      return;
                    }
                    int32_t* d = o + (img * g.cout + co) * plane;
                    implicit_runs(gr, qa, qb, [&](int64_t oy, int64_t ox, int64_t n, int64_t j) {
                      hk.store_strided_s32(row + j, n, 0, d + oy * g.ow + ox, gr.sx);
                    });
                  });
  } else if (plan.acc_bits == 32 && u8ok && a.w.dtype == DType::i8 && tr && use_phase(plan.g, hk)) {
    convt_phase(a.x, a.w, plan.g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(), corr, ops.bias,
                static_cast<int32_t*>(out), flush);
    g_last_convt.store(1);
  } else if (plan.acc_bits == 32 && u8ok && a.w.dtype == DType::i8 && direct_small_ok(plan.g, hk)) {
    conv_direct_small(a.x, a.w, plan.g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(),
                      corr, ops.bias, static_cast<int32_t*>(out), hk);
  } else if (plan.acc_bits == 32 && u8ok) {  // B = x - qmin, correction (qmin - z_x) * sum w
    conv_packed<GemmU8S8, 1, int32_t>(a.x, a.w, plan.g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(),
                                      corr, ops.bias, static_cast<int32_t*>(out),
                                      NoHook{}, flush, 0);
  } else if (plan.acc_bits == 32 && fits16) {  // B = x - z_x
    conv_packed<GemmS16, 1, int32_t>(a.x, a.w, plan.g, a.x_zero_point, 0, 0, ops.bias, static_cast<int32_t*>(out),
                                     NoHook{}, 0, 0);
  } else if (plan.acc_bits == 32) {
    // 16-bit activations whose sums provably fit int32: accumulate in int64, narrow exactly.
    std::vector<int64_t> tmp(size_t(plan.g.out_numel()));
    conv_accumulate_i64(a.x, a.x_zero_point, a.w, ops.bias, plan.g, tmp.data());
    auto* o = static_cast<int32_t*>(out);
    for (size_t i = 0; i < tmp.size(); ++i) o[i] = int32_t(tmp[i]);
  } else {
    conv_accumulate_i64(a.x, a.x_zero_point, a.w, ops.bias, plan.g, static_cast<int64_t*>(out));
  }
}

}  // namespace accelsim
