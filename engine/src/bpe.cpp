// BPE merging. Short words (most) merge by repeated scans of a small array; long ones use a min-heap
// of (rank, position) with lazy invalidation, O(n log n), so a 10 MB run of one character stays fast.
#include "bpe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <queue>

#include <xxhash.h>

#include "m1/tokenizer.h"
#include "unicode_utf8.h"

namespace m1::tok {

// ---- GPT-2 byte map -------------------------------------------------------------------------

namespace {
struct ByteMap {
    std::array<std::string, 256> to_char;
    std::unordered_map<uint32_t, uint8_t> to_byte;
    ByteMap() {
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + extra++);
            unicode::append_utf8(to_char[b], cp);
            to_byte[cp] = static_cast<uint8_t>(b);
        }
    }
};
const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}
constexpr size_t kSmallWord = 48;  // below: quadratic scan; above: heap
constexpr size_t kCacheMaxWord = 256;
}  // namespace

const std::string& byte_to_char_utf8(uint8_t b) { return byte_map().to_char[b]; }

bool byte_level_to_bytes(std::string_view token, std::string& out) {
    out.clear();
    const auto& m = byte_map().to_byte;
    for (size_t i = 0; i < token.size();) {
        size_t len;
        bool valid;
        const uint32_t cp = unicode::decode_utf8(token, i, len, valid);
        auto it = m.find(cp);
        if (!valid || it == m.end()) return false;
        out += static_cast<char>(it->second);
        i += len;
    }
    return true;
}

// ---- caches and maps ------------------------------------------------------------------------

size_t StringHash::operator()(std::string_view s) const noexcept { return XXH3_64bits(s.data(), s.size()); }

namespace {
uint64_t word_hash(std::string_view w) {
    const uint64_t h = XXH3_64bits(w.data(), w.size());
    return h ? h : 1;  // 0 marks an empty slot
}
}  // namespace

bool WordCache::find(std::string_view word, std::vector<int32_t>& out) const {
    if (slots_.empty()) return false;
    const uint64_t h = word_hash(word);
    for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
        const Slot& s = slots_[i];
        if (s.hash == 0) return false;
        if (s.hash == h && s.key_len == word.size() && std::memcmp(keys_.data() + s.key_off, word.data(), word.size()) == 0) {
            out.insert(out.end(), ids_.begin() + s.ids_off, ids_.begin() + s.ids_off + s.n_ids);
            return true;
        }
    }
}

void WordCache::insert(std::string_view word, const int32_t* ids, size_t n) {
    if (word.size() >= kCacheMaxWord) return;
    if (slots_.empty()) slots_.resize(kSlots);
    if (used_ * 4 >= kSlots * 3) {  // 75 % full: start over
        std::fill(slots_.begin(), slots_.end(), Slot{});
        keys_.clear();
        ids_.clear();
        used_ = 0;
    }
    const uint64_t h = word_hash(word);
    size_t i = h & (kSlots - 1);
    while (slots_[i].hash != 0) i = (i + 1) & (kSlots - 1);
    slots_[i] = Slot{h, uint32_t(keys_.size()), uint32_t(ids_.size()), uint16_t(word.size()), uint16_t(n)};
    keys_.append(word);
    ids_.insert(ids_.end(), ids, ids + n);
    ++used_;
}

void PairMap::reserve(size_t n) {
    size_t cap = 16;
    shift_ = 60;
    while (cap < 2 * n) {
        cap <<= 1;
        --shift_;
    }
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, Value{0, 0});
    mask_ = cap - 1;
    size_ = 0;
}

void PairMap::insert(int32_t a, int32_t b, Value v) {
    const uint64_t key = pack(a, b);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
        if (keys_[i] == key) { vals_[i] = v; return; }
        if (keys_[i] == kEmpty) {
            keys_[i] = key;
            vals_[i] = v;
            ++size_;
            return;
        }
    }
}

// ---- model ----------------------------------------------------------------------------------

