// Binary weights x binary activations: XNOR-popcount convolution (gather form).
// Signs are packed along input channels (bit = 1 for +1); for one output pixel and one valid tap,
// sum_ci x*w = cin_g - 2*popcount(x_bits xor w_bits) (pad bits are 0 in both, so they cancel).
// Taps outside the input (padding, transposed-conv gaps) are skipped: they contribute nothing.
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
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

// The checks of bconv and bconv_f64: x of dtype x_dtype, w int8, bias int32[Cout], the int32 bound.
static Geom bconv_geom_of(const TensorView& x, DType x_dtype, const TensorView& w, const TensorView& bias,
                          const ConvParams& conv) {
  require_tensor(x, "x", 4, {x_dtype});
  require_tensor(w, "w", 4, {DType::i8});
  Geom g = make_geom(x.shape, w.shape, conv);
  if (bias.data) {
    require_tensor(bias, "bias", 1, {DType::i32});
    if (bias.shape[0] != g.cout)
      fail("bias must have Cout=" + std::to_string(g.cout) + " entries, got " + std::to_string(bias.shape[0]));
  }
  // |acc| <= max|bias| + taps must fit int32 (the accumulators are int32): refused, never wrapped.
  int64_t bias_max = 0;
  if (bias.data) {
    const int32_t* b = static_cast<const int32_t*>(bias.data);
    for (int64_t i = 0; i < g.cout; ++i) bias_max = std::max<int64_t>(bias_max, b[i] < 0 ? -int64_t(b[i]) : b[i]);
  }
  if (bias_max + g.taps() > int64_t(INT32_MAX))
    fail("bias: max|bias| + reduction length Cin/groups*KH*KW = " + std::to_string(bias_max) + " + " +
         std::to_string(g.taps()) + " exceeds the int32 accumulator (2^31 - 1)");
  return g;
}

Geom bconv_geom(const BConvArgs& a) { return bconv_geom_of(a.x, DType::i8, a.w, a.bias, a.conv); }

