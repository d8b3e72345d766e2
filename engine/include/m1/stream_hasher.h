// XXH3-64 of a byte stream, computed on a helper thread while the caller reads or copies the next bytes.
// Restoring a snapshot checks every byte twice (the store's per-chunk checksum, the engine's state
// trailer); done inline, hashing costs as much as reading the bytes from the page cache. Ranges are
// hashed in the order they were submitted, so the digest equals XXH3-64 of their concatenation.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace m1 {

// One-shot XXH3-64 (the same function as the streaming one; built for this CPU level, AVX2).
uint64_t xxh3_64(const void* data, std::size_t n);

class StreamHasher {
public:
    StreamHasher();   // starts the helper thread
    ~StreamHasher();  // finishes what was submitted, then joins
    StreamHasher(const StreamHasher&) = delete;
    StreamHasher& operator=(const StreamHasher&) = delete;

    // Queues [data, data + n) after everything submitted before and returns its ticket. The bytes must
    // stay unchanged until wait(ticket) (or wait_all, digest, reset) has returned.
    uint64_t submit(const void* data, std::size_t n);
    void wait(uint64_t ticket);
    void wait_all();
    bool done(uint64_t ticket);
    void update(const void* data, std::size_t n);  // hashes on the calling thread, after the queue
    uint64_t digest();                             // of everything so far (waits for the queue)
    void reset();                                  // starts a new stream (waits for the queue)

private:
    struct Range {
        const void* data;
        std::size_t n;
    };
    void run();
    std::mutex mu_;
    std::condition_variable work_, finished_;
    std::deque<Range> queue_;
    uint64_t submitted_ = 0, hashed_ = 0;  // tickets: the n-th range submitted has ticket n
    bool stop_ = false;
    void* state_;  // XXH3_state_t, touched by the helper only while ranges are queued
    std::thread helper_;
};

}  // namespace m1
