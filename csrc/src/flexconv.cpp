// Flexpoint flex16+5 convolution (Koster et al. 2017): int16 mantissas, one shared exponent per
// tensor in [-16, 15]. Products exact (int32), accumulation exact (int64) at exponent
// e_acc = x_exp + w_exp; the output mantissa is acc / 2^(out_exp - e_acc) rounded half to even
// (or acc * 2^(e_acc - out_exp) when that shift is a left shift). Dynamic mode picks the smallest
// out_exp >= -16 whose mantissas all fit [-32767, 32767] (error if that needs > 15); static mode uses
// the given exponent, saturates to [-32768, 32767] and counts the saturated outputs.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "validate.hpp"

namespace accelsim {

namespace {

using i128 = __int128;

// round_half_even(v / 2^s) for s > 0; v * 2^-s for s <= 0 (exact, 128-bit).
inline i128 shift_rhe(int64_t v, int s) {
  if (s <= 0) return i128(v) << (-s);
  if (s > 64) return 0;  // |v| < 2^63 so |v / 2^s| < 0.5
  const i128 q = i128(v) >> s;  // floor
  const i128 r = i128(v) - (q << s);
  const i128 half = i128(1) << (s - 1);
  return (r > half || (r == half && (q & 1))) ? q + 1 : q;
}

// out[i] = clamp(round_half_even(v[i] / 2^s)) for any shift s (hk.round_s64_s16 takes |s| <= 62;
// beyond that every |v| < 2^63 rounds to 0, or any v != 0 clamps); returns how many were clamped.
int64_t round_shift(const HotKernels& hk, const int64_t* v, int64_t n, int s, int16_t* out) {
  if (s >= -62 && s <= 62) return hk.round_s64_s16(v, n, s, out);
  int64_t clamped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const i128 y = shift_rhe(v[i], s);
    out[i] = int16_t(y > 32767 ? 32767 : (y < -32768 ? -32768 : y));
    clamped += y > 32767 || y < -32768;
  }
  return clamped;
}

void check_exp(int32_t e, const char* name) {
  if (e < kFlexExpMin || e > kFlexExpMax)
    fail(std::string(name) + " must be a 5-bit signed exponent in [-16, 15], got " + std::to_string(e));
}

}  // namespace

Geom flexconv_geom(const FlexConvArgs& a) {
  require_tensor(a.x, "x", 4, {DType::i16});
  require_tensor(a.w, "w", 4, {DType::i16});
  check_exp(a.x_exp, "x_exp");
  check_exp(a.w_exp, "w_exp");
  if (!a.dynamic) check_exp(a.out_exp, "out_exp");
  Geom g = make_geom(a.x.shape, a.w.shape, a.conv);
  if (a.bias.data) {
    require_tensor(a.bias, "bias", 1, {DType::i64});
    if (a.bias.shape[0] != g.cout)
      fail("bias must have Cout=" + std::to_string(g.cout) + " entries, got " + std::to_string(a.bias.shape[0]));
    const int64_t* b = static_cast<const int64_t*>(a.bias.data);
    for (int64_t i = 0; i < g.cout; ++i)
      if (b[i] > (int64_t(1) << 61) || b[i] < -(int64_t(1) << 61)) fail("flex bias must satisfy |b| <= 2^61");
  }
  // |acc| <= taps * 2^30 + 2^61 < 2^63 needs taps < 2^32.
  if (g.taps() >= (int64_t(1) << 31)) fail("flexpoint reduction too long: Cin/groups*KH*KW must be < 2^31");
  return g;
}