Geom bconv_f64_geom(const BConvF64Args& a) {
  Geom g = bconv_geom_of(a.x, DType::f64, a.w, a.bias, a.conv);
  require_tensor(a.scale, "scale", 1, {DType::f64});
  if (a.scale.shape[0] != g.cout)
    fail("scale must have Cout=" + std::to_string(g.cout) + " entries, got " + std::to_string(a.scale.shape[0]));
  if (a.relu) {  // then y = acc * scale is never -0.0 or NaN: relu is y > 0 ? y : +0.0, numpy's maximum(y, 0.0)
    const double* s = static_cast<const double*>(a.scale.data);
    for (int64_t c = 0; c < g.cout; ++c)
      if (!(s[c] > 0.0 && s[c] <= 1.7976931348623157e308))
        fail("scale must be positive and finite with relu, got scale[" + std::to_string(c) + "] = " + std::to_string(s[c]));
  }
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


// ---- bconv_f64: the whole w1a1 MAC node, float64 in and out -----------------------------------------
// An implicit GEMM over (output pixels x output channels) with (taps x 64-channel words) as the
// reduction, on the active ISA's XNOR tile (hot.hpp ukr_xnor_conv). The input's signs are packed once
// into a zero-padded buffer, per image and group [word][Hp][R] (R = sx * Wq: the columns split into sx
// interleaved runs, sx = the conv2d column stride, so each output row's pixels read one contiguous
// run per tap; for sx = 1, R = W + max(left, right padding): a row's left padding is the zero columns
// ending the row before, fewer wasted lanes where rows are short). A transposed conv runs as s_h * s_w phases (output residues ry, rx): each a conv of
// stride 1 over the input with its own taps, its outputs every s-th pixel. Reading padding (zero
// words) makes a tap contribute cin_g - 2 popcount(w_tap) instead of 0: the outputs whose taps leave
// the input subtract that (per class of rows and columns with the same taps inside, few per layer).
namespace {

struct XPhase {
  int64_t jy_n = 0, jx_n = 0;          // outputs oy = ry + sy_out * jy, ox = rx + sx_out * jx
  std::vector<int64_t> ky, kx;         // its kernel rows and columns (taps = ky x kx, row-major)
  std::vector<int64_t> offy, offx;     // input row = jy * sy_in + offy[a], column = jx * sx_in + offx[b]
  std::vector<int64_t> xoff;           // per tap: the buffer position of output (0, 0)'s input
  int64_t pq = 0;                      // buffer distance between output rows jy and jy + 1
  int64_t lst = 0;                     // staging length per channel
  std::vector<std::pair<int64_t, int64_t>> runs;  // (first, count) of buffer positions computed
  std::vector<int> ycls, xcls;         // class of each jy / jx: which taps lie inside the input
  std::vector<std::vector<char>> yin, xin;  // per class: tap row a / column b inside
  int64_t taps() const { return int64_t(ky.size() * kx.size()); }
};

struct XGeom {
  int64_t sy_out = 1, sx_out = 1, sy_in = 1, sx_in = 1;
  int64_t pad_t = 0, pad_l = 0, hp = 0, wq = 0, r = 0, plane = 0;
  std::vector<XPhase> ph;  // [ry * sx_out + rx]
};

// Classes of output positions j < n by which taps (input = j * stride + off[a]) lie in [0, size).
void tap_classes(int64_t n, int64_t stride, const std::vector<int64_t>& off, int64_t size, std::vector<int>& cls,
                 std::vector<std::vector<char>>& in) {
  std::map<std::vector<char>, int> ids;
  cls.assign(size_t(n), 0);
  for (int64_t j = 0; j < n; ++j) {
    std::vector<char> v(off.size());
    for (size_t a = 0; a < off.size(); ++a) {
      const int64_t i = j * stride + off[a];
      v[a] = i >= 0 && i < size;
    }
    auto it = ids.find(v);
    if (it == ids.end()) {
      it = ids.emplace(v, int(in.size())).first;
      in.push_back(v);
    }
    cls[size_t(j)] = it->second;
  }
}

// The phases and the buffer geometry, or false when the buffer or the phase count would be out of
// proportion with the tensors (then the int8 path runs).
bool xnor_geom(const Geom& g, int64_t nr, XGeom& xg) {
  const ConvParams& p = g.p;
  const bool tr = p.transposed;
  xg.sy_out = tr ? p.stride_h : 1;
  xg.sx_out = tr ? p.stride_w : 1;
  xg.sy_in = tr ? 1 : p.stride_h;
  xg.sx_in = tr ? 1 : p.stride_w;
  if (xg.sy_out * xg.sx_out > 64) return false;
  xg.ph.assign(size_t(xg.sy_out * xg.sx_out), XPhase{});
  auto taps_of = [&](int64_t r, int64_t s, int64_t pad, int64_t dil, int64_t k, std::vector<int64_t>& ks,
                     std::vector<int64_t>& offs) {
    for (int64_t kk = 0; kk < k; ++kk) {
      if (!tr) {
        ks.push_back(kk);
        offs.push_back(kk * dil - pad);
        continue;
      }
      const int64_t num = r + pad - kk * dil;  // input = (o + pad - k * dil) / s, o = r + s * j
      if (((num % s) + s) % s == 0) {
        ks.push_back(kk);
        offs.push_back(num / s);
      }
    }
  };
  int64_t lo_y = 0, hi_y = g.h - 1, lo_x = 0, hi_x = g.w - 1;
  for (int64_t ry = 0; ry < xg.sy_out; ++ry)
    for (int64_t rx = 0; rx < xg.sx_out; ++rx) {
      XPhase& f = xg.ph[size_t(ry * xg.sx_out + rx)];
      f.jy_n = ry < g.oh ? (g.oh - ry + xg.sy_out - 1) / xg.sy_out : 0;
      f.jx_n = rx < g.ow ? (g.ow - rx + xg.sx_out - 1) / xg.sx_out : 0;
      // every phase's taps, outputs or not: the packed weights (cached) must not depend on the sizes
      taps_of(ry, xg.sy_out, p.pad_h, p.dil_h, g.kh, f.ky, f.offy);
      taps_of(rx, xg.sx_out, p.pad_w, p.dil_w, g.kw, f.kx, f.offx);
      if (!f.jy_n || !f.jx_n || !f.taps()) continue;
      lo_y = std::min(lo_y, *std::min_element(f.offy.begin(), f.offy.end()));
      hi_y = std::max(hi_y, (f.jy_n - 1) * xg.sy_in + *std::max_element(f.offy.begin(), f.offy.end()));
      lo_x = std::min(lo_x, *std::min_element(f.offx.begin(), f.offx.end()));
      hi_x = std::max(hi_x, (f.jx_n - 1) * xg.sx_in + *std::max_element(f.offx.begin(), f.offx.end()));
    }
  xg.pad_t = -lo_y;
  xg.pad_l = -lo_x;
  xg.hp = hi_y - lo_y + 1;
  const int64_t wp = hi_x - lo_x + 1;
  xg.wq = (wp + xg.sx_in - 1) / xg.sx_in;
  xg.r = xg.sx_in * xg.wq;
  if (xg.sx_in == 1) {  // rows share their zero columns: a row's left padding is the previous row's right
    xg.r = g.w + std::max(xg.pad_l, hi_x - (g.w - 1));  // (the first row's: pad_l words before it)
    xg.wq = xg.r;
  }
  // the padded buffer, per 64 channels, against the input's and the output's pixels (in double: the
  // product may not fit int64 for a far-fetched geometry)
  const double pixels = double(g.h) * double(g.w) + double(g.oh) * double(g.ow);
  if (double(xg.hp) * double(xg.r) > 4.0 * pixels + 4096.0) return false;
  xg.plane = xg.hp * xg.r + (xg.sx_in == 1 ? xg.pad_l : 0);
  for (XPhase& f : xg.ph) {
    if (!f.jy_n || !f.jx_n) continue;
    f.pq = xg.sy_in * xg.r;
    for (size_t a = 0; a < f.offy.size(); ++a)
      for (size_t b = 0; b < f.offx.size(); ++b) {
        const int64_t col = f.offx[b] + xg.pad_l;
        f.xoff.push_back((f.offy[a] + xg.pad_t) * xg.r + (col % xg.sx_in) * xg.wq + col / xg.sx_in);
      }
    const int64_t last = (f.jy_n - 1) * f.pq + f.jx_n;  // one past the last output's position
    if (f.pq <= 2 * f.jx_n) {
      f.runs.emplace_back(0, last);  // the rows with their gaps: one run
    } else {
      for (int64_t jy = 0; jy < f.jy_n; ++jy) f.runs.emplace_back(jy * f.pq, f.jx_n);
    }
    f.lst = last + 2 * nr;
    tap_classes(f.jy_n, xg.sy_in, f.offy, g.h, f.ycls, f.yin);
    tap_classes(f.jx_n, xg.sx_in, f.offx, g.w, f.xcls, f.xin);
  }
  return true;
}

// Weights packed for the XNOR tile: per phase (with outputs or not: the packing depends on the weights,
// the tile, the kernel geometry and the ConvParams only, which the cache key holds), group and block
// of mr output channels, [tap][word][mr]
// (channels past cout_g: zero words, their outputs are never stored); and per group, kernel tap and
// output channel, cin_g - 2 popcount(w) (the contribution of a tap over zero words).
struct XnorWeights {
  std::vector<uint64_t> w;
  std::vector<int64_t> at;   // [(phase * G + group) * blocks + block] -> offset into w
  std::vector<int32_t> pad;  // [(group * kh * kw + tap) * cout_g + co]
  // padding_bases of the input sizes met (h, w, oh, ow), the newest first (a few)
  mutable std::mutex mu;
  mutable std::list<std::pair<std::vector<int64_t>, std::shared_ptr<const std::vector<int64_t>>>> bases;
};

struct XnorKey {
  const void* ptr = nullptr;
  int64_t shape[4] = {0, 0, 0, 0};
  uint64_t hash = 0;
  bool keyed = false;
  int mr = 0;
  ConvParams p;
  bool operator==(const XnorKey& o) const {
    return ptr == o.ptr && std::equal(shape, shape + 4, o.shape) && hash == o.hash && keyed == o.keyed && mr == o.mr &&
           p.stride_h == o.p.stride_h && p.stride_w == o.p.stride_w && p.pad_h == o.p.pad_h && p.pad_w == o.p.pad_w &&
           p.dil_h == o.p.dil_h && p.dil_w == o.p.dil_w && p.groups == o.p.groups && p.transposed == o.p.transposed;
  }
};

std::shared_ptr<const XnorWeights> pack_xnor_weights(const TensorView& wt, const Geom& g, const XGeom& xg, int mr) {
  check_signs(wt, "w (binary weights must be -1 or +1)");
  const int8_t* w = static_cast<const int8_t*>(wt.data);
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  const int64_t words = (cin_g + 63) / 64, blocks = (cout_g + mr - 1) / mr;
  const bool tr = g.p.transposed;
  // sign of channel ci of group gi, output channel co (in the group), kernel tap t
  auto at = [&](int64_t gi, int64_t ci, int64_t co, int64_t t) {
    return tr ? w[((gi * cin_g + ci) * cout_g + co) * T + t] : w[((gi * cout_g + co) * cin_g + ci) * T + t];
  };
  auto out = std::make_shared<XnorWeights>();
  out->pad.resize(size_t(G * T * cout_g));
  for (int64_t gi = 0; gi < G; ++gi)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t co = 0; co < cout_g; ++co) {
        int64_t plus = 0;
        for (int64_t ci = 0; ci < cin_g; ++ci) plus += at(gi, ci, co, t) > 0;
        out->pad[size_t((gi * T + t) * cout_g + co)] = int32_t(cin_g - 2 * plus);
      }
  out->at.assign(size_t(int64_t(xg.ph.size()) * G * blocks), 0);
  int64_t total = 0;
  for (size_t f = 0; f < xg.ph.size(); ++f)
    for (int64_t gi = 0; gi < G; ++gi)
      for (int64_t b = 0; b < blocks; ++b) {
        out->at[(f * size_t(G) + size_t(gi)) * size_t(blocks) + size_t(b)] = total;
        total += xg.ph[f].taps() * words * mr;
      }
  out->w.assign(size_t(total), 0);
  parallel_for(int64_t(xg.ph.size()) * G * blocks, [&](int64_t job) {
    const int64_t b = job % blocks, gi = (job / blocks) % G;
    const XPhase& f = xg.ph[size_t(job / (blocks * G))];
    uint64_t* d = &out->w[size_t(out->at[size_t(job)])];
    for (size_t ta = 0; ta < f.ky.size(); ++ta)
      for (size_t tb = 0; tb < f.kx.size(); ++tb) {
        const int64_t t = f.ky[ta] * g.kw + f.kx[tb];
        for (int64_t i = 0; i < words; ++i, d += mr)
          for (int64_t c = 0; c < mr; ++c) {
            const int64_t co = b * mr + c;
            if (co >= cout_g) continue;
            uint64_t v = 0;
            for (int64_t k = 0; k < 64 && i * 64 + k < cin_g; ++k) v |= uint64_t(at(gi, i * 64 + k, co, t) > 0) << k;
            d[c] = v;
          }
      }
  });
  return out;
}

// A few packed weight sets, most recently used first (the runtime's layers: keyed by kernels.frozen_key).
std::shared_ptr<const XnorWeights> cached_xnor_weights(const TensorView& w, const Geom& g, const XGeom& xg, int mr) {
  static std::mutex mu;
  static auto* entries = new std::list<std::pair<XnorKey, std::shared_ptr<const XnorWeights>>>();
  XnorKey k;
  k.ptr = w.data;
  std::copy(w.shape, w.shape + 4, k.shape);
  k.keyed = w.key >= 0;
  k.hash = k.keyed ? uint64_t(w.key) : hot().hash_bytes(static_cast<const uint8_t*>(w.data), w.numel());
  k.mr = mr;
  k.p = g.p;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = entries->begin(); it != entries->end(); ++it)
      if (it->first == k) {
        entries->splice(entries->begin(), *entries, it);
        return entries->front().second;
      }
  }
  std::shared_ptr<const XnorWeights> pw = pack_xnor_weights(w, g, xg, mr);
  std::lock_guard<std::mutex> lock(mu);
  entries->emplace_front(k, pw);
  int64_t bytes = 0;  // at most 256 MiB kept (the newest entry always)
  for (auto it = entries->begin(); it != entries->end();) {
    bytes += int64_t(it->second->w.size() * 8 + it->second->pad.size() * 4);
    if (it != entries->begin() && bytes > (int64_t(256) << 20))
      it = entries->erase(it);
    else
      ++it;
  }
  return pw;
}

