// m1::Tokenizer: the encode pipeline (added tokens -> normalizer -> pre-tokenizer -> BPE) with long
// texts cut at safe boundaries and encoded on several threads, and decoding.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tokenizer_impl.h"
#include "unicode_norm.h"
#include "unicode_utf8.h"

namespace m1 {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;        // target size of one parallel job
constexpr size_t kParallelMinBytes = 256 * 1024;  // below: one thread

std::atomic<uint64_t> g_generation{1};

bool ascii_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

// A code point that is a letter in every pre-tokenizer regex and NFC-stable (ASCII letters, CJK
// ideographs, kana, Hangul syllables).
bool safe_letter(uint32_t cp) {
    return (cp < 0x80 && ascii_letter(static_cast<unsigned char>(cp))) || (cp >= 0x4E00 && cp <= 0x9FFC) ||
           (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x30A1 && cp <= 0x30FA) || (cp >= 0xAC00 && cp <= 0xD7A3);
}

// Next position >= from where the text can be cut without changing the pre-tokenization:
// "letter|␠letter" (ASCII) or "x\n|letter" with x not whitespace. Every regex of the byte-level
// tokenizers we know ends a piece there and starts the next one there (checked by tests that encode
// long texts whole and chunked). npos when there is none.
size_t next_safe_cut(std::string_view s, size_t from) {
    for (size_t i = std::max<size_t>(from, 2); i + 1 < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == ' ') {
            if (ascii_letter(static_cast<unsigned char>(s[i - 1])) && ascii_letter(static_cast<unsigned char>(s[i + 1])))
                return i;
        } else if (s[i - 1] == '\n') {
            size_t len;
            if (!safe_letter(unicode::decode_utf8(s, i, len))) continue;
            size_t k = i - 2;
            while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
            if (!unicode::is_whitespace(unicode::decode_utf8(s, k, len))) return i;
        }
    }
    return std::string_view::npos;
}

// Whether cutting at next_safe_cut() positions keeps this pre-tokenizer's pieces: checked on probe
// texts, by pre-tokenizing each side of every cut alone and comparing with the whole. A pre-tokenizer
// that does not split at spaces and newlines (none, ByteLevel without its regex, Digits alone) fails.
bool cuts_are_safe(const tok::PreTokenizer& pre) {
    static const char* probes[] = {
        "The cat's hat.\nIt is 42 km\nNext: \xE6\x9D\xB1\xE4\xBA\xAC\n\xE6\x9D\xB1 ok\nA b c\n\nZ end\n",
        "x  y z\tq\r\nDONE'S it'LL go\n123\nabc def!\n)\nk l",
    };
    auto pieces = [&](std::string_view t, uint32_t offset) {
        tok::PreTokenized p;
        p.text.assign(t);
        p.pieces.emplace_back(0, static_cast<uint32_t>(t.size()));
        pre.apply(p);
        std::vector<std::string> out;
        for (auto [b, e] : p.pieces) out.push_back(std::to_string(b + offset) + ":" + p.text.substr(b, e - b));
        return out;
    };
    for (std::string_view probe : probes) {
        const auto whole = pieces(probe, 0);
        size_t cuts = 0;
        for (size_t c = next_safe_cut(probe, 1); c != std::string_view::npos; c = next_safe_cut(probe, c + 1), ++cuts) {
            auto split = pieces(probe.substr(0, c), 0);
            const auto right = pieces(probe.substr(c), static_cast<uint32_t>(c));
            split.insert(split.end(), right.begin(), right.end());
            if (split != whole) return false;
        }
        if (cuts < 4) return false;  // the probes must exercise both kinds of cut
    }
    return true;
}

struct Job {
    std::string_view text;  // ordinary text (already normalized); empty for an added token
    int32_t token = -1;
    std::vector<int32_t> ids;
};

// Per-thread word cache that survives between calls for the same tokenizer.
tok::WordCache& thread_cache(uint64_t generation) {
    thread_local uint64_t owner = 0;
    thread_local tok::WordCache cache;
    if (owner != generation) {
        cache = tok::WordCache();
        owner = generation;
    }
    return cache;
}

}  // namespace

void Tokenizer::Impl::finish_setup() {
    std::vector<const tok::AddedToken*> raw, norm;
    for (size_t i = 0; i < added.size(); ++i) {
        added_by_id[added[i].id] = i;
        added_by_content.emplace(added[i].content, added[i].id);
        (added[i].normalized ? norm : raw).push_back(&added[i]);
    }
    // HF matches normalized tokens by their normalized form.
    std::vector<tok::AddedToken> normalized_copies;
    normalized_copies.reserve(norm.size());
    for (const auto* t : norm) {
        normalized_copies.push_back(*t);
        if (normalizer) normalizer->apply(normalized_copies.back().content);
    }
    norm_storage = std::move(normalized_copies);
    std::vector<const tok::AddedToken*> norm_ptrs;
    for (const auto& t : norm_storage) norm_ptrs.push_back(&t);
    raw_matcher.build(raw);
    norm_matcher.build(norm_ptrs);
    can_chunk = pre.pre && !pre.pre->inserts_prefix() && cuts_are_safe(*pre.pre);
    generation = g_generation.fetch_add(1);
}

