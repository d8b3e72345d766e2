// The CPU backend's thread pool: workers sleep on a condition variable between jobs, so a decode step
// with dozens of small parallel loops does not pay for thread creation each time.
#include "thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace m1 {
namespace {

class Pool {
public:
    explicit Pool(int n) : n_(std::max(1, n)) {
        for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { loop(i); });
    }
    ~Pool() {
        {
            std::lock_guard<std::mutex> g(mu_);
            quit_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }
    int size() const { return n_; }

    void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
        std::lock_guard<std::mutex> serial(run_mu_);  // one job at a time (sessions may share the pool)
        {
            std::lock_guard<std::mutex> g(mu_);
            fn_ = &fn;
            total_ = n;
            pending_ = n_ - 1;
            error_ = nullptr;
            ++generation_;
        }
        cv_.notify_all();
        work(0);
        std::unique_lock<std::mutex> g(mu_);
        done_cv_.wait(g, [&] { return pending_ == 0; });
        fn_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void work(int idx) {
        int64_t chunk = (total_ + n_ - 1) / n_, b = std::min<int64_t>(total_, chunk * idx),
                e = std::min<int64_t>(total_, b + chunk);
        if (b >= e) return;
        inside_ = true;
        try {
            (*fn_)(b, e);
        } catch (...) {
            std::lock_guard<std::mutex> g(mu_);
            if (!error_) error_ = std::current_exception();
        }
        inside_ = false;
    }
    void loop(int idx) {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> g(mu_);
                cv_.wait(g, [&] { return quit_ || generation_ != seen; });
                if (quit_) return;
                seen = generation_;
            }
            work(idx);
            {
                std::lock_guard<std::mutex> g(mu_);
                if (--pending_ == 0) done_cv_.notify_one();
            }
        }
    }

public:
    static thread_local bool inside_;

private:
    int n_;
    std::vector<std::thread> workers_;
    std::mutex mu_, run_mu_;
    std::condition_variable cv_, done_cv_;
    const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
    int64_t total_ = 0;
    int pending_ = 0;
    uint64_t generation_ = 0;
    bool quit_ = false;
    std::exception_ptr error_;
};

thread_local bool Pool::inside_ = false;
int g_requested = 0;
std::unique_ptr<Pool> g_pool;
std::mutex g_pool_mu;

Pool& pool() {
    std::lock_guard<std::mutex> g(g_pool_mu);
    if (!g_pool) {
        int n = g_requested > 0 ? g_requested : int(std::thread::hardware_concurrency());
        g_pool = std::make_unique<Pool>(std::max(1, n));
    }
    return *g_pool;
}

}  // namespace

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    Pool& p = pool();
    if (n == 1 || p.size() == 1 || Pool::inside_) {
        fn(0, n);
        return;
    }
    p.run(n, fn);
}

void set_num_threads(int n) {
    std::lock_guard<std::mutex> g(g_pool_mu);
    g_requested = n;
    g_pool.reset();
}

int num_threads() { return pool().size(); }

}  // namespace m1
