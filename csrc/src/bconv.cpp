// Binary weights x binary activations: XNOR-popcount convolution (gather form).
// Signs are packed along input channels (bit = 1 for +1); for one output pixel and one valid tap,
// sum_ci x*w = cin_g - 2*popcount(x_bits xor w_bits) (pad bits are 0 in both, so they cancel).
// Taps outside the input (padding, transposed-conv gaps) are skipped: they contribute nothing.
#include <algorithm>
#include <string>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "validate.hpp"

namespace accelsim {

void pack_signs(const int8_t* src, int64_t rows, int64_t len, uint64_t* dst) {
  const int64_t words = (len + 63) / 64;
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t* d = dst + r * words;
    for (int64_t i = 0; i < words; ++i) d[i] = 0;
    const int8_t* s = src + r * len;
    for (int64_t i = 0; i < len; ++i)
      if (s[i] > 0) d[i >> 6] |= uint64_t(1) << (i & 63);
  }
}

Geom bconv_geom(const BConvArgs& a) {
  require_tensor(a.x, "x", 4, {DType::i8});
  require_tensor(a.w, "w", 4, {DType::i8});
  Geom g = make_geom(a.x.shape, a.w.shape, a.conv);
  if (a.bias.data) {
    require_tensor(a.bias, "bias", 1, {DType::i32});
    if (a.bias.shape[0] != g.cout)
      fail("bias must have Cout=" + std::to_string(g.cout) + " entries, got " + std::to_string(a.bias.shape[0]));
  }
  if (double(g.taps()) + 2147483648.0 >= 4294967296.0) fail("binary conv reduction too long for int32");
  return g;
}