void Tokenizer::Impl::encode(std::string_view input, std::vector<int32_t>& out) const {
    std::string sanitized;
    std::string_view text = input;
    if (!unicode::is_valid_utf8(input)) {
        sanitized = unicode::sanitize_utf8(input);
        text = sanitized;
    }
    // 1. Added tokens in the raw text; 2. normalize the rest; 3. normalized added tokens.
    std::vector<tok::AddedSplit> splits;
    raw_matcher.split(text, splits);
    std::vector<std::string> normalized;  // owns normalized text (stable: reserved)
    normalized.reserve(splits.size());
    std::vector<Job> jobs;
    std::vector<tok::AddedSplit> sub;
    for (const auto& sp : splits) {
        if (sp.id >= 0) { jobs.push_back({{}, sp.id, {}}); continue; }
        std::string_view piece = text.substr(sp.begin, sp.end - sp.begin);
        if (normalizer) {
            normalized.emplace_back(piece);
            normalizer->apply(normalized.back());
            piece = normalized.back();
        }
        sub.clear();
        norm_matcher.split(piece, sub);
        for (const auto& s : sub) {
            if (s.id >= 0) { jobs.push_back({{}, s.id, {}}); continue; }
            std::string_view t = piece.substr(s.begin, s.end - s.begin);
            // Long text: cut into chunks at safe boundaries.
            while (can_chunk && t.size() > 2 * kChunkBytes) {
                const size_t cut = next_safe_cut(t, kChunkBytes);
                if (cut == std::string_view::npos) break;
                jobs.push_back({t.substr(0, cut), -1, {}});
                t = t.substr(cut);
            }
            if (!t.empty()) jobs.push_back({t, -1, {}});
        }
    }
    auto run = [this](Job& job, tok::WordCache& cache) {
        if (job.token >= 0) { job.ids.push_back(job.token); return; }
        tok::PreTokenized p;
        p.text.assign(job.text);
        p.pieces.emplace_back(0, static_cast<uint32_t>(p.text.size()));
        if (pre.pre) pre.pre->apply(p);
        for (auto [b, e] : p.pieces) model->encode_word(std::string_view(p.text).substr(b, e - b), job.ids, &cache);
    };
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int nthreads = std::min<int>(threads > 0 ? threads : hw, static_cast<int>(jobs.size()));
    if (text.size() < kParallelMinBytes || nthreads <= 1) {
        tok::WordCache& cache = thread_cache(generation);
        for (auto& job : jobs) run(job, cache);
    } else {
        std::atomic<size_t> next{0};
        std::exception_ptr error;
        std::mutex error_mu;
        auto worker = [&] {
            tok::WordCache cache;
            try {
                for (size_t k; (k = next.fetch_add(1)) < jobs.size();) run(jobs[k], cache);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mu);
                error = std::current_exception();
                next = jobs.size();
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < nthreads; ++t) pool.emplace_back(worker);
        worker();
        for (auto& th : pool) th.join();
        if (error) std::rethrow_exception(error);
    }
    size_t total = 0;
    for (const auto& j : jobs) total += j.ids.size();
    out.reserve(out.size() + total);
    for (const auto& j : jobs) out.insert(out.end(), j.ids.begin(), j.ids.end());
}

std::string Tokenizer::Impl::decode_raw(std::span<const int32_t> ids, bool skip_special) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        if (auto it = added_by_id.find(id); it != added_by_id.end()) {
            if (skip_special && added[it->second].special) continue;
            tokens.push_back(added[it->second].content);
        } else if (const std::string* s = model->token(id)) {
            tokens.push_back(*s);
        }
    }
    if (!decoder) {
        std::string out;
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (i) out += ' ';
            out += tokens[i];
        }
        return out;
    }
    decoder->apply(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
}

// ---- public API ---------------------------------------------------------------------------

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& file_or_dir) {
    namespace fs = std::filesystem;
    const fs::path p(file_or_dir);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        if (fs::exists(p / "tokenizer.json")) return load((p / "tokenizer.json").string());
        if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt"))
            return std::unique_ptr<Tokenizer>(new Tokenizer(load_vocab_merges(file_or_dir)));
        throw TokenizerError(file_or_dir + ": no tokenizer.json, and no vocab.json + merges.txt");
    }
    std::ifstream f(p, std::ios::binary);
    if (!f) throw TokenizerError("cannot open tokenizer file " + file_or_dir);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return from_json(text, file_or_dir);
}

std::unique_ptr<Tokenizer> Tokenizer::from_json(std::string_view json_text, const std::string& origin) {
    return std::unique_ptr<Tokenizer>(new Tokenizer(parse_tokenizer_json(json_text, origin)));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    std::vector<int32_t> ids;
    impl_->encode(text, ids);
    return ids;
}

size_t Tokenizer::count(std::string_view text) const { return encode(text).size(); }

std::string Tokenizer::decode_bytes(std::span<const int32_t> ids, bool skip_special) const {
    return impl_->decode_raw(ids, skip_special);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    return unicode::sanitize_utf8(impl_->decode_raw(ids, skip_special));
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
    if (auto it = impl_->added_by_content.find(token); it != impl_->added_by_content.end()) return it->second;
    return impl_->model->token_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
    if (auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) return impl_->added[it->second].content;
    if (const std::string* s = impl_->model->token(id)) return *s;
    return "";
}

size_t Tokenizer::vocab_size() const {
    int32_t m = impl_->model->max_id();
    for (const auto& t : impl_->added) m = std::max(m, t.id);
    return static_cast<size_t>(m + 1);
}

bool Tokenizer::is_special(int32_t id) const {
    auto it = impl_->added_by_id.find(id);
    return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

void Tokenizer::set_threads(int n) { impl_->threads = n; }

}  // namespace m1
