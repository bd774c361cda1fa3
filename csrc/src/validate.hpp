// Internal validation helpers shared by the kernels: every check runs before memory is touched.
#pragma once
#include <functional>
#include <initializer_list>
#include <string>

#include "accelsim/kernels.hpp"

namespace accelsim {

// t must be non-null (unless it has zero elements), of rank `ndim` and one of `dtypes`.
void require_tensor(const TensorView& t, const char* name, int ndim, std::initializer_list<DType> dtypes);
void check_int_fmt(const IntFmt& f, const char* name);
// Every element of the integer tensor t lies in [lo, hi].
void check_codes(const TensorView& t, int64_t lo, int64_t hi, const char* name);
void check_no_zero(const TensorView& t, const char* name);
// Every element is -1 or +1 (check_codes(t, -1, 1) and check_no_zero in one pass).
void check_signs(const TensorView& t, const char* name);
int64_t max_abs_i32(const int32_t* p, int64_t n);

}  // namespace accelsim

namespace accelsim {
// Exact int64 accumulation acc = bias + sum (x - z_x) * w (any integer code dtypes; caller has
// validated that |acc| < 2^63). Defined in qconv.cpp.
void conv_accumulate_i64(const TensorView& x, int32_t x_zero_point, const TensorView& w, const int64_t* bias,
                         const Geom& g, int64_t* out);
// The same for int16 x int16 codes (flexpoint mantissas, z_x = 0) through the int16 packed GEMM, the
// weights split into two byte digits so every int32 partial sum is exact; chunk sums add in int64.
// The accumulators are handed over task by task: hook(acc, co0, nco, img0, nimg) gets those of
// channels co0..co0+nco of images img0..img0+nimg as [img][co][OH*OW] (called concurrently).
// Defined in qconv.cpp.
using FlexTaskHook = std::function<void(const int64_t*, int64_t, int64_t, int64_t, int64_t)>;
void conv_accumulate_flex(const TensorView& x, const TensorView& w, const int64_t* bias, const Geom& g,
                          const FlexTaskHook& hook);
}  // namespace accelsim
