// The CPU session on the demo model: any split of the input gives the same logits, state export and
// import round-trip exactly and refuse other models, bad ids are rejected, prefill can be cancelled.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>

#include "m1/backend.h"
#include "m1/state_format.h"

namespace {

std::shared_ptr<const m1::Model> demo() {
    static auto m = m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo");
    return m;
}

std::vector<int32_t> some_ids(size_t n, uint32_t seed = 1) {
    std::vector<int32_t> ids(n);
    uint32_t x = seed;
    for (auto& id : ids) {
        x = x * 1664525u + 1013904223u;
        id = int32_t((x >> 8) % 1000u);
    }
    return ids;
}

double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
    double mx = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        mx = std::max(mx, double(std::fabs(a[i] - b[i])));
        ref = std::max(ref, double(std::fabs(b[i])));
    }
    return mx / ref;
}

TEST(CpuSession, AnySplitGivesTheSameLogits) {
    auto be = m1::make_backend(demo(), "cpu");
    const auto ids = some_ids(300);  // > 4 lightning blocks of 64, not a multiple of 64 or 97
    const int64_t V = demo()->config().vocab_size;
    std::vector<float> full(ids.size() * size_t(V)), chunked(full.size()), stepped(full.size());
    auto s1 = be->new_session();
    s1->forward(ids, full.data());
    auto s2 = be->new_session();
    ASSERT_TRUE(s2->prefill(ids, 97, {}, nullptr, chunked.data()));
    auto s3 = be->new_session();
    s3->forward(std::span(ids).first(150), stepped.data());
    for (size_t t = 150; t < ids.size(); ++t) s3->forward(std::span(ids).subspan(t, 1), stepped.data() + t * size_t(V));
    EXPECT_LT(rel_err(chunked, full), 1e-5);
    EXPECT_LT(rel_err(stepped, full), 1e-5);
    EXPECT_EQ(s1->position(), 300);
    EXPECT_EQ(s3->position(), 300);
    std::vector<float> last(full.end() - V, full.end());
    EXPECT_LT(rel_err(std::vector<float>(s2->logits().begin(), s2->logits().end()), last), 1e-5);
    for (float f : full) ASSERT_TRUE(std::isfinite(f));
}

TEST(CpuSession, ExportImportContinuesExactly) {
    auto be = m1::make_backend(demo(), "cpu");
    const auto ids = some_ids(120, 7);
    auto a = be->new_session();
    a->forward(std::span(ids).first(100));
    m1::VectorSink sink;
    a->export_state(sink);
    auto b = be->new_session();
    m1::SpanSource src(sink.bytes);
    b->import_state(src);
    EXPECT_EQ(b->position(), 100);
    ASSERT_EQ(a->logits().size(), b->logits().size());
    EXPECT_TRUE(std::equal(a->logits().begin(), a->logits().end(), b->logits().begin()));
    a->forward(std::span(ids).subspan(100));
    b->forward(std::span(ids).subspan(100));
    EXPECT_TRUE(std::equal(a->logits().begin(), a->logits().end(), b->logits().begin()));
}

TEST(CpuSession, ImportRefusesDamageOtherModelsAndVersions) {
    auto be = m1::make_backend(demo(), "cpu");
    auto a = be->new_session();
    a->forward(some_ids(10));
    m1::VectorSink sink;
    a->export_state(sink);
    auto b = be->new_session();
    auto try_import = [&](std::vector<uint8_t> bytes) {
        m1::SpanSource src(bytes);
        b->import_state(src);
    };
    // Another model: change one character of the fingerprint (it follows magic, version, length).
    auto other = sink.bytes;
    other[16] ^= 1;
    try {
        try_import(other);
        FAIL() << "accepted another model's state";
    } catch (const m1::StateFormatError& e) {
        EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
    }
    auto version = sink.bytes;
    version[8] = 99;
    try {
        try_import(version);
        FAIL() << "accepted another layout version";
    } catch (const m1::StateFormatError& e) {
        EXPECT_NE(std::string(e.what()).find("layout version"), std::string::npos) << e.what();
    }
    auto flipped = sink.bytes;
    flipped[flipped.size() / 2] ^= 0x40;
    EXPECT_THROW(try_import(flipped), m1::StateFormatError);
    for (size_t cut : {size_t(0), size_t(5), size_t(40), sink.bytes.size() / 2, sink.bytes.size() - 1})
        EXPECT_THROW(try_import(std::vector<uint8_t>(sink.bytes.begin(), sink.bytes.begin() + long(cut))),
                     m1::StateFormatError) << cut;
    EXPECT_EQ(b->position(), 0);  // failed imports leave the session as it was
}

TEST(CpuSession, RejectsIdsOutsideTheVocabulary) {
    auto s = m1::make_backend(demo(), "cpu")->new_session();
    std::vector<int32_t> bad = {1, 2, 1024};
    try {
        s->forward(bad);
        FAIL();
    } catch (const m1::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("1024"), std::string::npos);
    }
    bad = {-1};
    EXPECT_THROW(s->forward(bad), m1::InputError);
    EXPECT_EQ(s->position(), 0);
}

TEST(CpuSession, PrefillCancelsBetweenChunks) {
    auto s = m1::make_backend(demo(), "cpu")->new_session();
    std::atomic<bool> cancel{false};
    int64_t seen = 0;
    auto ids = some_ids(100);
    bool done = s->prefill(ids, 16, [&](int64_t d, int64_t) { seen = d; if (d >= 32) cancel = true; }, &cancel);
    EXPECT_FALSE(done);
    EXPECT_EQ(s->position(), 32);
    EXPECT_EQ(seen, 32);
}

TEST(Backends, UnknownDeviceIsAClearError) {
    EXPECT_THROW(m1::make_backend(demo(), "tpu:0"), m1::BackendUnavailable);
    EXPECT_THROW(m1::DeviceSpec::parse("cuda:x"), std::invalid_argument);
    auto d = m1::DeviceSpec::parse("cuda:0,1");
    EXPECT_EQ(d.kind, "cuda");
    EXPECT_EQ(d.ids, (std::vector<int>{0, 1}));
    EXPECT_EQ(d.to_string(), "cuda:0,1");
}

}  // namespace
