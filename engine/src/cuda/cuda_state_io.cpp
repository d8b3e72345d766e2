// StateUpload / StateDownload (see cuda_state_io.h) and the pinned-buffer pool behind them.
#include "cuda/cuda_state_io.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "m1/safetensors.h"

namespace m1::cuda_state {

namespace {

// Pinned host buffers of kSlotBytes, kept for the life of the process: pinning costs about as much as
// copying the bytes, and a restore reuses the buffers of the last one. Never freed (freeing pinned memory
// at exit would race the CUDA runtime's own teardown); the pool holds kSlots buffers per transfer that
// ever ran at the same time as others.
class PinnedPool {
public:
    static PinnedPool& get() {
        static auto* pool = new PinnedPool;
        return *pool;
    }
    void* take() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (!free_.empty()) {
                void* b = free_.back();
                free_.pop_back();
                return b;
            }
        }
        void* b = nullptr;
        M1_CUDA_CHECK(cudaHostAlloc(&b, kSlotBytes, cudaHostAllocPortable));
        return b;
    }
    void give(void* b) {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(b);
    }

private:
    std::mutex mu_;
    std::vector<void*> free_;
};

// Gives back what was taken if taking the rest fails.
void acquire(Slot (&slots)[kSlots]) {
    try {
        for (Slot& s : slots) {
            s.buf = PinnedPool::get().take();
            M1_CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
        }
    } catch (...) {
        for (Slot& s : slots) {
            if (s.copied) cudaEventDestroy(s.copied);
            if (s.buf) PinnedPool::get().give(s.buf);
            s = Slot{};
        }
        throw;
    }
}

// After an error too: no copy or hash may still read or write a buffer when it goes back to the pool.
void release(Slot (&slots)[kSlots], StreamHasher& hash) noexcept {
    for (Slot& s : slots)
        if (s.copied && (s.in_use || s.pending)) cudaEventSynchronize(s.copied);
    hash.wait_all();
    for (Slot& s : slots) {
        if (s.copied) cudaEventDestroy(s.copied);
        if (s.buf) PinnedPool::get().give(s.buf);
        s = Slot{};
    }
}

// Header bytes pass through the running hash, in order with the bulk data.
class TapSource : public ByteSource {
public:
    TapSource(ByteSource& src, StreamHasher& hash) : src_(src), hash_(hash) {}
    void read(void* p, std::size_t n) override {
        src_.read(p, n);
        hash_.update(p, n);
    }

private:
    ByteSource& src_;
    StreamHasher& hash_;
};

class TapSink : public ByteSink {
public:
    TapSink(ByteSink& sink, StreamHasher& hash) : sink_(sink), hash_(hash) {}
    void write(const void* p, std::size_t n) override {
        hash_.update(p, n);
        sink_.write(p, n);
    }

private:
    ByteSink& sink_;
    StreamHasher& hash_;
};

}  // namespace

// --- upload (import) ---

StateUpload::StateUpload(ByteSource& src, cudaStream_t stream) : src_(src), st_(stream) { acquire(slots_); }

StateUpload::~StateUpload() { release(slots_, hash_); }

StateHeader StateUpload::read_header(const ModelConfig& cfg, const std::string& fingerprint) {
    TapSource tap(src_, hash_);
    HashingSource in(tap);  // only for read_state_header's signature; its own hash is not used
    return read_state_header(in, cfg, fingerprint);
}

// The slot used longest ago, once its copy has left it and its bytes are hashed.
Slot& StateUpload::next_slot() {
    Slot& s = slots_[cur_];
    cur_ = (cur_ + 1) % kSlots;
    if (s.in_use) {
        M1_CUDA_CHECK(cudaEventSynchronize(s.copied));
        s.in_use = false;
    }
    if (s.ticket) {
        hash_.wait(s.ticket);
        s.ticket = 0;
    }
    return s;
}

