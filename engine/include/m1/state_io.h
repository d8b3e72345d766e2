// Byte streams for exporting and importing engine state (snapshots). The engine writes its state
// through a ByteSink and reads it back through a ByteSource; storage implements both over chunked
// SQLite blobs, tests over memory or files. Streams let a 40 GB state pass with bounded memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace m1 {

struct StateFormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(const void* data, std::size_t n) = 0;  // throws on I/O failure
};

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Reads exactly n bytes or throws StateFormatError("truncated ...").
    virtual void read(void* data, std::size_t n) = 0;
};

// In-memory implementations (tests, small states).
class VectorSink : public ByteSink {
public:
    void write(const void* data, std::size_t n) override {
        const auto* p = static_cast<const uint8_t*>(data);
        bytes.insert(bytes.end(), p, p + n);
    }
    std::vector<uint8_t> bytes;
};

class SpanSource : public ByteSource {
public:
    SpanSource(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    explicit SpanSource(const std::vector<uint8_t>& v) : SpanSource(v.data(), v.size()) {}
    void read(void* out, std::size_t n) override {
        if (n > size_ - pos_) throw StateFormatError("state stream truncated");
        std::memcpy(out, data_ + pos_, n);
        pos_ += n;
    }

private:
    const uint8_t* data_;
    std::size_t size_, pos_ = 0;
};

}  // namespace m1
