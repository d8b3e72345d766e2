// Internal: streaming an exported session state between a byte stream and device memory (the CUDA session's
// export_state / import_state). Three things overlap: the caller's thread reads or writes the stream, a
// helper thread computes the state trailer's XXH3 (m1::StreamHasher), the copy engine moves the bytes between
// pinned host buffers and the device. The pinned buffers come from a process-wide pool and are kept, so a
// restore does not pay for pinning memory (milliseconds per 8 MiB) each time. Memory: four 8 MiB buffers per
// transfer in flight, whatever the state's size.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "m1/config.h"
#include "m1/state_format.h"
#include "m1/state_io.h"
#include "m1/stream_hasher.h"

namespace m1::cuda_state {

inline constexpr int kSlots = 4;
inline constexpr std::size_t kSlotBytes = std::size_t(8) << 20;

struct Slot {
    void* buf = nullptr;          // pinned, kSlotBytes
    cudaEvent_t copied = nullptr; // the copy that uses buf has completed
    std::size_t pending = 0;      // download: bytes copied into buf but not yet written to the sink
    uint64_t ticket = 0;          // the hash of buf's bytes (StreamHasher ticket; 0 = none)
    bool in_use = false;          // upload: a copy from buf was issued
};

// Reads a state from a ByteSource into device memory. Every byte is hashed; finish() checks the trailer.
class StateUpload {
public:
    StateUpload(ByteSource& src, cudaStream_t stream);
    ~StateUpload();  // waits for the copies and hashes still using the buffers, then gives them back
    StateUpload(const StateUpload&) = delete;
    StateUpload& operator=(const StateUpload&) = delete;

    StateHeader read_header(const ModelConfig& cfg, const std::string& fingerprint);
    void to_device(void* dev, std::size_t n);  // the next n bytes of the stream, as they are
    void to_device_bf16(void* dev, std::size_t n);  // the next 2n bytes (fp32) rounded to n bytes of bf16
    void read(void* host, std::size_t n);      // the next n bytes to host memory (small: logits)
    void finish();  // waits for every copy; throws StateFormatError if the trailer does not match

private:
    Slot& next_slot();
    ByteSource& src_;
    cudaStream_t st_;
    Slot slots_[kSlots];
    int cur_ = 0;
    StreamHasher hash_;
};

// Writes a state to a ByteSink from device memory, with the trailer.
class StateDownload {
public:
    StateDownload(ByteSink& sink, cudaStream_t stream);
    ~StateDownload();
    StateDownload(const StateDownload&) = delete;
    StateDownload& operator=(const StateDownload&) = delete;

    void write_header(const StateHeader& h);
    void from_device(const void* dev, std::size_t n);
    void write(const void* host, std::size_t n);  // after everything queued before it
    void finish();                                // writes what is in flight, then the trailer

private:
    void flush(Slot& s);   // waits for the slot's copy, hashes and writes its bytes
    void flush_all();      // every slot, oldest first
    ByteSink& sink_;
    cudaStream_t st_;
    Slot slots_[kSlots];
    int cur_ = 0;
    StreamHasher hash_;
};

}  // namespace m1::cuda_state
