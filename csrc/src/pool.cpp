// The worker pool behind parallel_for (parallel.hpp). Workers sleep between jobs; the calling thread
// always works on its own job too, so a job finishes even when no worker gets a CPU in time (other
// processes), and the caller never waits for a worker that has not claimed an index.
// Before sleeping, a worker spins for about kSpinNs (and the caller, for the end of its job, as
// long): a futex wake-up took tens of microseconds, as long as a whole batch-1 layer's share, so
// back-to-back jobs (a layer's copy and compute phases, the next layer) found their worker still
// asleep and ran on one thread.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "accelsim/core.hpp"

namespace accelsim {
namespace {

constexpr int64_t kSpinNs = 100000;  // 0.1 ms

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or about kSpinNs have passed; whether done() held.
template <class F>
bool spin_until(F&& done) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(kSpinNs)) return done();
  }
}

class Pool {
 public:
  // Runs the job; false if the pool is busy with another job (the caller then runs it inline).
  bool run(int64_t count, void (*body)(void*, int64_t), void* ctx, int workers) {
    std::unique_lock<std::mutex> job(job_mu_, std::try_to_lock);
    if (!job.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      while (int(threads_.size()) < workers) {
        const int id = int(threads_.size());
        threads_.push_back(new std::thread([this, id] { work(id); }));
      }
      body_ = body;
      ctx_ = ctx;
      count_ = count;
      limit_ = workers;
      next_.store(0);
      done_.store(0);
      failed_.store(false);
      err_ = nullptr;
      ++gen_;
      published_.store(gen_, std::memory_order_release);
    }
    cv_work_.notify_all();
    claim(body, ctx, count);
    spin_until([&] { return done_.load(std::memory_order_acquire) == count; });
    std::exception_ptr err;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_done_.wait(lk, [&] { return done_.load() == count && busy_ == 0; });
      body_ = nullptr;  // closed: a worker waking late finds nothing to join
      err = err_;
    }
    if (err) std::rethrow_exception(err);
    return true;
  }

 private:
  void claim(void (*body)(void*, int64_t), void* ctx, int64_t count) {
    for (int64_t i; (i = next_.fetch_add(1)) < count;) {
      if (!failed_.load()) {
        try {
          body(ctx, i);
        } catch (...) {
          std::lock_guard<std::mutex> lk(mu_);
          if (!failed_.exchange(true)) err_ = std::current_exception();
        }
      }
      if (done_.fetch_add(1) + 1 == count) {
        std::lock_guard<std::mutex> lk(mu_);
        cv_done_.notify_all();
      }
    }
  }

  void work(int id) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (gen_ == seen) {  // no new job yet: spin for one before sleeping
        lk.unlock();
        spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
        lk.lock();
      }
      cv_work_.wait(lk, [&] { return body_ != nullptr && gen_ != seen; });
      seen = gen_;
      if (id >= limit_) continue;
      void (*body)(void*, int64_t) = body_;
      void* ctx = ctx_;
      const int64_t count = count_;
      ++busy_;
      lk.unlock();
      claim(body, ctx, count);
      lk.lock();
      if (--busy_ == 0) cv_done_.notify_all();
    }
  }

  std::mutex job_mu_;  // one job at a time
  std::mutex mu_;      // guards the job description, busy_, err_
  std::condition_variable cv_work_, cv_done_;
  std::vector<std::thread*> threads_;  // never joined: workers live as long as the process
  void (*body_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t count_ = 0;
  int limit_ = 0, busy_ = 0;
  uint64_t gen_ = 0;
  std::atomic<uint64_t> published_{0};  // gen_, readable without mu_ (the workers' spin)
  std::atomic<int64_t> next_{0}, done_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr err_;
};

// The process's pool, made on first use and made anew after fork() (the child has no workers and
// may have inherited a locked mutex); the old one is deliberately leaked.
Pool& pool() {
  static std::mutex mu;
  static Pool* p = nullptr;
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lk(mu);
  if (!p || owner != getpid()) {
    p = new Pool();
    owner = getpid();
  }
  return *p;
}

}  // namespace

void run_parallel(int64_t count, void (*body)(void*, int64_t), void* ctx) {
  const int workers = int(std::min<int64_t>(num_threads(), count)) - 1;
  if (workers > 0 && pool().run(count, body, ctx, workers)) return;
  for (int64_t i = 0; i < count; ++i) body(ctx, i);
}

}  // namespace accelsim
