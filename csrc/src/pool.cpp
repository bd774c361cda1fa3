// The worker pool behind parallel_for (parallel.hpp). Workers sleep between jobs, each pinned to a CPU
// of its own where the process has enough (worker_cpu); the calling thread always works on its own job
// too, so a job finishes even when no worker gets a CPU in time (other processes), and the caller never
// waits for a worker that has not claimed an index.
// Before sleeping, a worker spins for about kSpinNs (and the caller, for the end of its job, as
// long): a futex wake-up took tens of microseconds, as long as a whole batch-1 layer's share, so
// back-to-back jobs (a layer's copy and compute phases, the next layer) found their worker still
// asleep and ran on one thread.
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "accelsim/core.hpp"

namespace accelsim {
namespace {

constexpr int64_t kSpinNs = 100000;  // 0.1 ms

// Worker id's CPU: the (id + 1)-th of the CPUs this process may run on (the first left to the caller,
// which is not pinned), or -1 (not pinned): not on Linux, one CPU only, no (id + 1)-th CPU (workers
// past the CPUs), or ACCELSIM_PIN_THREADS=0. Why: once both vCPUs of a VM had been idle for ~30 ms,
// the worker woken for a job was placed on the caller's CPU and the whole run went on one core
// (DCGAN's 512x4x4 layer run at batch 64 after a 30 ms sleep, Zen 4 VM: 11.7 ms unpinned, 6.6 ms
// pinned, 6.1-6.3 ms without the sleep); OpenVINO pins its threads too (ENABLE_CPU_PINNING) and kept
// its time after the same sleep.
int worker_cpu(int id) {
#if defined(__linux__)
  const char* env = std::getenv("ACCELSIM_PIN_THREADS");
  if (env && std::strcmp(env, "0") == 0) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  const int n = CPU_COUNT(&set);
  if (n < 2 || id + 1 >= n) return -1;
  for (int cpu = 0, k = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set) && k++ == id + 1) return cpu;
#else
  (void)id;
#endif
  return -1;
}

// Pins the calling thread to cpu (best effort: a refusal leaves it unpinned).
void pin_to(int cpu) {
#if defined(__linux__)
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
  (void)cpu;
#endif
}

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
        const int cpu = worker_cpu(id);  // the caller's affinity, read before the thread starts
        threads_.push_back(new std::thread([this, id, cpu] {
          pin_to(cpu);
          work(id);
        }));
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
      cv_work_.wait(lk, [&] { return gen_ != seen; });
      seen = gen_;
      // A job closed before this worker woke (the caller ran it alone), or one it is not needed
      // for: back to the spin above, not to sleep, so the next job (the runtime's back-to-back
      // kernel calls) finds it awake. Sleeping again at once had left every later job of a run to
      // the caller alone once one wake-up came late (after 30 ms idle on a VM's vCPU: DCGAN's
      // 512x4x4 layer run at batch 64 6.1 -> 12.6 ms).
      if (body_ == nullptr || id >= limit_) continue;
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
