// Binary weights x binary activations: XNOR-popcount convolution (gather form).
// Signs are packed along input channels (bit = 1 for +1); for one output pixel and one valid tap,
// sum_ci x*w = cin_g - 2*popcount(x_bits xor w_bits) (pad bits are 0 in both, so they cancel).
// Taps outside the input (padding, transposed-conv gaps) are skipped: they contribute nothing.
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
  // x packed as [n][g][iy][ix][words]: gather channels of one pixel into a row, then pack.
  std::vector<uint64_t> xp(size_t(g.n * G * g.h * g.w * words));
  parallel_for(g.n * G, [&](int64_t job) {
    const int64_t n = job / G, gi = job % G, P = g.h * g.w;
    std::vector<int8_t> row(static_cast<size_t>(cin_g));
    for (int64_t p = 0; p < P; ++p) {
      for (int64_t c = 0; c < cin_g; ++c) row[size_t(c)] = x[((n * g.cin + gi * cin_g + c) * P) + p];
      pack_signs(row.data(), 1, cin_g, &xp[size_t(((n * G + gi) * P + p) * words)]);
    }
  });
  // w packed as [co (global)][tap][words], channels of the co's group.
  std::vector<uint64_t> wp(size_t(g.cout * T * words));
  {
    std::vector<int8_t> row(static_cast<size_t>(cin_g));
    for (int64_t co = 0; co < g.cout; ++co) {
      const int64_t gi = co / cout_g, cl = co % cout_g;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t c = 0; c < cin_g; ++c) {
          row[size_t(c)] = g.p.transposed ? w[((gi * cin_g + c) * cout_g + cl) * T + t]  // w[ci][co][ky][kx]
                                          : w[(co * cin_g + c) * T + t];               // w[co][ci][ky][kx]
        }
        pack_signs(row.data(), 1, cin_g, &wp[size_t((co * T + t) * words)]);
      }
    }
  }
  const int32_t* bias = static_cast<const int32_t*>(a.bias.data);
  const HotKernels& hk = hot();
  const int64_t plane = g.oh * g.ow;
  parallel_for(g.n * G * g.oh, [&](int64_t job) {
    const int64_t oy = job % g.oh, gi = (job / g.oh) % G, n = job / (g.oh * G);
    std::vector<const uint64_t*> rows(static_cast<size_t>(T));
    std::vector<int64_t> woff(static_cast<size_t>(T)), popc(static_cast<size_t>(cout_g));
    const uint64_t* xbase = &xp[size_t((n * G + gi) * g.h * g.w * words)];
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      int64_t nt = 0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        int64_t iy;
        if (g.p.transposed) {
          const int64_t ty = oy + g.p.pad_h - ky * g.p.dil_h;
          if (ty < 0 || ty % g.p.stride_h) continue;
          iy = ty / g.p.stride_h;
        } else {
          iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dil_h;
        }
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          int64_t ix;
          if (g.p.transposed) {
            const int64_t tx = ox + g.p.pad_w - kx * g.p.dil_w;
            if (tx < 0 || tx % g.p.stride_w) continue;
            ix = tx / g.p.stride_w;
          } else {
            ix = ox * g.p.stride_w - g.p.pad_w + kx * g.p.dil_w;
          }
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
