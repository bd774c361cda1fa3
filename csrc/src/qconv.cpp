// Integer convolution (fixed point, ternary, binary weights): exact accumulators.
//
// conv_transpose2d is computed as GEMM + col2im (zero-free: only effectual products):
//   cols[(co, ky, kx), p] = sum_ci w[ci, co, ky, kx] * (x[ci, p] - z_x)     (GEMM, per image+group)
//   acc[co, iy*s - pad + ky*d, ix*s - pad + kx*d] += cols[(co, ky, kx), (iy, ix)]   (col2im)
// conv2d as im2col + GEMM. Padded taps hold x - z_x = 0 (real zero), so they contribute nothing.
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "packed_gemm.hpp"
#include "validate.hpp"

namespace accelsim {

static int64_t max_abs_code(WeightKind k, int bits) {
  switch (k) {
    case WeightKind::ternary:
    case WeightKind::binary: return 1;
    default: return int64_t(1) << (bits - 1);
  }
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
  check_codes(a.w, wlo, whi, "w");
  if (a.w_kind == WeightKind::binary) check_no_zero(a.w, "w (binary weights must be -1 or +1)");
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

// Convolution through the packed GEMM, for any GEMM kind: B = x - offset (padded taps = pad_value),
// acc = bias + sum B*w + corr_factor * sum_k w (the zero-point correction of the u8 path).
// TOut = int32 (integer kinds) or int64 (fp64 kind: its sums are exact integers below 2^53).
template <class Kind, class TOut>
void conv_packed(const TensorView& x, const TensorView& w, const Geom& g, int32_t offset, int32_t pad_value,
                 int64_t corr_factor, const int64_t* bias, TOut* out, int64_t flush) {
  using TA = typename Kind::TA;
  using TB = typename Kind::TB;
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const bool tr = g.p.transposed;
  const int64_t M = tr ? cout_g * T : cout_g, K = tr ? cin_g : cin_g * T;
  const int64_t P_in = g.h * g.w, P_out = g.oh * g.ow;
  std::vector<PackedA<TA, Kind::KG>> A;
  std::vector<int64_t> corr(size_t(G * M), 0);
  for (int64_t gi = 0; gi < G; ++gi) {
    auto get = [&](int64_t m, int64_t k) {
      return tr ? code_at(w, (gi * cin_g + k) * M + m) : code_at(w, (gi * cout_g + m) * K + k);
    };
    A.push_back(pack_a<TA, Kind::KG>(M, K, get));
    if (corr_factor)
      for (int64_t m = 0; m < M; ++m) {
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k) s += get(m, k);
        corr[size_t(gi * M + m)] = corr_factor * s;
      }
  }
  GemmShape shape{G, M, K, g.n, tr ? P_in : P_out, tr ? T : 1};
  // The input once, offset and narrowed: xs = x - offset as TB (exact by the plan's ranges).
  std::vector<TB> xs(size_t(x.numel()));
  parallel_for((x.numel() + 65535) / 65536, [&](int64_t blk) {
    const int64_t i0 = blk * 65536, i1 = std::min<int64_t>(x.numel(), i0 + 65536);
    switch (x.dtype) {
      case DType::i8: for (int64_t i = i0; i < i1; ++i) xs[size_t(i)] = TB(static_cast<const int8_t*>(x.data)[i] - offset); break;
      case DType::u8: for (int64_t i = i0; i < i1; ++i) xs[size_t(i)] = TB(static_cast<const uint8_t*>(x.data)[i] - offset); break;
      case DType::i16: for (int64_t i = i0; i < i1; ++i) xs[size_t(i)] = TB(static_cast<const int16_t*>(x.data)[i] - offset); break;
      default: for (int64_t i = i0; i < i1; ++i) xs[size_t(i)] = TB(code_at(x, i) - offset); break;
    }
  });
  const TB pad = TB(pad_value);
  auto row = [&](int64_t gi, int64_t k, int64_t c0, int64_t nb, TB* dst) {
    if (tr) {
      for (int64_t j = 0; j < nb;) {  // contiguous runs within one image
        const int64_t c = c0 + j, img = c / P_in, p = c % P_in, run = std::min(nb - j, P_in - p);
        std::memcpy(dst + j, &xs[size_t((img * g.cin + gi * cin_g + k) * P_in + p)], size_t(run) * sizeof(TB));
        j += run;
      }
    } else {
      const int64_t ci = k / T, ky = (k / g.kw) % g.kh, kx = k % g.kw;
      int64_t img = c0 / P_out, p = c0 % P_out, oy = p / g.ow, ox = p % g.ow;
      for (int64_t j = 0; j < nb; ++j) {
        const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
        const int64_t ix = ox * g.p.stride_w - g.p.pad_w + kx * g.p.dil_w;
        dst[j] = (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) ? pad
                                                               : xs[size_t(((img * g.cin + gi * cin_g + ci) * g.h + iy) * g.w + ix)];
        if (++ox == g.ow) {
          ox = 0;
          if (++oy == g.oh) { oy = 0; ++img; }
        }
      }
    }
  };
  if (tr) {
    parallel_for(g.n * g.cout, [&](int64_t i) {
      const TOut b = bias ? TOut(bias[i % g.cout]) : TOut(0);
      std::fill(out + i * P_out, out + (i + 1) * P_out, b);
    });
  }
  using TC = typename Kind::TC;
  auto consume = [&](int64_t gi, int64_t m0, int64_t mc, int64_t n0, int64_t nb, const TC* C, int64_t ldc) {
    if (tr) {  // col2im: per column its image base offset and its (oy, ox) before the tap offset
      const size_t nbs = static_cast<size_t>(nb);
      std::vector<int64_t> cbase(nbs), by(nbs), bx(nbs);
      for (int64_t j = 0; j < nb; ++j) {
        const int64_t c = n0 + j, p = c % P_in;
        by[size_t(j)] = (p / g.w) * g.p.stride_h - g.p.pad_h;
        bx[size_t(j)] = (p % g.w) * g.p.stride_w - g.p.pad_w;
        cbase[size_t(j)] = (c / P_in) * g.cout * P_out + by[size_t(j)] * g.ow + bx[size_t(j)];
      }
      for (int64_t r = 0; r < mc; ++r) {
        const int64_t m = m0 + r, co = gi * cout_g + m / T, ky = (m / g.kw) % g.kh, kx = m % g.kw;
        const int64_t dy = ky * g.p.dil_h, dx = kx * g.p.dil_w, roff = co * P_out + dy * g.ow + dx;
        const TOut cr = TOut(corr[size_t(gi * M + m)]);
        const TC* crow = C + r * ldc;
        for (int64_t j = 0; j < nb; ++j) {
          if (uint64_t(by[size_t(j)] + dy) >= uint64_t(g.oh) || uint64_t(bx[size_t(j)] + dx) >= uint64_t(g.ow)) continue;
          out[cbase[size_t(j)] + roff] += TOut(crow[j]) + cr;
        }
      }
    } else {
      for (int64_t r = 0; r < mc; ++r) {
        const int64_t m = m0 + r, co = gi * cout_g + m;
        const TOut add = TOut((bias ? bias[co] : 0) + corr[size_t(gi * M + m)]);
        const TC* crow = C + r * ldc;
        for (int64_t j = 0; j < nb;) {
          const int64_t c = n0 + j, im = c / P_out, p = c % P_out, run = std::min(nb - j, P_out - p);
          TOut* o = out + (im * g.cout + co) * P_out + p;
          for (int64_t t = 0; t < run; ++t) o[t] = TOut(crow[j + t]) + add;
          j += run;
        }
      }
    }
  };
  packed_gemm<Kind>(shape, A, row, consume, flush);
}

}  // namespace

