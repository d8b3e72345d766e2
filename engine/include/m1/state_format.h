// The byte layout of an exported session state, shared by every backend so that a state exported on
// one device imports on another. All integers little-endian.
//   magic "M1STATE\0" | u32 layout_version | u32 fingerprint length | fingerprint bytes
//   | i64 position | u32 num_layers | u32 kv_dtype (0 = f32, 1 = bf16) | u32 heads | u32 kv_heads | u32 head_dim
//   then layer by layer: lightning: f32 S[nh][dh][dh] (rows = key dim, cols = value dim);
//   softmax: K[position][nkv][dh] then V[position][nkv][dh] in kv_dtype (keys after RoPE)
//   | u32 n_logits (0 or vocab) | f32 logits of the last token [n_logits]
//   | u64 xxh3-64 of every byte before it (trailer)
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "m1/config.h"
#include "m1/state_io.h"

namespace m1 {

inline constexpr char kStateMagic[8] = {'M', '1', 'S', 'T', 'A', 'T', 'E', '\0'};
inline constexpr uint32_t kStateLayoutVersion = 1;

struct StateHeader {
    uint32_t layout_version = kStateLayoutVersion;
    std::string fingerprint;
    int64_t position = 0;
    uint32_t num_layers = 0;
    uint32_t kv_dtype = 0;  // 0 = f32, 1 = bf16
    uint32_t heads = 0, kv_heads = 0, head_dim = 0;
};

// The header of a state of a model with config `cfg` after `position` tokens.
inline StateHeader state_header(const ModelConfig& cfg, std::string fingerprint, int64_t position, uint32_t kv_dtype) {
    StateHeader h;
    h.fingerprint = std::move(fingerprint);
    h.position = position;
    h.num_layers = uint32_t(cfg.num_layers);
    h.kv_dtype = kv_dtype;
    h.heads = uint32_t(cfg.num_heads);
    h.kv_heads = uint32_t(cfg.num_kv_heads);
    h.head_dim = uint32_t(cfg.head_dim);
    return h;
}

// Writes through a running hash; finish() appends the trailer.
class HashingSink {
public:
    explicit HashingSink(ByteSink& sink);
    ~HashingSink();
    void write(const void* p, size_t n);
    void finish();

private:
    ByteSink& sink_;
    void* state_;
};

class HashingSource {
public:
    explicit HashingSource(ByteSource& src);
    ~HashingSource();
    void read(void* p, size_t n);
    void finish();  // reads the trailer and throws StateFormatError if it does not match

private:
    ByteSource& src_;
    void* state_;
};

void write_state_header(HashingSink& out, const StateHeader& h);
// Reads and checks the header against the model: another layout version, another fingerprint or
// other dimensions throw StateFormatError with a message saying what differs.
StateHeader read_state_header(HashingSource& in, const ModelConfig& cfg, const std::string& fingerprint);

}  // namespace m1
