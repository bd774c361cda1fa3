// Flexpoint flex16+5 convolution (Koster et al. 2017): int16 mantissas, one shared exponent per
// tensor in [-16, 15]. Products exact (int32), accumulation exact (int64) at exponent
// e_acc = x_exp + w_exp; the output mantissa is acc / 2^(out_exp - e_acc) rounded half to even
// (or acc * 2^(e_acc - out_exp) when that shift is a left shift). Dynamic mode picks the smallest
// out_exp >= -16 whose mantissas all fit [-32767, 32767] (error if that needs > 15); static mode uses
// the given exponent, saturates to [-32768, 32767] and counts the saturated outputs.
#include <string>
#include <vector>

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
  const int64_t total = g.out_numel();
  std::vector<int64_t> acc(static_cast<size_t>(total));
  const int64_t* bias = static_cast<const int64_t*>(a.bias.data);
  if (g.taps() < (int64_t(1) << 23)) conv_accumulate_f64(a.x, a.w, bias, g, acc.data());  // exact: sums < 2^53
  else conv_accumulate_i64(a.x, 0, a.w, bias, g, acc.data());
  FlexResult r;
  for (int64_t v : acc) {
    const int64_t m = v < 0 ? -v : v;
    r.acc_max_abs = m > r.acc_max_abs ? m : r.acc_max_abs;
  }
  const int e_acc = a.x_exp + a.w_exp;
  if (a.dynamic) {
    int e = kFlexExpMin;
    for (; e <= kFlexExpMax + 1; ++e) {
      if (e == kFlexExpMax + 1)
        fail("flexpoint output overflow: max |acc| = " + std::to_string(r.acc_max_abs) + " at exponent " +
                 std::to_string(e_acc) + " needs an output exponent > 15",
             kOverflow);
      if (shift_rhe(r.acc_max_abs, e - e_acc) <= 32767) break;
    }
    r.out_exp = e;
  } else {
    r.out_exp = a.out_exp;
  }
  const int s = r.out_exp - e_acc;
  int64_t overflows = 0;
  for (int64_t i = 0; i < total; ++i) {
    const i128 y = shift_rhe(acc[size_t(i)], s);
    if (y > 32767) { out[i] = 32767; ++overflows; }
    else if (y < -32768) { out[i] = -32768; ++overflows; }
    else out[i] = int16_t(y);
  }
  r.overflows = overflows;
  return r;
}

}  // namespace accelsim
