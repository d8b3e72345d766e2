// The merge and split of tensor-parallel session states (engine/src/tp_state.h) with stand-in rank sessions
// that hold numbered bytes: a state split over 2, 4 or 8 ranks and merged back is the same stream (KV heads
// split, or copied when ranks outnumber them; KV caches longer than one interleaving block); a damaged or
// truncated stream reaches no rank; a failing rank or sink ends in its error, never a hang.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine/src/tp_state.h"
#include "m1/parallel_shard.h"
#include "m1/state_format.h"

namespace m1 {
namespace {

ModelConfig small_config(int64_t heads, int64_t kv_heads) {
    ModelConfig c;
    c.hidden_size = 64; c.num_heads = heads; c.num_kv_heads = kv_heads; c.head_dim = 8; c.rotary_dim = 8;
    c.intermediate_size = 64; c.num_experts = 4; c.top_k = 2; c.vocab_size = 50;
    c.max_position_embeddings = 100000;
    c.num_layers = 3;
    c.layer_kinds = {LayerKind::Lightning, LayerKind::Softmax, LayerKind::Lightning};
    return c;
}

// A session whose state is plain bytes in the shared format (kv_dtype bf16): per layer either
// [heads][dh][dh] fp32 or K and V [position][kv_heads][dh] bf16, then the logits.
class FakeSession : public Session {
public:
    FakeSession(ModelConfig cfg, std::string fp) : cfg_(std::move(cfg)), fp_(std::move(fp)) {}
    const ModelConfig& config() const override { return cfg_; }
    const std::string& fingerprint() const override { return fp_; }
    std::string device() const override { return "fake"; }
    int64_t position() const override { return pos_; }
    std::span<const float> logits() const override { return logits_; }
    void reset() override {
        pos_ = 0;
        layers_.clear();
        logits_.clear();
        ++resets;
    }
    void forward(std::span<const int32_t>, float*) override { throw std::logic_error("not used"); }

    std::size_t layer_bytes(int l, int64_t pos) const {
        const std::size_t dh = std::size_t(cfg_.head_dim);
        if (cfg_.layer_kinds[std::size_t(l)] == LayerKind::Lightning) return std::size_t(cfg_.num_heads) * dh * dh * 4;
        return 2 * std::size_t(pos) * std::size_t(cfg_.num_kv_heads) * dh * 2;
    }
    void fill(int64_t pos, uint32_t seed) {  // a random state at `pos`
        std::mt19937 g(seed);
        pos_ = pos;
        layers_.assign(std::size_t(cfg_.num_layers), {});
        for (int l = 0; l < int(cfg_.num_layers); ++l) {
            layers_[std::size_t(l)].resize(layer_bytes(l, pos));
            for (auto& b : layers_[std::size_t(l)]) b = uint8_t(g());
        }
        logits_.resize(std::size_t(cfg_.vocab_size));
        for (auto& x : logits_) x = float(g() % 1000) / 7.f;
    }
    void export_state(ByteSink& sink) const override {
        if (fail_export) throw std::runtime_error("export failed on purpose");
        HashingSink out(sink);
        write_state_header(out, state_header(cfg_, fp_, pos_, 1));
        for (const auto& l : layers_) out.write(l.data(), l.size());
        const uint32_t n = uint32_t(logits_.size());
        out.write(&n, 4);
        out.write(logits_.data(), logits_.size() * 4);
        out.finish();
    }
    void import_state(ByteSource& source) override {
        HashingSource in(source);
        StateHeader h = read_state_header(in, cfg_, fp_);
        std::vector<std::vector<uint8_t>> layers(std::size_t(cfg_.num_layers));
        for (int l = 0; l < int(cfg_.num_layers); ++l) {
            layers[std::size_t(l)].resize(layer_bytes(l, h.position));
            in.read(layers[std::size_t(l)].data(), layers[std::size_t(l)].size());
        }
        uint32_t n = 0;
        in.read(&n, 4);
        std::vector<float> lg(n);
        in.read(lg.data(), std::size_t(n) * 4);
        in.finish();
        if (fail_commit) throw std::runtime_error("out of memory on purpose");
        layers_ = std::move(layers);
        logits_ = std::move(lg);
        pos_ = h.position;
    }

