// Session states of a tensor-parallel run in the one format every backend shares (state_format.h): each
// rank exports its own heads' part through a bounded pipe and the parts are merged head by head (lightning
// states) and position by position (KV cache) into one stream; import splits a stream the same way. So a
// snapshot taken on 2 GPUs restores on 1, on the CPU or on 8, and the reverse. Memory stays bounded.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "tp_state.h"

#include "m1/parallel_shard.h"
#include "m1/state_format.h"

namespace m1 {
namespace {

// One side stopped (the reader gave up, or the writer failed): the other side's call throws this.
struct PipeClosed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A bounded byte queue between two threads: one writer, one reader.
class Pipe : public ByteSink, public ByteSource {
public:
    void write(const void* data, std::size_t n) override {
        const auto* p = static_cast<const uint8_t*>(data);
        while (n > 0) {
            const std::size_t m = std::min(n, kPiece);
            std::unique_lock l(mu_);
            cv_.wait(l, [&] { return queued_ < kCap || cancelled_; });
            if (cancelled_) throw PipeClosed("state transfer stopped by the other side");
            q_.emplace_back(p, p + m);
            queued_ += m;
            cv_.notify_all();
            p += m;
            n -= m;
        }
    }
    void read(void* data, std::size_t n) override {
        auto* p = static_cast<uint8_t*>(data);
        while (n > 0) {
            std::unique_lock l(mu_);
            cv_.wait(l, [&] { return !q_.empty() || finished_; });
            if (q_.empty()) {
                if (!error_.empty()) throw PipeClosed(error_);
                throw StateFormatError("state stream truncated");
            }
            auto& f = q_.front();
            const std::size_t m = std::min(n, f.size() - off_);
            std::memcpy(p, f.data() + off_, m);
            off_ += m;
            p += m;
            n -= m;
            if (off_ == f.size()) {
                queued_ -= f.size();
                q_.pop_front();
                off_ = 0;
                cv_.notify_all();
            }
        }
    }
    // The writer is done; a non-empty error makes the reader's next read past the data throw it.
    void finish(const std::string& error = {}) {
        std::lock_guard l(mu_);
        finished_ = true;
        if (error_.empty()) error_ = error;
        cv_.notify_all();
    }
    // The reader gives up: the writer's calls throw from now on.
    void cancel() {
        std::lock_guard l(mu_);
        cancelled_ = true;
        q_.clear();
        queued_ = off_ = 0;
        cv_.notify_all();
    }

private:
    static constexpr std::size_t kPiece = std::size_t(4) << 20, kCap = std::size_t(32) << 20;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::vector<uint8_t>> q_;
    std::size_t queued_ = 0, off_ = 0;
    bool finished_ = false, cancelled_ = false;
    std::string error_;
};

template <class In, class Out>
void pass(In& in, Out& out, std::size_t n, std::vector<uint8_t>& buf) {
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(buf.size(), n - done);
        in.read(buf.data(), m);
        out.write(buf.data(), m);
        done += m;
    }
}

// The KV heads each rank contributes to the merged cache: ranks that share one KV head (fewer KV heads
// than ranks) hold copies, and only the first of them is taken.
std::vector<bool> kv_owner(const std::vector<TpShape>& shapes) {
    std::vector<bool> own(shapes.size());
    int64_t covered = 0;
    for (std::size_t r = 0; r < shapes.size(); ++r) {
        own[r] = shapes[r].kv_heads.begin >= covered && shapes[r].kv_heads.size() > 0;
        if (own[r]) covered = shapes[r].kv_heads.end;
    }
    return own;
}

constexpr int64_t kPositionsPerBlock = 2048;  // KV rows interleaved at a time

// Runs `work` on the rank threads while `main` runs here; joins both and rethrows the cause: an error
// that is not a closed pipe (the other side's failure) first, the main side's before the ranks'.
void run_both(const TpRankRunner& ranks, std::vector<Pipe>& pipes, bool main_writes,
              const std::function<void(int)>& work, const std::function<void()>& main,
              std::vector<std::exception_ptr>& rank_errors) {
    std::exception_ptr runner_error;
    std::thread t([&] {
        try {
            rank_errors = ranks(work);
        } catch (...) {  // the rank threads never ran: release the main side
            runner_error = std::current_exception();
            for (auto& p : pipes) main_writes ? p.cancel() : p.finish("the rank threads failed");
        }
    });
    std::exception_ptr main_error;
    try {
        main();
    } catch (...) {
        main_error = std::current_exception();
        for (auto& p : pipes) main_writes ? p.finish("state transfer stopped: the stream failed") : p.cancel();
    }
    t.join();
    auto is_pipe = [](const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const PipeClosed&) {
            return true;
        } catch (...) {
            return false;
        }
    };
    std::vector<std::exception_ptr> all{runner_error, main_error};
    all.insert(all.end(), rank_errors.begin(), rank_errors.end());
    for (auto& e : all)
        if (e && !is_pipe(e)) std::rethrow_exception(e);
    for (auto& e : all)
        if (e) std::rethrow_exception(e);
}

}  // namespace

