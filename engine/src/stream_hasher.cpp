// StreamHasher (see m1/stream_hasher.h). xxHash is compiled inline here so that it gets the engine's
// -march level (AVX2: about twice the SSE2 build of the shared library).
#include "m1/stream_hasher.h"

#include <new>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace m1 {

uint64_t xxh3_64(const void* data, std::size_t n) { return XXH3_64bits(data, n); }

static XXH3_state_t* st(void* p) { return static_cast<XXH3_state_t*>(p); }

StreamHasher::StreamHasher() : state_(XXH3_createState()) {
    if (!state_) throw std::bad_alloc();
    XXH3_64bits_reset(st(state_));
    helper_ = std::thread([this] { run(); });
}

StreamHasher::~StreamHasher() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    work_.notify_one();
    helper_.join();
    XXH3_freeState(st(state_));
}

void StreamHasher::run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything submitted is hashed
        const Range r = queue_.front();
        lock.unlock();
        XXH3_64bits_update(st(state_), r.data, r.n);
        lock.lock();
        queue_.pop_front();
        hashed_++;
        finished_.notify_all();
    }
}

uint64_t StreamHasher::submit(const void* data, std::size_t n) {
    uint64_t ticket;
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back({data, n});
        ticket = ++submitted_;
    }
    work_.notify_one();
    return ticket;
}

void StreamHasher::wait(uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mu_);
    finished_.wait(lock, [&] { return hashed_ >= ticket; });
}

void StreamHasher::wait_all() {
    std::unique_lock<std::mutex> lock(mu_);
    finished_.wait(lock, [&] { return hashed_ >= submitted_; });
}

bool StreamHasher::done(uint64_t ticket) {
    std::lock_guard<std::mutex> lock(mu_);
    return hashed_ >= ticket;
}

void StreamHasher::update(const void* data, std::size_t n) {
    wait_all();  // the helper is idle now and stays so until the next submit from this thread
    if (n) XXH3_64bits_update(st(state_), data, n);
}

uint64_t StreamHasher::digest() {
    wait_all();
    return XXH3_64bits_digest(st(state_));
}

void StreamHasher::reset() {
    wait_all();
    XXH3_64bits_reset(st(state_));
}

}  // namespace m1