BpeModel::BpeModel(StringMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions opt,
                   bool byte_level)
    : vocab_(std::move(vocab)), opt_(std::move(opt)), byte_level_(byte_level) {
    int32_t max_id = -1;
    for (const auto& [s, id] : vocab_) {
        if (id < 0) throw TokenizerError("negative id " + std::to_string(id) + " for token \"" + s + "\"");
        max_id = std::max(max_id, id);
    }
    // Ids index a table: refuse sparse ids that would make it huge (a corrupt or hostile file).
    if (size_t(max_id) > 16 * vocab_.size() + 4096)
        throw TokenizerError("vocabulary ids are not dense: largest id " + std::to_string(max_id) + " for " +
                             std::to_string(vocab_.size()) + " tokens");
    id_to_token_.assign(size_t(max_id + 1), std::string());
    for (const auto& [s, id] : vocab_) id_to_token_[size_t(id)] = s;
    merges_.reserve(merges.size());
    std::string ab;
    for (size_t r = 0; r < merges.size(); ++r) {
        const auto& [a, b] = merges[r];
        ab.assign(a).append(b);
        auto ia = vocab_.find(a), ib = vocab_.find(b), ic = vocab_.find(ab);
        if (ia == vocab_.end() || ib == vocab_.end() || ic == vocab_.end())
            throw TokenizerError("merge " + std::to_string(r) + " (\"" + a + "\" \"" + b + "\") uses a token missing from the vocabulary");
        merges_.insert(ia->second, ib->second, {uint32_t(r), ic->second});
    }
    if (opt_.unk_token && !vocab_.count(*opt_.unk_token))
        throw TokenizerError("unk_token \"" + *opt_.unk_token + "\" is not in the vocabulary");
    std::fill(std::begin(byte_id_), std::end(byte_id_), -1);
    if (byte_level_) {
        if (!opt_.continuing_subword_prefix.empty() || !opt_.end_of_word_suffix.empty())
            throw TokenizerError("continuing_subword_prefix / end_of_word_suffix with a ByteLevel pre-tokenizer is not supported");
        for (int b = 0; b < 256; ++b) {
            auto it = vocab_.find(byte_to_char_utf8(uint8_t(b)));
            if (it != vocab_.end()) byte_id_[b] = it->second;
        }
        if (opt_.ignore_merges) {
            std::string raw;
            for (const auto& [s, id] : vocab_)
                if (byte_level_to_bytes(s, raw)) raw_vocab_.emplace(raw, id);
        }
    }
}

std::optional<int32_t> BpeModel::token_id(std::string_view token) const {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::token(int32_t id) const {
    if (id < 0 || size_t(id) >= id_to_token_.size() || (id_to_token_[size_t(id)].empty() && !vocab_.count("")))
        return nullptr;
    return &id_to_token_[size_t(id)];
}

// Initial symbols: one per byte (byte-level) or per character, with unknown characters going to
// byte-fallback tokens or the unk token (fused if asked), as HF's merge_word.
void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& ids) const {
    bool all_bytes = byte_level_;
    if (byte_level_) {
        for (unsigned char c : word) {
            if (byte_id_[c] < 0) { all_bytes = false; break; }
            ids.push_back(byte_id_[c]);
        }
        if (all_bytes) return;
        ids.clear();
    }
    int32_t unk_pending = -1;  // an unk id not yet emitted (fused with the next unknown if fuse_unk)
    std::string s;
    for (size_t i = 0; i < word.size();) {
        size_t len = 1;
        if (byte_level_) s = byte_to_char_utf8(uint8_t(word[i]));
        else {
            unicode::decode_utf8(word, i, len);
            s.assign(word.substr(i, len));
            if (i > 0) s.insert(0, opt_.continuing_subword_prefix);
            if (i + len == word.size()) s += opt_.end_of_word_suffix;
        }
        i += len;
        if (auto it = vocab_.find(s); it != vocab_.end()) {
            if (unk_pending >= 0) ids.push_back(unk_pending);
            unk_pending = -1;
            ids.push_back(it->second);
            continue;
        }
        if (opt_.byte_fallback) {
            std::vector<int32_t> bytes;
            char name[8];
            for (unsigned char c : s) {
                std::snprintf(name, sizeof name, "<0x%02X>", c);
                auto it = vocab_.find(std::string_view(name));
                if (it == vocab_.end()) { bytes.clear(); break; }
                bytes.push_back(it->second);
            }
            if (!bytes.empty()) {
                ids.insert(ids.end(), bytes.begin(), bytes.end());
                continue;
            }
        }
        if (opt_.unk_token) {
            const int32_t unk = vocab_.find(*opt_.unk_token)->second;
            if (unk_pending >= 0 && !opt_.fuse_unk) ids.push_back(unk_pending);
            unk_pending = unk;
        }
    }
    if (unk_pending >= 0) ids.push_back(unk_pending);
}

// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties).
void BpeModel::merge_small(std::vector<int32_t>& ids) const {
    uint32_t ranks[kSmallWord];
    int32_t made[kSmallWord];
    const size_t n0 = ids.size();
    for (size_t i = 0; i + 1 < n0; ++i) {
        const PairMap::Value* v = merges_.find(ids[i], ids[i + 1]);
        ranks[i] = v ? v->rank : UINT32_MAX;
        made[i] = v ? v->id : -1;
    }
    size_t n = n0;
    while (n > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < n; ++i)
            if (ranks[i] < ranks[best]) best = i;
        if (ranks[best] == UINT32_MAX) break;
        ids[best] = made[best];
        // Remove symbol best+1 and pair best.
        for (size_t i = best + 1; i + 1 < n; ++i) ids[i] = ids[i + 1];
        for (size_t i = best; i + 2 < n; ++i) { ranks[i] = ranks[i + 1]; made[i] = made[i + 1]; }
        --n;
        auto refresh = [&](size_t i) {
            const PairMap::Value* v = merges_.find(ids[i], ids[i + 1]);
            ranks[i] = v ? v->rank : UINT32_MAX;
            made[i] = v ? v->id : -1;
        };
        if (best > 0) refresh(best - 1);
        if (best + 1 < n) refresh(best);
    }
    ids.resize(n);
}

void BpeModel::merge_large(std::vector<int32_t>& ids) const {
    const size_t n = ids.size();
    std::vector<int32_t> prev(n), next(n);
    std::vector<uint8_t> alive(n, 1);
    for (size_t i = 0; i < n; ++i) {
        prev[i] = int32_t(i) - 1;
        next[i] = i + 1 < n ? int32_t(i + 1) : -1;
    }
    // Entries (rank, pos, merged id); the smallest rank pops first, then the smallest position.
    struct Entry { uint32_t rank; uint32_t pos; int32_t id; };
    auto cmp = [](const Entry& a, const Entry& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
    std::vector<Entry> heap;
    heap.reserve(n);
    for (size_t i = 0; i + 1 < n; ++i)
        if (const PairMap::Value* v = merges_.find(ids[i], ids[i + 1])) heap.push_back({v->rank, uint32_t(i), v->id});
    std::make_heap(heap.begin(), heap.end(), cmp);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), cmp);
        const Entry e = heap.back();
        heap.pop_back();
        if (!alive[e.pos] || next[e.pos] < 0) continue;
        const int32_t r = next[e.pos];
        const PairMap::Value* cur = merges_.find(ids[e.pos], ids[size_t(r)]);
        if (!cur || cur->id != e.id) continue;  // stale: the pair changed since it was queued
        ids[e.pos] = e.id;
        alive[size_t(r)] = 0;
        next[e.pos] = next[size_t(r)];
        if (next[e.pos] >= 0) prev[size_t(next[e.pos])] = int32_t(e.pos);
        if (prev[e.pos] >= 0) {
            const int32_t p = prev[e.pos];
            if (const PairMap::Value* v = merges_.find(ids[size_t(p)], ids[e.pos])) {
                heap.push_back({v->rank, uint32_t(p), v->id});
                std::push_heap(heap.begin(), heap.end(), cmp);
            }
        }
        if (next[e.pos] >= 0) {
            if (const PairMap::Value* v = merges_.find(ids[e.pos], ids[size_t(next[e.pos])])) {
                heap.push_back({v->rank, e.pos, v->id});
                std::push_heap(heap.begin(), heap.end(), cmp);
            }
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; ++i)
        if (alive[i]) ids[k++] = ids[i];
    ids.resize(k);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* cache) const {
    if (word.empty()) return;
    if (cache && cache->find(word, out)) return;
    if (opt_.ignore_merges) {
        const StringMap& whole = byte_level_ ? raw_vocab_ : vocab_;
        if (auto it = whole.find(word); it != whole.end()) {
            out.push_back(it->second);
            return;
        }
    }
    thread_local std::vector<int32_t> ids;
    ids.clear();
    initial_symbols(word, ids);
    if (ids.size() <= kSmallWord) merge_small(ids);
    else merge_large(ids);
    if (cache) cache->insert(word, ids.data(), ids.size());
    out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace m1::tok