void tp_export_state(const ModelConfig& g, const std::vector<const Session*>& ranks, const TpRankRunner& runner,
                     ByteSink& sink) {
    const int n = int(ranks.size());
    std::vector<TpShape> shapes;
    for (int r = 0; r < n; ++r) shapes.push_back(tp_shape(g, r, n, MoeSplit::tensor));
    const auto own = kv_owner(shapes);
    std::vector<Pipe> pipes(static_cast<std::size_t>(n));
    auto work = [&](int r) {
        try {
            ranks[std::size_t(r)]->export_state(pipes[std::size_t(r)]);
            pipes[std::size_t(r)].finish();
        } catch (const std::exception& e) {
            pipes[std::size_t(r)].finish(std::string("rank ") + std::to_string(r) + ": " + e.what());
            throw;
        } catch (...) {
            pipes[std::size_t(r)].finish("rank " + std::to_string(r) + " failed");
            throw;
        }
    };
    auto merge = [&] {
        std::vector<std::unique_ptr<HashingSource>> in;
        std::vector<StateHeader> hs;
        for (int r = 0; r < n; ++r) {
            in.push_back(std::make_unique<HashingSource>(pipes[std::size_t(r)]));
            hs.push_back(read_state_header(*in.back(), ranks[std::size_t(r)]->config(), ranks[0]->fingerprint()));
            if (hs.back().position != hs[0].position || hs.back().kv_dtype != hs[0].kv_dtype)
                throw std::runtime_error("exporting a state: the ranks disagree on the position or the KV format");
        }
        HashingSink out(sink);
        StateHeader h = hs[0];
        h.heads = uint32_t(g.num_heads);
        h.kv_heads = uint32_t(g.num_kv_heads);
        write_state_header(out, h);
        const std::size_t dh = std::size_t(g.head_dim), es = h.kv_dtype == 1 ? 2 : 4;
        std::vector<uint8_t> buf(std::size_t(8) << 20), block;
        for (int l = 0; l < int(g.num_layers); ++l) {
            if (g.layer_kinds[std::size_t(l)] == LayerKind::Lightning) {  // [nh][dh][dh]: ranks' heads in order
                for (int r = 0; r < n; ++r) pass(*in[std::size_t(r)], out, std::size_t(shapes[std::size_t(r)].heads.size()) * dh * dh * 4, buf);
                continue;
            }
            const std::size_t row = std::size_t(g.num_kv_heads) * dh * es;
            for (int kv = 0; kv < 2; ++kv)  // K, then V: [position][nkv][dh], each rank's KV heads a column block
                for (int64_t p0 = 0; p0 < h.position; p0 += kPositionsPerBlock) {
                    const std::size_t rows = std::size_t(std::min<int64_t>(kPositionsPerBlock, h.position - p0));
                    block.resize(rows * row);
                    std::size_t col = 0;
                    for (int r = 0; r < n; ++r) {
                        const std::size_t w = std::size_t(shapes[std::size_t(r)].kv_heads.size()) * dh * es;
                        std::vector<uint8_t> part(rows * w);
                        in[std::size_t(r)]->read(part.data(), part.size());
                        if (!own[std::size_t(r)]) continue;  // a copy of a KV head already taken
                        for (std::size_t i = 0; i < rows; ++i) std::memcpy(&block[i * row + col], &part[i * w], w);
                        col += w;
                    }
                    out.write(block.data(), block.size());
                }
        }
        for (int r = 0; r < n; ++r) {  // every rank holds the gathered logits; rank 0's are written
            uint32_t nlog = 0;
            in[std::size_t(r)]->read(&nlog, 4);
            std::vector<float> lg(nlog);
            in[std::size_t(r)]->read(lg.data(), std::size_t(nlog) * 4);
            if (r == 0) {
                out.write(&nlog, 4);
                out.write(lg.data(), lg.size() * 4);
            }
            in[std::size_t(r)]->finish();
        }
        out.finish();
    };
    std::vector<std::exception_ptr> errs;
    run_both(runner, pipes, /*main_writes=*/false, work, merge, errs);
}

