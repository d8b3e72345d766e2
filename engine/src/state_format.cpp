// The exported-state header and its hashed stream wrappers (see m1/state_format.h for the layout).
#include "m1/state_format.h"

#include <cstring>

#include <xxhash.h>

namespace m1 {

HashingSink::HashingSink(ByteSink& sink) : sink_(sink), state_(XXH3_createState()) {
    XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
HashingSink::~HashingSink() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void HashingSink::write(const void* p, size_t n) {
    if (n == 0) return;
    XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), p, n);
    sink_.write(p, n);
}
void HashingSink::finish() {
    uint64_t h = XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
    sink_.write(&h, 8);
}

HashingSource::HashingSource(ByteSource& src) : src_(src), state_(XXH3_createState()) {
    XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
HashingSource::~HashingSource() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void HashingSource::read(void* p, size_t n) {
    if (n == 0) return;
    src_.read(p, n);
    XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), p, n);
}
void HashingSource::finish() {
    uint64_t want = XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_)), got = 0;
    src_.read(&got, 8);
    if (got != want) throw StateFormatError("state: checksum mismatch (the stored state is damaged)");
}

void write_state_header(HashingSink& out, const StateHeader& h) {
    out.write(kStateMagic, 8);
    out.write(&h.layout_version, 4);
    uint32_t n = uint32_t(h.fingerprint.size());
    out.write(&n, 4);
    out.write(h.fingerprint.data(), n);
    out.write(&h.position, 8);
    out.write(&h.num_layers, 4);
    out.write(&h.kv_dtype, 4);
    out.write(&h.heads, 4);
    out.write(&h.kv_heads, 4);
    out.write(&h.head_dim, 4);
}

StateHeader read_state_header(HashingSource& in, const ModelConfig& cfg, const std::string& fingerprint) {
    char magic[8];
    in.read(magic, 8);
    if (std::memcmp(magic, kStateMagic, 8) != 0) throw StateFormatError("state: not an M1 engine state (bad magic)");
    StateHeader h;
    in.read(&h.layout_version, 4);
    if (h.layout_version != kStateLayoutVersion)
        throw StateFormatError("state: layout version " + std::to_string(h.layout_version) + ", this engine reads version " +
                               std::to_string(kStateLayoutVersion) + " (re-run the prompt to rebuild it)");
    uint32_t n = 0;
    in.read(&n, 4);
    if (n > 256) throw StateFormatError("state: fingerprint length " + std::to_string(n) + " is not plausible");
    h.fingerprint.resize(n);
    in.read(h.fingerprint.data(), n);
    if (h.fingerprint != fingerprint)
        throw StateFormatError("state: made by another model (fingerprint " + h.fingerprint + ", this model is " +
                               fingerprint + ")");
    in.read(&h.position, 8);
    in.read(&h.num_layers, 4);
    in.read(&h.kv_dtype, 4);
    in.read(&h.heads, 4);
    in.read(&h.kv_heads, 4);
    in.read(&h.head_dim, 4);
    if (h.position < 0 || h.position > cfg.max_position_embeddings)
        throw StateFormatError("state: position " + std::to_string(h.position) + " is outside the model's context");
    if (h.kv_dtype > 1) throw StateFormatError("state: unknown KV dtype code " + std::to_string(h.kv_dtype));
    if (int64_t(h.num_layers) != cfg.num_layers || int64_t(h.heads) != cfg.num_heads ||
        int64_t(h.kv_heads) != cfg.num_kv_heads || int64_t(h.head_dim) != cfg.head_dim)
        throw StateFormatError("state: dimensions do not match the model");
    return h;
}

}  // namespace m1