    std::vector<std::vector<uint8_t>> layers_;
    bool fail_export = false, fail_commit = false;
    int resets = 0;

private:
    ModelConfig cfg_;
    std::string fp_;
    int64_t pos_ = 0;
    std::vector<float> logits_;
};

// Rank sessions with each rank's local heads, and a runner that gives each rank its own thread.
struct Ranks {
    std::vector<std::unique_ptr<FakeSession>> s;
    TpRankRunner run;
    Ranks(const ModelConfig& g, int n) {
        for (int r = 0; r < n; ++r) {
            TpShape tp = tp_shape(g, r, n, MoeSplit::tensor);
            ModelConfig c = g;
            c.num_heads = tp.heads.size();
            c.num_kv_heads = tp.kv_heads.size();
            s.push_back(std::make_unique<FakeSession>(c, "fp"));
        }
        run = [this](const std::function<void(int)>& fn) {
            std::vector<std::exception_ptr> errs(s.size());
            std::vector<std::thread> th;
            for (std::size_t r = 0; r < s.size(); ++r)
                th.emplace_back([&, r] {
                    try {
                        fn(int(r));
                    } catch (...) {
                        errs[r] = std::current_exception();
                    }
                });
            for (auto& t : th) t.join();
            return errs;
        };
    }
    std::vector<Session*> all() {
        std::vector<Session*> v;
        for (auto& x : s) v.push_back(x.get());
        return v;
    }
    std::vector<const Session*> all_const() {
        std::vector<const Session*> v;
        for (auto& x : s) v.push_back(x.get());
        return v;
    }
};

std::vector<uint8_t> global_state(const ModelConfig& g, int64_t pos, uint32_t seed) {
    FakeSession whole(g, "fp");
    whole.fill(pos, seed);
    VectorSink out;
    whole.export_state(out);
    return out.bytes;
}

struct Case {
    int64_t heads, kv_heads;
    int ranks;
    int64_t position;
};

class TpStateMerge : public ::testing::TestWithParam<Case> {};

TEST_P(TpStateMerge, SplitThenMergeGivesTheSameStream) {
    const Case k = GetParam();
    const ModelConfig g = small_config(k.heads, k.kv_heads);
    const auto bytes = global_state(g, k.position, 3);
    Ranks ranks(g, k.ranks);
    SpanSource in(bytes);
    tp_import_state(g, ranks.all(), ranks.run, in);
    for (auto& s : ranks.s) EXPECT_EQ(s->position(), k.position);
    // Rank r's lightning state is heads [r*nh/n, (r+1)*nh/n) of the whole one.
    FakeSession whole(g, "fp");
    whole.fill(k.position, 3);
    const int r = k.ranks - 1;
    const std::size_t per_head = std::size_t(g.head_dim * g.head_dim) * 4;
    const auto& mine = ranks.s[std::size_t(r)]->layers_[0];
    ASSERT_EQ(mine.size(), per_head * std::size_t(g.num_heads / k.ranks));
    EXPECT_TRUE(std::equal(mine.begin(), mine.end(), whole.layers_[0].begin() + std::ptrdiff_t(per_head * std::size_t(r * g.num_heads / k.ranks))));
    VectorSink out;
    tp_export_state(g, ranks.all_const(), ranks.run, out);
    EXPECT_TRUE(out.bytes == bytes) << "merged " << out.bytes.size() << " bytes, split " << bytes.size();
}

INSTANTIATE_TEST_SUITE_P(Shapes, TpStateMerge,
                         ::testing::Values(Case{8, 4, 2, 100}, Case{8, 8, 8, 5000}, Case{8, 2, 4, 2049},
                                           Case{8, 1, 2, 3000}, Case{8, 2, 8, 0}));

TEST(TpStateMergeErrors, DamagedOrTruncatedReachesNoRank) {
    const ModelConfig g = small_config(8, 2);
    auto bytes = global_state(g, 2100, 4);
    Ranks ranks(g, 2);
    bytes[bytes.size() / 2] ^= 1;
    SpanSource bad(bytes);
    EXPECT_THROW(tp_import_state(g, ranks.all(), ranks.run, bad), StateFormatError);
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(bytes.size() / 2));
    SpanSource short_in(cut);
    EXPECT_THROW(tp_import_state(g, ranks.all(), ranks.run, short_in), StateFormatError);
    for (auto& s : ranks.s) EXPECT_EQ(s->position(), 0);
    FakeSession other(g, "another model");
    other.fill(10, 1);
    VectorSink foreign;
    other.export_state(foreign);
    SpanSource f(foreign.bytes);
    EXPECT_THROW(tp_import_state(g, ranks.all(), ranks.run, f), StateFormatError);
}

TEST(TpStateMergeErrors, FailingRankOrSinkEndsInItsError) {
    const ModelConfig g = small_config(8, 2);
    const auto bytes = global_state(g, 6000, 5);
    Ranks ranks(g, 4);
    SpanSource in(bytes);
    tp_import_state(g, ranks.all(), ranks.run, in);

    ranks.s[2]->fail_export = true;
    VectorSink out;
    EXPECT_THROW(
        {
            try {
                tp_export_state(g, ranks.all_const(), ranks.run, out);
            } catch (const std::runtime_error& e) {
                EXPECT_NE(std::string(e.what()).find("on purpose"), std::string::npos) << e.what();
                throw;
            }
        },
        std::runtime_error);
    ranks.s[2]->fail_export = false;

    struct FullDisk : ByteSink {
        std::size_t left = 5000;
        void write(const void*, std::size_t n) override {
            if (n > left) throw std::runtime_error("disk full");
            left -= n;
        }
    } disk;
    EXPECT_THROW(tp_export_state(g, ranks.all_const(), ranks.run, disk), std::runtime_error);

    // The rank threads cannot start: both directions end in that error.
    TpRankRunner broken = [](const std::function<void(int)>&) -> std::vector<std::exception_ptr> {
        throw std::runtime_error("no threads");
    };
    EXPECT_THROW(tp_export_state(g, ranks.all_const(), broken, out), std::runtime_error);
    SpanSource unused(bytes);
    EXPECT_THROW(tp_import_state(g, ranks.all(), broken, unused), std::runtime_error);
    for (auto& s : ranks.s) EXPECT_EQ(s->position(), 6000);

    // One rank fails while committing: every rank starts over at position 0 rather than disagreeing.
    ranks.s[1]->fail_commit = true;
    SpanSource again(bytes);
    EXPECT_THROW(tp_import_state(g, ranks.all(), ranks.run, again), std::runtime_error);
    for (auto& s : ranks.s) EXPECT_EQ(s->position(), 0);
}

}  // namespace
}  // namespace m1