void tp_import_state(const ModelConfig& g, const std::vector<Session*>& ranks, const TpRankRunner& runner,
                     ByteSource& source) {
    const int n = int(ranks.size());
    std::vector<TpShape> shapes;
    for (int r = 0; r < n; ++r) shapes.push_back(tp_shape(g, r, n, MoeSplit::tensor));
    // Checked here first, so that a foreign or damaged stream never reaches the ranks.
    HashingSource in(source);
    StateHeader h = read_state_header(in, g, ranks[0]->fingerprint());
    std::vector<Pipe> pipes(static_cast<std::size_t>(n));
    auto work = [&](int r) {
        try {
            ranks[std::size_t(r)]->import_state(pipes[std::size_t(r)]);
        } catch (...) {
            pipes[std::size_t(r)].cancel();
            throw;
        }
    };
    auto split = [&] {
        std::vector<std::unique_ptr<HashingSink>> out;
        for (int r = 0; r < n; ++r) {
            out.push_back(std::make_unique<HashingSink>(pipes[std::size_t(r)]));
            StateHeader hr = h;
            hr.heads = uint32_t(shapes[std::size_t(r)].heads.size());
            hr.kv_heads = uint32_t(shapes[std::size_t(r)].kv_heads.size());
            write_state_header(*out.back(), hr);
        }
        const std::size_t dh = std::size_t(g.head_dim), es = h.kv_dtype == 1 ? 2 : 4;
        std::vector<uint8_t> buf(std::size_t(8) << 20), block, part;
        for (int l = 0; l < int(g.num_layers); ++l) {
            if (g.layer_kinds[std::size_t(l)] == LayerKind::Lightning) {
                for (int r = 0; r < n; ++r) pass(in, *out[std::size_t(r)], std::size_t(shapes[std::size_t(r)].heads.size()) * dh * dh * 4, buf);
                continue;
            }
            const std::size_t row = std::size_t(g.num_kv_heads) * dh * es;
            for (int kv = 0; kv < 2; ++kv)
                for (int64_t p0 = 0; p0 < h.position; p0 += kPositionsPerBlock) {
                    const std::size_t rows = std::size_t(std::min<int64_t>(kPositionsPerBlock, h.position - p0));
                    block.resize(rows * row);
                    in.read(block.data(), block.size());
                    for (int r = 0; r < n; ++r) {  // each rank's KV heads (copies included)
                        const std::size_t w = std::size_t(shapes[std::size_t(r)].kv_heads.size()) * dh * es;
                        const std::size_t col = std::size_t(shapes[std::size_t(r)].kv_heads.begin) * dh * es;
                        part.resize(rows * w);
                        for (std::size_t i = 0; i < rows; ++i) std::memcpy(&part[i * w], &block[i * row + col], w);
                        out[std::size_t(r)]->write(part.data(), part.size());
                    }
                }
        }
        uint32_t nlog = 0;
        in.read(&nlog, 4);
        if (nlog != 0 && nlog != uint32_t(g.vocab_size))
            throw StateFormatError("state: the stored logits have " + std::to_string(nlog) +
                                   " entries, the model's vocabulary " + std::to_string(g.vocab_size));
        std::vector<float> lg(nlog);
        in.read(lg.data(), std::size_t(nlog) * 4);
        in.finish();  // the whole stream is sound: only now do the ranks get their trailers and commit
        for (int r = 0; r < n; ++r) {
            out[std::size_t(r)]->write(&nlog, 4);
            out[std::size_t(r)]->write(lg.data(), lg.size() * 4);
            out[std::size_t(r)]->finish();
            pipes[std::size_t(r)].finish();
        }
    };
    std::vector<std::exception_ptr> errs;
    try {
        run_both(runner, pipes, /*main_writes=*/true, work, split, errs);
    } catch (...) {
        // A rank that failed while committing (out of memory) leaves the others ahead: start them all over.
        bool some_committed = false;
        for (auto& e : errs) some_committed |= !e;
        if (some_committed && !errs.empty()) {
            try {
                runner([&](int r) { ranks[std::size_t(r)]->reset(); });
            } catch (...) {
            }
        }
        throw;
    }
}

}  // namespace m1