// Per phase, output channel and row class, one value per output column: T_phase * cin_g - what the
// taps reading padding add, [phase offset + (co * nyc + yc) * jx_n + jx] (the row pass's base, without
// the bias). It depends on the weights and the geometry only: kept with the packed weights per input size.
std::shared_ptr<const std::vector<int64_t>> padding_bases(const XnorWeights& pw, const Geom& g, const XGeom& xg) {
  const std::vector<int64_t> key{g.h, g.w, g.oh, g.ow};
  {
    std::lock_guard<std::mutex> lock(pw.mu);
    for (const auto& e : pw.bases)
      if (e.first == key) return e.second;
  }
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), T = g.kh * g.kw;
  int64_t nb = 0;
  for (const XPhase& ph : xg.ph) nb += int64_t(ph.yin.size()) * g.cout * ph.jx_n;
  auto out = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(nb), 0);
  std::vector<int64_t> by_class(static_cast<size_t>(g.cout));  // one (row class, column class): per channel
  int64_t at = 0;
  for (const XPhase& ph : xg.ph) {
    const int64_t nyc = int64_t(ph.yin.size());
    for (int64_t yc = 0; yc < nyc; ++yc)
      for (size_t xc = 0; xc < ph.xin.size(); ++xc) {
        std::fill(by_class.begin(), by_class.end(), ph.taps() * cin_g);
        for (size_t ta = 0; ta < ph.ky.size(); ++ta)
          for (size_t tb = 0; tb < ph.kx.size(); ++tb) {
            if (ph.yin[size_t(yc)][ta] && ph.xin[xc][tb]) continue;
            const int64_t t = ph.ky[ta] * g.kw + ph.kx[tb];
            for (int64_t gi = 0; gi < G; ++gi) {  // channels contiguous in pad: a vectorizable loop
              const int32_t* pd = &pw.pad[size_t((gi * T + t) * cout_g)];
              int64_t* v = &by_class[size_t(gi * cout_g)];
              for (int64_t cl = 0; cl < cout_g; ++cl) v[cl] -= pd[cl];
            }
          }
        for (int64_t jx = 0; jx < ph.jx_n; ++jx)
          if (ph.xcls[size_t(jx)] == int(xc))
            for (int64_t co = 0; co < g.cout; ++co)
              (*out)[size_t(at + (co * nyc + yc) * ph.jx_n + jx)] = by_class[size_t(co)];
      }
    at += nyc * g.cout * ph.jx_n;
  }
  std::lock_guard<std::mutex> lock(pw.mu);
  pw.bases.emplace_front(key, out);
  if (pw.bases.size() > 4) pw.bases.pop_back();
  return out;
}

