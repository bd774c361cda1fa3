// parallel_for over a persistent worker pool (no OpenMP runtime to clash with torch's).
#pragma once
#include <cstdint>
#include <type_traits>

namespace accelsim {

// Runs body(ctx, i) for every i in [0, count), each exactly once, on the calling thread and up to
// num_threads() - 1 pool workers (pool.cpp). Returns when all have run; rethrows the first exception
// (indices not started by then are skipped). Nested or concurrent calls run inline on their thread.
void run_parallel(int64_t count, void (*body)(void*, int64_t), void* ctx);

template <class F>
void parallel_for(int64_t count, F&& fn) {
  if (count <= 0) return;
  if (count == 1 || num_threads() <= 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  void* ctx = const_cast<void*>(static_cast<const void*>(&fn));
  run_parallel(count, [](void* c, int64_t i) { (*static_cast<Fn*>(c))(i); }, ctx);
}

}  // namespace accelsim