void conv_accumulate_f64(const TensorView& x, const TensorView& w, const int64_t* bias, const Geom& g, int64_t* out) {
  conv_packed<GemmF64, int64_t>(x, w, g, 0, 0, 0, bias, out, 0);
}

namespace {

}  // namespace

void conv_accumulate_i64(const TensorView& x, int32_t x_zero_point, const TensorView& w, const int64_t* bias,
                         const Geom& g, int64_t* out) {
  const ConvOperands ops{x, w, x_zero_point, bias};
  if (g.p.transposed) run_transposed<int32_t, int64_t>(ops, g, out, hot().gemm_s32_s64);
  else run_direct<int32_t, int64_t>(ops, g, out, hot().gemm_s32_s64);
}

void qconv_run(const QConvPlan& plan, void* out) {
  if (!out) fail("output pointer is null");
  const QConvArgs& a = plan.args;
  std::vector<int64_t> bias64;
  if (a.bias.data) {
    for (int64_t i = 0; i < a.bias.shape[0]; ++i)
      bias64.push_back(a.bias.dtype == DType::i32 ? static_cast<const int32_t*>(a.bias.data)[i]
                                                  : static_cast<const int64_t*>(a.bias.data)[i]);
  }
  const ConvOperands ops{a.x, a.w, a.x_zero_point, bias64.empty() ? nullptr : bias64.data()};
  const bool fits16 = a.x_fmt.bits <= 15;  // x - z_x fits int16; weight codes always do
  // u8 x s8 pairs (vpmaddubsw) are exact when no pair sum, nor `flush` of them, exceeds int16.
  const int64_t umax = int64_t(a.x_fmt.qmax()) - a.x_fmt.qmin();
  const int64_t wmax = max_abs_code(a.w_kind, a.w_bits);
  const int64_t pair_max = 2 * umax * wmax;
  const int64_t flush = pair_max > 0 ? 32767 / pair_max : 1 << 20;
  const bool u8ok = umax <= 255 && wmax <= 128 && flush >= 2;
  if (plan.acc_bits == 32 && u8ok) {  // B = x - qmin, correction (qmin - z_x) * sum w
    conv_packed<GemmU8S8, int32_t>(a.x, a.w, plan.g, a.x_fmt.qmin(), a.x_zero_point - a.x_fmt.qmin(),
                                   int64_t(a.x_fmt.qmin()) - a.x_zero_point, ops.bias, static_cast<int32_t*>(out), flush);
  } else if (plan.acc_bits == 32 && fits16) {  // B = x - z_x
    conv_packed<GemmS16, int32_t>(a.x, a.w, plan.g, a.x_zero_point, 0, 0, ops.bias, static_cast<int32_t*>(out), 0);
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