// The int8 path (bconv) for geometries the padded buffer does not suit: signs as int8 codes, int32
// accumulators, then the scale.
void bconv_f64_codes(const BConvF64Args& a, const Geom& g, double* out) {
  const double* x = static_cast<const double*>(a.x.data);
  const int64_t nx = a.x.numel();
  std::vector<int8_t> codes(static_cast<size_t>(nx));
  for (int64_t i = 0; i < nx; ++i) codes[size_t(i)] = x[i] >= 0.0 ? 1 : -1;
  BConvArgs b;
  b.x = a.x;
  b.x.dtype = DType::i8;
  b.x.data = codes.data();
  b.w = a.w;
  b.bias = a.bias;
  b.conv = a.conv;
  std::vector<int32_t> acc(static_cast<size_t>(g.out_numel()));
  bconv(b, acc.data());
  const double* scale = static_cast<const double*>(a.scale.data);
  const int64_t plane = g.oh * g.ow;
  parallel_for(g.n * g.cout, [&](int64_t job) {
    const double s = scale[job % g.cout];
    for (int64_t i = job * plane; i < (job + 1) * plane; ++i) {
      const double y = double(acc[size_t(i)]) * s;
      out[i] = a.relu && !(y > 0.0) ? 0.0 : y;
    }
  });
}

}  // namespace

