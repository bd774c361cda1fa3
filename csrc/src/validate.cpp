#include "validate.hpp"

#include <cstdlib>
#include <limits>
#include <string>

namespace accelsim {

void require_tensor(const TensorView& t, const char* name, int ndim, std::initializer_list<DType> dtypes) {
  if (t.ndim != ndim)
    fail(std::string(name) + " must have rank " + std::to_string(ndim) + ", got rank " + std::to_string(t.ndim));
  bool ok = false;
  std::string allowed;
  for (DType d : dtypes) {
    ok = ok || d == t.dtype;
    allowed += (allowed.empty() ? "" : " or ") + std::string(dtype_name(d));
  }
  if (!ok) fail(std::string(name) + " must have dtype " + allowed + ", got " + dtype_name(t.dtype));
  if (!t.data && t.checked_numel(name) > 0) fail(std::string(name) + " data pointer is null");
}

void check_int_fmt(const IntFmt& f, const char* name) {
  if (f.bits < 1 || f.bits > 16)
    fail(std::string(name) + " bits must be in [1, 16], got " + std::to_string(f.bits));
}

template <class T>
static void scan(const T* p, int64_t n, int64_t lo, int64_t hi, const char* name) {
  if (n == 0 || (lo <= int64_t(std::numeric_limits<T>::min()) && hi >= int64_t(std::numeric_limits<T>::max())))
    return;  // every value of the dtype is in range
  T mn = p[0], mx = p[0];
  for (int64_t i = 0; i < n; ++i) {
    mn = p[i] < mn ? p[i] : mn;
    mx = p[i] > mx ? p[i] : mx;
  }
  if (mn < lo || mx > hi)
    fail(std::string(name) + " codes must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got [" +
         std::to_string(int64_t(mn)) + ", " + std::to_string(int64_t(mx)) + "]");
}

void check_codes(const TensorView& t, int64_t lo, int64_t hi, const char* name) {
  const int64_t n = t.numel();
  switch (t.dtype) {
    case DType::i8: scan(static_cast<const int8_t*>(t.data), n, lo, hi, name); break;
    case DType::u8: scan(static_cast<const uint8_t*>(t.data), n, lo, hi, name); break;
    case DType::i16: scan(static_cast<const int16_t*>(t.data), n, lo, hi, name); break;
    case DType::u16: scan(static_cast<const uint16_t*>(t.data), n, lo, hi, name); break;
    case DType::i32: scan(static_cast<const int32_t*>(t.data), n, lo, hi, name); break;
    case DType::i64: scan(static_cast<const int64_t*>(t.data), n, lo, hi, name); break;
    default: fail(std::string(name) + " must be an integer tensor");
  }
}

template <class T>
static void scan_no_zero(const T* p, int64_t n, const char* name) {
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) zeros += p[i] == 0;
  if (!zeros) return;
  int64_t i = 0;
  while (p[i] != 0) ++i;
  fail(std::string(name) + " contains 0 at flat index " + std::to_string(i));
}

void check_no_zero(const TensorView& t, const char* name) {
  switch (t.dtype) {
    case DType::i8: scan_no_zero(static_cast<const int8_t*>(t.data), t.numel(), name); break;
    case DType::i16: scan_no_zero(static_cast<const int16_t*>(t.data), t.numel(), name); break;
    default: fail(std::string(name) + ": unsupported dtype");
  }
}

void check_signs(const TensorView& t, const char* name) {
  if (t.dtype == DType::i8) {  // one vectorizable pass; the precise message comes from the checks below
    const int8_t* p = static_cast<const int8_t*>(t.data);
    const int64_t n = t.numel();
    uint8_t bad = 0;  // v + 1 is 0 or 2 exactly for v = -1, +1
    for (int64_t i = 0; i < n; ++i) bad |= uint8_t(p[i] + 1) & 0xFD;
    if (!bad) return;
  }
  check_codes(t, -1, 1, name);
  check_no_zero(t, name);
}

int64_t max_abs_i32(const int32_t* p, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = std::llabs(int64_t(p[i]));
    m = v > m ? v : m;
  }
  return m;
}

}  // namespace accelsim