void bconv(const BConvArgs& a, int32_t* out) {
  const Geom g = bconv_geom(a);
  if (!out) fail("output pointer is null");
  check_codes(a.x, -1, 1, "x (binary activations must be -1 or +1)");
  check_no_zero(a.x, "x (binary activations must be -1 or +1)");
  check_codes(a.w, -1, 1, "w (binary weights must be -1 or +1)");
  check_no_zero(a.w, "w (binary weights must be -1 or +1)");
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t words = (cin_g + 63) / 64;
  const int8_t* x = static_cast<const int8_t*>(a.x.data);
  const int8_t* w = static_cast<const int8_t*>(a.w.data);
  // x packed as [n][g][iy][ix][words] (bit c%64 of word c/64 = channel c of the group is +1),
  // filled in source order (NCHW) so reads stream.
  const int64_t P = g.h * g.w;
  std::vector<uint64_t> xp(size_t(g.n * G * P * words), 0);
  parallel_for(g.n * G, [&](int64_t job) {
    const int64_t n = job / G, gi = job % G;
    uint64_t* dst = &xp[size_t(job * P * words)];
    for (int64_t c = 0; c < cin_g; ++c) {
      const int8_t* src = x + (n * g.cin + gi * cin_g + c) * P;
      const uint64_t bit = uint64_t(1) << (c & 63);
      uint64_t* d = dst + (c >> 6);
      for (int64_t p = 0; p < P; ++p)
        if (src[p] > 0) d[p * words] |= bit;
    }
  });
  // w packed as [co (global)][tap][words], channels of the co's group, also in source order.
  std::vector<uint64_t> wp(size_t(g.cout * T * words), 0);
  if (g.p.transposed) {  // w[ci][co_g][ky][kx]
    for (int64_t ci = 0; ci < g.cin; ++ci) {
      const int64_t gi = ci / cin_g, c = ci % cin_g;
      const uint64_t bit = uint64_t(1) << (c & 63);
      const int8_t* src = w + ci * cout_g * T;
      for (int64_t j = 0; j < cout_g * T; ++j)  // j = co_local * T + t
        if (src[j] > 0) wp[size_t(((gi * cout_g) * T + j) * words + (c >> 6))] |= bit;
    }
  } else {  // w[co][ci_g][ky][kx]
    for (int64_t co = 0; co < g.cout; ++co)
      for (int64_t c = 0; c < cin_g; ++c) {
        const uint64_t bit = uint64_t(1) << (c & 63);
        const int8_t* src = w + (co * cin_g + c) * T;
        for (int64_t t = 0; t < T; ++t)
          if (src[t] > 0) wp[size_t((co * T + t) * words + (c >> 6))] |= bit;
      }
  }
  const int32_t* bias = static_cast<const int32_t*>(a.bias.data);
  const HotKernels& hk = hot();
  const int64_t plane = g.oh * g.ow;
  if (g.p.transposed) {
    // Scatter form: popc[(co, tap), p] over the group's channels (binary GEMM), then col2im of
    // cin_g - 2*popc into the outputs the taps land on (taps landing outside are dropped).
    const int64_t M = cout_g * T;
    parallel_for(g.n * g.cout, [&](int64_t i) {
      const int32_t b = bias ? bias[i % g.cout] : 0;
      std::fill(out + i * plane, out + (i + 1) * plane, b);
    });
    parallel_for(g.n * G, [&](int64_t job) {
      const int64_t n = job / G, gi = job % G;
      const int64_t PB = std::max<int64_t>(4, std::min<int64_t>(P, 16384 / std::max<int64_t>(M, 1)));
      std::vector<int32_t> popc(static_cast<size_t>(M * PB));
      std::vector<int64_t> by(static_cast<size_t>(P)), bx(static_cast<size_t>(P));
      for (int64_t p = 0; p < P; ++p) {
        by[size_t(p)] = (p / g.w) * g.p.stride_h - g.p.pad_h;
        bx[size_t(p)] = (p % g.w) * g.p.stride_w - g.p.pad_w;
      }
      const uint64_t* xg = &xp[size_t((n * G + gi) * P * words)];
      const uint64_t* wg = &wp[size_t(gi * cout_g * T * words)];  // rows (co, tap): M x words
      for (int64_t p0 = 0; p0 < P; p0 += PB) {
        const int64_t pb = std::min(PB, P - p0);
        hk.xor_popcount_gemm(wg, xg + p0 * words, M, pb, words, popc.data(), pb);
        for (int64_t m = 0; m < M; ++m) {
          const int64_t co = gi * cout_g + m / T, ky = (m % T) / g.kw, kx = m % g.kw;
          int32_t* o = out + (n * g.cout + co) * plane;
          const int32_t* c = &popc[size_t(m * pb)];
          const int64_t dy = ky * g.p.dil_h, dx = kx * g.p.dil_w;
          for (int64_t j = 0; j < pb; ++j) {
            const int64_t oy = by[size_t(p0 + j)] + dy, ox = bx[size_t(p0 + j)] + dx;
            if (uint64_t(oy) >= uint64_t(g.oh) || uint64_t(ox) >= uint64_t(g.ow)) continue;
            o[oy * g.ow + ox] += int32_t(cin_g) - 2 * c[j];
          }
        }
      }
    });
    return;
  }
  parallel_for(g.n * G * g.oh, [&](int64_t job) {
    const int64_t oy = job % g.oh, gi = (job / g.oh) % G, n = job / (g.oh * G);
    std::vector<const uint64_t*> rows(static_cast<size_t>(T));
    std::vector<int64_t> woff(static_cast<size_t>(T)), popc(static_cast<size_t>(cout_g));
    const uint64_t* xbase = &xp[size_t((n * G + gi) * g.h * g.w * words)];
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      int64_t nt = 0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.p.stride_w - g.p.pad_w + kx * g.p.dil_w;
          if (ix < 0 || ix >= g.w) continue;
          rows[size_t(nt)] = xbase + (iy * g.w + ix) * words;
          woff[size_t(nt)] = (ky * g.kw + kx) * words;
          ++nt;
        }
      }
      const uint64_t* wg = &wp[size_t(gi * cout_g * T * words)];
      if (nt) hk.xor_popcount_rows(rows.data(), woff.data(), nt, wg, T * words, cout_g, words, popc.data());
      for (int64_t cl = 0; cl < cout_g; ++cl) {
        const int64_t co = gi * cout_g + cl;
        const int64_t dot = nt ? nt * cin_g - 2 * popc[size_t(cl)] : 0;
        out[(n * g.cout + co) * plane + oy * g.ow + ox] = int32_t(dot + (bias ? bias[co] : 0));
      }
    }
  });
}

}  // namespace accelsim