void bconv_f64(const BConvF64Args& a, double* out) {
  const Geom g = bconv_f64_geom(a);
  if (!out) fail("output pointer is null");
  const bool relu = a.relu;
  const HotKernels& hk = hot();
  const int mr = hk.xnor_conv.mr, nr = hk.xnor_conv.nr;
  XGeom xg;
  if (!xnor_geom(g, nr, xg)) return bconv_f64_codes(a, g, out);
  const std::shared_ptr<const XnorWeights> pw = cached_xnor_weights(a.w, g, xg, mr);
  const int64_t G = g.p.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  const int64_t words = (cin_g + 63) / 64, blocks = (cout_g + mr - 1) / mr, hw = g.h * g.w;
  const double* x = static_cast<const double*>(a.x.data);
  const double* scale = static_cast<const double*>(a.scale.data);
  const int32_t* bias = static_cast<const int32_t*>(a.bias.data);
  // signs, packed: [image][group][word][plane], zero outside the input, slack after the last plane
  const int64_t per_img = words * xg.plane;
  std::vector<uint64_t> xb(static_cast<size_t>(g.n * G * per_img + 4 * nr + 64), 0);
  const int64_t pblocks = (hw + 511) / 512;
  auto pack = [&](int64_t job) {
    const int64_t cw = job % words, ng = job / words, gi = ng % G, n = ng / G;
    const double* src = x + (n * g.cin + gi * cin_g + cw * 64) * hw;
    uint64_t* dst = &xb[size_t(job * xg.plane)];
    uint64_t tmp[512];
    for (int64_t pb = 0; pb < pblocks; ++pb) {
      const int64_t np = std::min<int64_t>(512, hw - pb * 512);
      hk.pack_signs_f64_block(src + pb * 512, hw, std::min<int64_t>(64, cin_g - cw * 64), np, tmp);
      int64_t iy = (pb * 512) / g.w, ix = (pb * 512) % g.w;
      for (int64_t j = 0; j < np; ++j) {
        const int64_t col = ix + xg.pad_l;
        dst[(iy + xg.pad_t) * xg.r + (col % xg.sx_in) * xg.wq + col / xg.sx_in] = tmp[j];
        if (++ix == g.w) ix = 0, ++iy;
      }
    }
  };
  if (g.n * G * words * hw < (int64_t(1) << 16)) {  // small: waking a worker costs more than it saves
    for (int64_t job = 0; job < g.n * G * words; ++job) pack(job);
  } else {
    parallel_for(g.n * G * words, pack);
  }
  const std::shared_ptr<const std::vector<int64_t>> bases = padding_bases(*pw, g, xg);
  const int64_t* bx = bases->data();
  std::vector<int64_t> bx_at(xg.ph.size(), 0);
  for (size_t f = 1; f < xg.ph.size(); ++f)
    bx_at[f] = bx_at[f - 1] + int64_t(xg.ph[f - 1].yin.size()) * g.cout * xg.ph[f - 1].jx_n;
  const int64_t nph = int64_t(xg.ph.size());
  int64_t lst_all = 0;
  for (const XPhase& f : xg.ph) lst_all += f.lst * mr;
  parallel_for(g.n * G * blocks, [&](int64_t job) {
    const int64_t blk = job % blocks, gi = (job / blocks) % G, n = job / (blocks * G);
    thread_local std::vector<int64_t> st;
    if (int64_t(st.size()) < lst_all) st.resize(size_t(lst_all));
    int64_t* at[64];  // each phase's staging
    int64_t o = 0;
    const uint64_t* xi = &xb[size_t((n * G + gi) * per_img)];
    for (int64_t f = 0; f < nph; ++f) {
      const XPhase& ph = xg.ph[size_t(f)];
      at[f] = st.data() + o;
      o += ph.lst * mr;
      if (!ph.jy_n || !ph.jx_n) continue;
      if (!ph.taps()) {  // no tap reaches these outputs: the bias alone
        std::fill(at[f], at[f] + ph.lst * mr, int64_t(0));
        continue;
      }
      const uint64_t* wb = &pw->w[size_t(pw->at[size_t((f * G + gi) * blocks + blk)])];
      for (const auto& run : ph.runs)
        for (int64_t q = run.first; q < run.first + run.second; q += nr)
          hk.ukr_xnor_conv(xi + q, xg.plane, ph.xoff.data(), ph.taps(), words, wb, at[f] + q, ph.lst);
    }
    // the output rows: each from its sx_out phase rows and their bases (hot.hpp xnor_row_f64)
    const int64_t sxo = xg.sx_out, syo = xg.sy_out, nrx = std::min(sxo, g.ow);
    struct Row {
      const int64_t* st;
      int64_t lst, pq, nyc, jxn;
      const int* ycls;
      const int64_t* bx;  // this phase's bases (padding_bases)
    };
    Row rows[64];
    for (int64_t f = 0; f < nph; ++f) {
      const XPhase& ph = xg.ph[size_t(f)];
      rows[f] = Row{at[f], ph.lst, ph.pq, int64_t(ph.yin.size()), ph.jx_n, ph.ycls.data(), bx + bx_at[size_t(f)]};
    }
    const int64_t* src[64];
    const int64_t* base[64];
    for (int64_t c = 0; c < mr && blk * mr + c < cout_g; ++c) {
      const int64_t co = gi * cout_g + blk * mr + c;
      const double sc = scale[co];
      const int64_t b = bias ? bias[co] : 0;
      double* drow = out + (n * g.cout + co) * g.oh * g.ow;
      for (int64_t oy = 0, ry = 0, jy = 0; oy < g.oh; ++oy, drow += g.ow) {
        const Row* r = rows + ry * sxo;
        for (int64_t rx = 0; rx < nrx; ++rx) {
          const Row& q = r[rx];
          src[rx] = q.st + c * q.lst + jy * q.pq;
          base[rx] = q.bx + (co * q.nyc + q.ycls[jy]) * q.jxn;
        }
        hk.xnor_row_f64(src, base, sxo, g.ow, b, sc, relu, drow);
        if (++ry == syo) ry = 0, ++jy;
      }
    }
  });
}

}  // namespace accelsim