FlexResult flexconv(const FlexConvArgs& a, int16_t* out) {
  const Geom g = flexconv_geom(a);
  if (!out) fail("output pointer is null");
  const HotKernels& hk = hot();
  const int64_t* bias = static_cast<const int64_t*>(a.bias.data);
  const int e_acc = a.x_exp + a.w_exp;
  const int64_t P = g.oh * g.ow;
  // The accumulators arrive task by task (a block of channels x images). Static mode rounds them
  // straight into `out`. Dynamic mode needs max|acc| over the whole tensor first, so each block is
  // kept compactly: c = 2 * floor(acc / 2^t) + sticky in int32 (t = 0 unless the block's max needs
  // more than 30 bits), its low half in `out` and its high half in `hi16`; then
  // round_half_even(c / 2^(s - t + 1)) = round_half_even(acc / 2^s) exactly, since the dynamic
  // shift s is at least t + 15 whenever t > 0 (the block max is >= 2^30, so is the tensor max).
  std::atomic<int64_t> amax{0}, overflows{0};
  std::vector<int16_t> hi16(a.dynamic ? size_t(g.out_numel()) : 0);
  struct Block {
    int64_t co0, nco, img0, nimg;
    int t;
  };
  std::vector<Block> blocks;
  std::mutex mu;
  auto hook = [&](const int64_t* acc, int64_t co0, int64_t nco, int64_t img0, int64_t nimg) {
    const int64_t m = hk.max_abs_s64(acc, nimg * nco * P);
    for (int64_t prev = amax.load(); m > prev && !amax.compare_exchange_weak(prev, m);) {
    }
    const int t = m < (int64_t(1) << 30) ? 0 : 64 - __builtin_clzll(uint64_t(m)) - 30;
    std::vector<int32_t> c(a.dynamic ? size_t(P) : 0);
    int64_t over = 0;
    for (int64_t im = 0; im < nimg; ++im)
      for (int64_t cl = 0; cl < nco; ++cl) {
        const int64_t* v = acc + (im * nco + cl) * P;
        const int64_t o = ((img0 + im) * g.cout + co0 + cl) * P;
        if (!a.dynamic) {
          over += round_shift(hk, v, P, a.out_exp - e_acc, out + o);
          continue;
        }
        hk.compact_s64(v, P, t, c.data());
        for (int64_t i = 0; i < P; ++i) {
          out[o + i] = int16_t(uint16_t(uint32_t(c[size_t(i)])));
          hi16[size_t(o + i)] = int16_t(c[size_t(i)] >> 16);
        }
      }
    overflows += over;
    if (a.dynamic) {
      std::lock_guard<std::mutex> lk(mu);
      blocks.push_back({co0, nco, img0, nimg, t});
    }
  };
  conv_accumulate_flex(a.x, a.w, bias, g, hook);
  FlexResult r;
  r.acc_max_abs = amax.load();
  if (!a.dynamic) {
    r.out_exp = a.out_exp;
    r.overflows = overflows.load();
    return r;
  }
  int e = kFlexExpMin;
  for (; e <= kFlexExpMax + 1; ++e) {
    if (e == kFlexExpMax + 1) {
      std::fill(out, out + g.out_numel(), int16_t(0));  // not the compact halves
      fail("flexpoint output overflow: max |acc| = " + std::to_string(r.acc_max_abs) + " at exponent " +
               std::to_string(e_acc) + " needs an output exponent > 15",
           kOverflow);
    }
    if (shift_rhe(r.acc_max_abs, e - e_acc) <= 32767) break;
  }
  r.out_exp = e;
  parallel_for(int64_t(blocks.size()), [&](int64_t bi) {
    const Block& b = blocks[size_t(bi)];
    std::vector<int64_t> c(static_cast<size_t>(P));
    for (int64_t im = 0; im < b.nimg; ++im)
      for (int64_t cl = 0; cl < b.nco; ++cl) {
        const int64_t o = ((b.img0 + im) * g.cout + b.co0 + cl) * P;
        for (int64_t i = 0; i < P; ++i)
          c[size_t(i)] = int32_t(uint32_t(uint16_t(out[o + i])) | uint32_t(uint16_t(hi16[size_t(o + i)])) << 16);
        round_shift(hk, c.data(), P, e - e_acc - b.t + 1, out + o);  // every mantissa fits: nothing clamps
      }
  });
  r.overflows = 0;
  return r;
}

}  // namespace accelsim
