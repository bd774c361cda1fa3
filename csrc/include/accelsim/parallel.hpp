// parallel_for: a minimal fork-join over std::thread (no OpenMP runtime to clash with torch's).
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace accelsim {

template <class F>
void parallel_for(int64_t count, F&& fn) {
  const int64_t nt = std::min<int64_t>(num_threads(), count);
  if (nt <= 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::exception_ptr err;
  std::atomic<bool> failed{false};
  auto worker = [&]() {
    try {
      for (int64_t i; (i = next.fetch_add(1)) < count && !failed.load();) fn(i);
    } catch (...) {
      if (!failed.exchange(true)) err = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (int64_t t = 1; t < nt; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace accelsim
