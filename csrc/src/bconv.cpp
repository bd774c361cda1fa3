// Binary weights x binary activations: XNOR-popcount convolution (gather form).
// Signs are packed along input channels (bit = 1 for +1); for one output pixel and one valid tap,
// sum_ci x*w = cin_g - 2*popcount(x_bits xor w_bits) (pad bits are 0 in both, so they cancel).
// Taps outside the input (padding, transposed-conv gaps) are skipped: they contribute nothing.
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "conv_sinks.hpp"
#include "packed_gemm.hpp"
#include "mutants.hpp"
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
  // |acc| <= max|bias| + taps must fit int32 (the accumulators are int32): refused, never wrapped.
  int64_t bias_max = 0;
  if (a.bias.data) {
    const int32_t* b = static_cast<const int32_t*>(a.bias.data);
    for (int64_t i = 0; i < g.cout; ++i) bias_max = std::max<int64_t>(bias_max, b[i] < 0 ? -int64_t(b[i]) : b[i]);
  }
  if (bias_max + g.taps() > int64_t(INT32_MAX))
    fail("bias: max|bias| + reduction length Cin/groups*KH*KW = " + std::to_string(bias_max) + " + " +
         std::to_string(g.taps()) + " exceeds the int32 accumulator (2^31 - 1)");
  return g;
}

namespace {

// Packs the sign bits of a channel-major block (channels c < n_ch at src + c * ch_stride, pixels
// p < P contiguous) into words: bit c % 64 of dst[(c / 64) * s_word + p * s_pix] = (src > 0), in
// 64 x 64 blocks (hot.hpp pack_signs_block).
void pack_channel_signs(const HotKernels& hk, const int8_t* src, int64_t n_ch, int64_t ch_stride, int64_t P,
                        uint64_t* dst, int64_t s_word, int64_t s_pix) {
  for (int64_t c0 = 0; c0 < n_ch; c0 += 64)
    for (int64_t p0 = 0; p0 < P; p0 += 64)
      hk.pack_signs_block(src + c0 * ch_stride + p0, ch_stride, std::min<int64_t>(64, n_ch - c0),
                          std::min<int64_t>(64, P - p0), dst + (c0 / 64) * s_word + p0 * s_pix, s_pix);
}

}  // namespace

void bconv(const BConvArgs& a, int32_t* out) {
  const Geom g = bconv_geom(a);
  if (!out) fail("output pointer is null");
  check_signs(a.x, "x (binary activations must be -1 or +1)");
  check_signs(a.w, "w (binary weights must be -1 or +1)");
  const HotKernels& hk = hot();
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t words = (cin_g + 63) / 64;
  const int8_t* x = static_cast<const int8_t*>(a.x.data);
  const int8_t* w = static_cast<const int8_t*>(a.w.data);
  const int64_t P = g.h * g.w;
  const bool tr = g.p.transposed;
  // x packed per (image, group): [words][P] for the transposed GEMM (rows of B), [P][words] for the
  // direct gather (one tap = one run of words). Bit c % 64 of word c / 64: channel c of the group is +1.
  std::vector<uint64_t> xp(size_t(g.n * G * P * words));
  parallel_for(g.n * G, [&](int64_t job) {
    const int64_t n = job / G, gi = job % G;
    pack_channel_signs(hk, x + (n * g.cin + gi * cin_g) * P, cin_g, P, P, &xp[size_t(job * P * words)], tr ? P : 1,
                       tr ? 1 : words);
  });
  // w packed as [co (global)][tap][words], channels of the co's group.
  std::vector<uint64_t> wp(size_t(g.cout * T * words));
  if (tr) {  // w[ci][co_g][ky][kx]: per group, channel-major over rows j = co_local * T + tap
    parallel_for(G, [&](int64_t gi) {
      pack_channel_signs(hk, w + gi * cin_g * cout_g * T, cin_g, cout_g * T, cout_g * T,
                         &wp[size_t(gi * cout_g * T * words)], 1, words);
    });
  } else {  // w[co][ci_g][ky][kx]: per co, channel-major over taps
    parallel_for(g.cout, [&](int64_t co) {
      pack_channel_signs(hk, w + co * cin_g * T, cin_g, T, T, &wp[size_t(co * T * words)], 1, words);
    });
  }
  const int32_t* bias = static_cast<const int32_t*>(a.bias.data);
  std::vector<int64_t> bias64(bias ? bias : nullptr, bias ? bias + g.cout : nullptr);
  const int64_t plane = g.oh * g.ow;
  if (tr) {
    // popc[(co, tap), pixel] over the group's channels (the packed binary GEMM), then the phase-plane
    // col2im (conv_sinks.hpp) of cin_g - 2*popc; padding columns are masked out (they are not zero).
    const int64_t M = cout_g * T;
    const PhaseGeom pg(g, true);
    const int64_t PW = pg.cols_per_image();
    std::vector<int32_t> mask(static_cast<size_t>(PW + 512));  // period PW, longer than any run
    for (size_t f = 0; f < mask.size(); ++f) mask[f] = pg.is_pixel(g, int64_t(f) % PW) ? ~0 : 0;
    std::vector<PackedA<uint64_t>> A;
    for (int64_t gi = 0; gi < G; ++gi)
      A.push_back(pack_a<uint64_t>(hk.xnor, M, words, &wp[size_t(gi * M * words)], words, 1));
    auto row = [&](int64_t gi, int64_t k, int64_t c0, int64_t nb, uint64_t* dst) {
      int64_t img = c0 / PW, f = c0 % PW, iy = f / pg.W, ix = f % pg.W;
      for (int64_t j = 0; j < nb;) {  // runs of input pixels and of padding (0 words, masked later)
        int64_t run;
        if (iy < g.h && ix < g.w) {
          run = std::min(nb - j, g.w - ix);
          const uint64_t* src = &xp[size_t(((img * G + gi) * words + k) * P + iy * g.w + ix)];
          std::memcpy(dst + j, src, size_t(run) * sizeof(uint64_t));
        } else {
          run = std::min(nb - j, iy < g.h ? pg.W - ix : PW - f);
          std::fill(dst + j, dst + j + run, uint64_t(0));
        }
        j += run;
        f += run;
        ix += run;
        if (f == PW) {
          f = iy = ix = 0;
          ++img;
        } else if (ix == pg.W) {
          ix = 0;
          ++iy;
        }
      }
    };
    auto make_sink = [&](int64_t gi, int64_t m0, int64_t mc, int64_t c0, int64_t c1) {
      auto add = [&](const int32_t* src, int64_t, int64_t n, int64_t, int64_t f, int32_t* dst) {
        hk.add_row_s32(src, n, -2, int32_t(cin_g) + (ACCELSIM_MUTANT(5) ? 1 : 0), mask.data() + f, dst);
      };
      return PhaseSink<int32_t, int32_t, NoHook, decltype(add)>(g, pg, 1, bias64.empty() ? nullptr : bias64.data(),
                                                                 out, NoHook{}, gi, 0, m0, mc, c0, c1, add);
    };
    packed_gemm<GemmXnor>(GemmShape{G, M, words, g.n, PW, T}, A, row, make_sink, 0);
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
        const int64_t dot = nt ? nt * (cin_g + (ACCELSIM_MUTANT(5) ? 1 : 0)) - 2 * popc[size_t(cl)] : 0;
        out[(n * g.cout + co) * plane + oy * g.ow + ox] = int32_t(dot + (bias ? bias[co] : 0));
      }
    }
  });
}

}  // namespace accelsim