void StateUpload::to_device(void* dev, std::size_t n) {
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(kSlotBytes, n - done);
        Slot& s = next_slot();
        src_.read(s.buf, m);
        s.ticket = hash_.submit(s.buf, m);
        M1_CUDA_CHECK(cudaMemcpyAsync(static_cast<uint8_t*>(dev) + done, s.buf, m, cudaMemcpyHostToDevice, st_));
        M1_CUDA_CHECK(cudaEventRecord(s.copied, st_));
        s.in_use = true;
        done += m;
    }
}

// fp32 K/V (from the CPU backend) -> bf16, as the cache holds it. Rare and small: hashed inline.
void StateUpload::to_device_bf16(void* dev, std::size_t n) {
    std::vector<float> tmp;
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(kSlotBytes, n - done);
        Slot& s = next_slot();
        tmp.resize(m / 2);
        src_.read(tmp.data(), m * 2);
        hash_.update(tmp.data(), m * 2);
        auto* o = static_cast<uint16_t*>(s.buf);
        for (std::size_t i = 0; i < m / 2; ++i) o[i] = f32_to_bf16(tmp[i]);
        M1_CUDA_CHECK(cudaMemcpyAsync(static_cast<uint8_t*>(dev) + done, s.buf, m, cudaMemcpyHostToDevice, st_));
        M1_CUDA_CHECK(cudaEventRecord(s.copied, st_));
        s.in_use = true;
        done += m;
    }
}

void StateUpload::read(void* host, std::size_t n) {
    src_.read(host, n);
    hash_.update(host, n);
}

void StateUpload::finish() {
    M1_CUDA_CHECK(cudaStreamSynchronize(st_));
    for (Slot& s : slots_) s.in_use = false;
    const uint64_t want = hash_.digest();
    uint64_t got = 0;
    src_.read(&got, 8);
    if (got != want) throw StateFormatError("state: checksum mismatch (the stored state is damaged)");
}

// --- download (export) ---

StateDownload::StateDownload(ByteSink& sink, cudaStream_t stream) : sink_(sink), st_(stream) { acquire(slots_); }

StateDownload::~StateDownload() { release(slots_, hash_); }

void StateDownload::write_header(const StateHeader& h) {
    TapSink tap(sink_, hash_);
    HashingSink out(tap);  // only for write_state_header's signature; its own hash is not used
    write_state_header(out, h);
}

void StateDownload::flush(Slot& s) {
    if (!s.pending) return;
    M1_CUDA_CHECK(cudaEventSynchronize(s.copied));
    s.ticket = hash_.submit(s.buf, s.pending);  // hashed while the sink writes the same bytes
    const std::size_t n = s.pending;
    s.pending = 0;
    sink_.write(s.buf, n);
}

void StateDownload::flush_all() {
    for (int k = 0; k < kSlots; ++k) flush(slots_[(cur_ + k) % kSlots]);  // cur_ holds the oldest piece
}

// Pieces queue on the copy engine up to kSlots ahead of the sink.
void StateDownload::from_device(const void* dev, std::size_t n) {
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(kSlotBytes, n - done);
        Slot& s = slots_[cur_];
        flush(s);
        if (s.ticket) {
            hash_.wait(s.ticket);
            s.ticket = 0;
        }
        M1_CUDA_CHECK(cudaMemcpyAsync(s.buf, static_cast<const uint8_t*>(dev) + done, m, cudaMemcpyDeviceToHost, st_));
        M1_CUDA_CHECK(cudaEventRecord(s.copied, st_));
        s.pending = m;
        cur_ = (cur_ + 1) % kSlots;
        done += m;
    }
}

void StateDownload::write(const void* host, std::size_t n) {
    flush_all();
    hash_.update(host, n);
    sink_.write(host, n);
}

void StateDownload::finish() {
    flush_all();
    const uint64_t h = hash_.digest();
    sink_.write(&h, 8);
}

}  // namespace m1::cuda_state
