// A numpy data allocator (NEP 49, PyDataMem_Handler) that keeps the freed blocks of large arrays
// and hands them out again, so a runtime that makes the same large arrays run after run stops paying
// the kernel's fresh-page cost for each of them (glibc returns a block over its mmap threshold, at
// most 32 MiB, to the system on free; the next array of that size faults in and zeroes new pages:
// 3.9 ms for a 33.6 MB float64 dequantize against 1.2 ms into reused memory, Zen 4).
//
// Only blocks of at least kMinBytes pass through the cache; smaller ones are plain malloc/free. A
// freed large block is kept while the cache holds at most limit_bytes (default 1 GiB), else freed
// (after dropping other cached blocks, largest first, when that makes room). A request takes a cached
// block of the same size, or the smallest one of at most 5/4 the size. Every large block is a plain
// malloc block; the cache records each one it hands out with its true size (numpy's size argument to
// free is not trusted), so realloc and free of any pointer stay correct. Thread-safe (one mutex).
// Used only where accelsim.kernels.reused_memory() installs it (numpy's handler is a context
// variable); arrays made there free through it wherever they die.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace accelsim_array_cache {

constexpr size_t kMinBytes = size_t(1) << 20;      // smaller blocks: plain malloc (glibc's heap reuses them)
constexpr size_t kHugeBytes = size_t(4) << 20;     // numpy's own threshold for madvise(MADV_HUGEPAGE)

struct Stats {
  uint64_t hits = 0, misses = 0, cached_bytes = 0, cached_blocks = 0, limit_bytes = 0;
};

class Cache {
 public:
  void* alloc(size_t n, bool zero) {
    if (n < kMinBytes) return zero ? std::calloc(n, 1) : std::malloc(n);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.lower_bound(n);
      if (it != free_.end() && it->first <= n + n / 4) {
        void* p = it->second;
        cached_ -= it->first;
        live_[p] = it->first;
        free_.erase(it);
        ++hits_;
        if (zero) std::memset(p, 0, n);
        return p;
      }
      ++misses_;
    }
    void* p = zero ? std::calloc(n, 1) : std::malloc(n);
    if (!p) return nullptr;
    hugepages(p, n);
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = n;
    return p;
  }

  void release(void* p) {
    if (!p) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_.find(p);
      if (it != live_.end()) {
        const size_t n = it->second;
        live_.erase(it);
        if (keep(n)) {
          free_.emplace(n, p);
          cached_ += n;
          return;
        }
      }
    }
    std::free(p);
  }

  void* resize(void* p, size_t n) {
    if (!p) return alloc(n, false);
    size_t old = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_.find(p);
      if (it != live_.end()) {
        old = it->second;
        live_.erase(it);
      }
    }
    void* q = std::realloc(p, n);
    if (!q) {  // p is still valid and still ours
      if (old) {
        std::lock_guard<std::mutex> lock(mu_);
        live_[p] = old;
      }
      return nullptr;
    }
    if (n >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      live_[q] = n;
    }
    return q;
  }

  // Frees every cached block (live arrays are untouched).
  void clear() {
    std::multimap<size_t, void*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drop.swap(free_);
      cached_ = 0;
    }
    for (auto& kv : drop) std::free(kv.second);
  }

  void set_limit(uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = bytes;
    evict_for(0);
  }

  Stats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    Stats s;
    s.hits = hits_;
    s.misses = misses_;
    s.cached_bytes = cached_;
    s.cached_blocks = free_.size();
    s.limit_bytes = limit_;
    return s;
  }

 private:
  // Under mu_: whether a freed block of n bytes is kept (room made for it first).
  bool keep(size_t n) {
    if (n > limit_) return false;
    evict_for(n);
    return true;
  }

  // Under mu_: frees cached blocks, largest first, until n more bytes fit under the limit.
  void evict_for(uint64_t n) {
    while (cached_ + n > limit_ && !free_.empty()) {
      auto last = std::prev(free_.end());
      cached_ -= last->first;
      std::free(last->second);
      free_.erase(last);
    }
  }

  static void hugepages(void* p, size_t n) {
#ifdef MADV_HUGEPAGE
    if (n < kHugeBytes) return;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p), start = (a + 4095) & ~uintptr_t(4095);
    if (start - a < n) madvise(reinterpret_cast<void*>(start), n - (start - a), MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
  }

  std::mutex mu_;
  std::multimap<size_t, void*> free_;          // cached blocks by size
  std::unordered_map<void*, size_t> live_;     // large blocks handed out, with their true size
  uint64_t cached_ = 0, limit_ = uint64_t(1) << 30, hits_ = 0, misses_ = 0;
};

// Never destroyed: arrays made through it may outlive every static destructor.
inline Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace accelsim_array_cache
