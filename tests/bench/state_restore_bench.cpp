// Restore vs re-prefill on the GPU (issue 6): an M1-width slice (random weights made on the GPU) prefills each
// context from scratch, exports its state to a plain file (write + fsync), and imports it into fresh sessions
// from the file cold (page cache dropped) and warm, and from host memory. Validated before any row is printed:
// the restored logits, the next token's logits and a re-export must match the original session.
// Built again as qt_state_restore_bench (M1_RESTORE_BENCH_SQLITE), it also stores each state through the real
// SQLite snapshot store (storage/) and restores it from there, cold and warm, beside the plain file.
// usage: state_restore_bench [--contexts 8192,32768,131072] [--chunk 8192] [--dir DIR] [--warm-runs 3] [--json FILE]
//   [--compare-workers 0,1,2,4] (qt_ only: SQLite restores also warm with each read-ahead worker count, cold with 0)
#include <algorithm>
#include <cstdio>
#include <string>

#if defined(M1_HAVE_CUDA)
#include <cuda_runtime.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "engine/src/cuda/cuda_backend.h"
#include "kernels/device_info.cuh"

#include "bench/bench_args.h"
#include "bench/m1_slice.h"

#if defined(M1_RESTORE_BENCH_SQLITE)
#include <sqlite3.h>

#include "storage/database.h"
#include "storage/prefix_hash.h"
#include "storage/snapshot_store.h"
#include "storage/snapshot_stream.h"
#endif

using namespace m1;

namespace {


double now() { return bench::now_seconds(); }

void sys_check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

// A plain file written with write(2); close() fsyncs, so the export time includes reaching the disk.
class FileSink : public ByteSink {
public:
    explicit FileSink(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)) {
        sys_check(fd_ >= 0, "open " + path);
    }
    ~FileSink() override {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(const void* data, std::size_t n) override {
        const auto* p = static_cast<const char*>(data);
        while (n > 0) {
            const ssize_t w = ::write(fd_, p, n);
            sys_check(w > 0, "write");
            p += w;
            n -= std::size_t(w);
            bytes += uint64_t(w);
        }
    }
    void close() {
        sys_check(::fsync(fd_) == 0, "fsync");
        sys_check(::close(fd_) == 0, "close");
        fd_ = -1;
    }
    uint64_t bytes = 0;

private:
    int fd_;
};

class FileSource : public ByteSource {
public:
    explicit FileSource(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY)) {
        sys_check(fd_ >= 0, "open " + path);
    }
    ~FileSource() override { ::close(fd_); }
    void read(void* data, std::size_t n) override {
        auto* p = static_cast<char*>(data);
        while (n > 0) {
            const ssize_t r = ::read(fd_, p, n);
            sys_check(r >= 0, "read");
            if (r == 0) throw StateFormatError("state file truncated");
            p += r;
            n -= std::size_t(r);
        }
    }

private:
    int fd_;
};

// Compares everything written to it with a file's bytes, in order (the re-export check).
class CompareSink : public ByteSink {
public:
    explicit CompareSink(const std::string& path) : src_(path) {}
    void write(const void* data, std::size_t n) override {
        buf_.resize(n);
        src_.read(buf_.data(), n);
        if (std::memcmp(buf_.data(), data, n) != 0) equal = false;
        bytes += n;
    }
    bool equal = true;
    uint64_t bytes = 0;

private:
    FileSource src_;
    std::vector<char> buf_;
};

// Drops a file from the page cache; returns the fraction of its pages still resident afterwards (mincore).
double drop_from_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    sys_check(fd >= 0, "open " + path);
    struct stat st {};
    sys_check(::fstat(fd, &st) == 0, "fstat");
    sys_check(::fdatasync(fd) == 0, "fdatasync");
    sys_check(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0, "posix_fadvise");
    const std::size_t size = std::size_t(st.st_size), page = std::size_t(::sysconf(_SC_PAGESIZE));
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    sys_check(map != MAP_FAILED, "mmap");
    std::vector<unsigned char> vec((size + page - 1) / page);
    sys_check(::mincore(map, size, vec.data()) == 0, "mincore");
    std::size_t resident = 0;
    for (unsigned char v : vec) resident += v & 1;
    ::munmap(map, size);
    ::close(fd);
    return vec.empty() ? 0.0 : double(resident) / double(vec.size());
}

// Plain sequential read of the file in 16 MiB pieces (the import's own piece size): the disk's peer number.
double raw_read_seconds(const std::string& path, std::vector<char>& buf) {
    FileSource src(path);
    struct stat st {};
    sys_check(::stat(path.c_str(), &st) == 0, "stat");
    const double a = now();
    for (std::size_t done = 0, n = std::size_t(st.st_size); done < n;) {
        const std::size_t m = std::min(buf.size(), n - done);
        src.read(buf.data(), m);
        done += m;
    }
    return now() - a;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (!(d <= m)) m = d;  // NaN propagates as a failure
    }
    return m;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Row {
    int ctx;
    uint64_t bytes;
    double prefill_s, export_s, cold_s, warm_s, memory_s, raw_cold_s, raw_warm_s, resident_before_cold;
    double restored_logit_diff, next_logit_diff;
    bool reexport_equal;
    // Through the SQLite snapshot store (qt_state_restore_bench only; 0 otherwise).
    double db_store_s = 0, db_durable_s = 0, db_cold_s = 0, db_warm_s = 0, db_resident_before_cold = 0;
    double db_cold_0_s = 0;                           // cold with the one-connection reader (workers = 0)
    std::vector<std::pair<int, double>> db_warm_by_k;  // warm with K read-ahead workers (--compare-workers)
    uint64_t db_bytes = 0;
};

#if defined(M1_RESTORE_BENCH_SQLITE)
namespace st = m1::storage;

void remove_db(const std::string& db) {
    for (const char* ext : {"", "-wal", "-shm"}) ::unlink((db + ext).c_str());
}

// Export into a fresh database through SnapshotWriter (what the app does after a prefill): until the manifest
// commits, then until a TRUNCATE checkpoint has written and fsynced the database file too.
void sqlite_store(Session& s, std::span<const int32_t> prompt, const std::string& db_path, Row& r) {
    remove_db(db_path);
    st::Database db(db_path);
    const double a = now();
    st::SnapshotWriter w(db, {s.fingerprint(), st::tokenPrefixHash(prompt), int64_t(prompt.size())},
                         st::SnapshotKind::Corpus);
    s.export_state(w);
    r.db_bytes = uint64_t(w.commit().sizeBytes);
    r.db_store_s = now() - a;
    const int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) throw std::runtime_error(db.describeError("checkpoint", rc));
    r.db_durable_s = now() - a;
}

// What the ask pipeline does to resume: look the prefix up, stream the snapshot into a reset session.
// workers: the reader's read-ahead threads; -1: its default.
double sqlite_restore(st::Database& db, Session& s, std::span<const int32_t> prompt, int workers = -1) {
    const double a = now();
    st::SnapshotStore store(db);
    auto info = store.find(s.fingerprint(), st::tokenPrefixHash(prompt));
    if (!info) throw std::runtime_error("snapshot not found");
    st::SnapshotReadOptions ro;
    if (workers >= 0) ro.workers = workers;
    st::SnapshotReader reader(db, info->id, ro);
    s.reset();
    s.import_state(reader);
    cudaDeviceSynchronize();
    return now() - a;
}
#endif

std::string fs_type(const std::string& dir) {
    struct statfs s {};
    if (::statfs(dir.c_str(), &s) != 0) return "?";
    switch (s.f_type) {
        case 0xEF53: return "ext4";
        case 0x58465342: return "xfs";
        case 0x01021994: return "tmpfs";
        case 0x794c7630: return "overlayfs";
        default: {
            char b[32];
            std::snprintf(b, sizeof b, "0x%lx", (unsigned long)s.f_type);
            return b;
        }
    }
}

int run(int argc, char** argv) {
    std::vector<int> contexts{8192, 32768, 131072};
    int64_t chunk = 8192;
    int warm_runs = 3;
    std::vector<int> compare_workers;  // SQLite restores also timed warm with these read-ahead worker counts
    std::string dir = "/tmp", json_path;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : ""); };
        if (a == "--chunk") chunk = std::stoll(next());
        else if (a == "--dir") dir = next();
        else if (a == "--warm-runs") warm_runs = std::max(1, std::stoi(next()));
        else if (a == "--json") json_path = next();
        else if (a == "--compare-workers") compare_workers = bench::int_list<int>(next());
        else if (a == "--contexts") contexts = bench::int_list<int>(next());
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    const auto devs = cuda::list_devices();
    if (devs.empty()) {
        std::fprintf(stderr, "no CUDA GPU\n");
        return 1;
    }
    const ModelConfig cfg = bench::m1_width_slice(3, 1);
    CudaOptions opts;
    opts.max_chunk = chunk;
    opts.context_tokens = *std::max_element(contexts.begin(), contexts.end()) + 1;
    check_plan_fits(cfg, opts, devs[0].free_bytes, 0);
    std::printf("GPU %s; slice 3 lightning + 1 softmax; state files in %s (%s)\n", devs[0].name.c_str(), dir.c_str(),
                fs_type(dir).c_str());
    double t0 = now();
    auto model = random_cuda_model(cfg, 0, opts, 1234);
    std::printf("random weights made on the GPU in %.1f s\n", now() - t0);
    std::fflush(stdout);

    std::mt19937 g(7);
    std::vector<int32_t> ids(std::size_t(*std::max_element(contexts.begin(), contexts.end())) + 1);
    for (auto& x : ids) x = int32_t(g() % 200000);
    {  // warm-up: cuBLAS heuristics, module load, the decode graph
        auto w = new_cuda_session(model);
        std::vector<int32_t> q(ids.begin(), ids.begin() + std::min<int64_t>(chunk, int64_t(ids.size())));
        w->prefill(q, chunk);
        w->forward({&ids[0], 1});
        cudaDeviceSynchronize();
        // The first import in a process pins its staging buffers (kept for later ones): time it apart.
        VectorSink mem;
        w->export_state(mem);
        for (int k = 0; k < 2; ++k) {
            auto v = new_cuda_session(model);
            cudaDeviceSynchronize();
            const double a = now();
            SpanSource src(mem.bytes);
            v->import_state(src);
            cudaDeviceSynchronize();
            std::printf("%s import of a %.1f MiB state from memory: %.4f s\n", k ? "second" : "first",
                        double(mem.bytes.size()) / (1 << 20), now() - a);
        }
    }
    const std::string path = dir + "/m1_state_restore_bench.state";
    std::vector<char> rbuf(std::size_t(16) << 20);
    std::vector<Row> rows;
    for (int ctx : contexts) {
        Row r{};
        r.ctx = ctx;
        std::span<const int32_t> prompt(ids.data(), std::size_t(ctx));
        const int32_t next_tok = ids[std::size_t(ctx)];
        auto s = new_cuda_session(model);
        cudaDeviceSynchronize();
        double a = now();
        s->prefill(prompt, chunk);
        cudaDeviceSynchronize();
        r.prefill_s = now() - a;
        const std::vector<float> orig_logits(s->logits().begin(), s->logits().end());

        a = now();
        {
            FileSink f(path);
            s->export_state(f);
            f.close();
            r.bytes = f.bytes;
        }
        r.export_s = now() - a;
#if defined(M1_RESTORE_BENCH_SQLITE)
        const std::string db_path = dir + "/m1_state_restore_bench.db";
        sqlite_store(*s, prompt, db_path, r);
        if (r.db_bytes != r.bytes) throw std::runtime_error("the snapshot store holds another size than the file");
#endif

        // Cold: the file out of the page cache, the restore into a fresh session.
        r.resident_before_cold = drop_from_cache(path);
        auto c = new_cuda_session(model);
        cudaDeviceSynchronize();
        a = now();
        {
            FileSource f(path);
            c->import_state(f);
        }
        cudaDeviceSynchronize();
        r.cold_s = now() - a;

        // Validation before anything is reported: logits as restored, a re-export byte for byte, the next token.
        r.restored_logit_diff = max_abs_diff(c->logits(), orig_logits);
        {
            CompareSink cmp(path);
            c->export_state(cmp);
            r.reexport_equal = cmp.equal && cmp.bytes == r.bytes && c->position() == ctx;
        }
        s->forward({&next_tok, 1});
        c->forward({&next_tok, 1});
        r.next_logit_diff = max_abs_diff(c->logits(), s->logits());
        c.reset();
        s.reset();
        double scale = 0;
        for (float x : orig_logits) scale = std::max(scale, std::fabs(double(x)));
        // The restored logits come from the stream: bit-equal. The next token runs the same kernels on the same
        // state, so it should be too; allow 1e-4 of the largest logit for a non-deterministic reduction.
        if (r.restored_logit_diff != 0 || !r.reexport_equal || !(r.next_logit_diff <= 1e-4 * scale)) {
            std::printf("VALIDATION FAILED at %d tokens: restored logits max|d| %.3g, re-export equal %s, next-token "
                        "logits max|d| %.3g\n",
                        ctx, r.restored_logit_diff, r.reexport_equal ? "yes" : "no", r.next_logit_diff);
            return 1;
        }

        // Warm: the file just read stays cached; median over fresh sessions.
        std::vector<double> warm;
        for (int k = 0; k < warm_runs; ++k) {
            auto w = new_cuda_session(model);
            cudaDeviceSynchronize();
            a = now();
            FileSource f(path);
            w->import_state(f);
            cudaDeviceSynchronize();
            warm.push_back(now() - a);
        }
        r.warm_s = median(warm);
#if defined(M1_RESTORE_BENCH_SQLITE)
        {  // the same through the snapshot store: cold (fresh connection, files dropped), then warm
            auto c2 = new_cuda_session(model);
            {
                st::Database db(db_path);
                r.db_resident_before_cold = drop_from_cache(db_path);
                cudaDeviceSynchronize();
                r.db_cold_s = sqlite_restore(db, *c2, prompt);
            }
            if (max_abs_diff(c2->logits(), orig_logits) != 0 || c2->position() != ctx) {
                std::printf("VALIDATION FAILED at %d tokens: the state restored from SQLite differs\n", ctx);
                return 1;
            }
            st::Database db(db_path);
            std::vector<double> t;
            for (int k = 0; k < warm_runs; ++k) {
                auto w = new_cuda_session(model);
                cudaDeviceSynchronize();
                t.push_back(sqlite_restore(db, *w, prompt));
            }
            r.db_warm_s = median(t);
            for (int k : compare_workers) {
                t.clear();
                for (int i = 0; i < warm_runs; ++i) {
                    auto w = new_cuda_session(model);
                    cudaDeviceSynchronize();
                    t.push_back(sqlite_restore(db, *w, prompt, k));
                }
                r.db_warm_by_k.emplace_back(k, median(t));
            }
        }
        if (!compare_workers.empty()) {  // the one-connection reader, cold, as a same-run peer
            auto c0 = new_cuda_session(model);
            st::Database db(db_path);
            drop_from_cache(db_path);
            cudaDeviceSynchronize();
            r.db_cold_0_s = sqlite_restore(db, *c0, prompt, 0);
        }
        remove_db(db_path);
#endif
        // From host memory: what the engine's import costs with no file system at all.
        {
            std::vector<uint8_t> mem(r.bytes);
            FileSource f(path);
            f.read(mem.data(), mem.size());
            std::vector<double> t;
            for (int k = 0; k < warm_runs; ++k) {
                auto w = new_cuda_session(model);
                cudaDeviceSynchronize();
                a = now();
                SpanSource src(mem);
                w->import_state(src);
                cudaDeviceSynchronize();
                t.push_back(now() - a);
            }
            r.memory_s = median(t);
            // A damaged or short stream is refused deep inside the pipeline too (many pieces in flight), and
            // the session keeps the state it had.
            auto w = new_cuda_session(model);
            SpanSource good(mem);
            w->import_state(good);
            mem[mem.size() / 2] ^= 0x10;
            bool refused_damaged = false, refused_short = false;
            try {
                SpanSource bad(mem);
                w->import_state(bad);
            } catch (const StateFormatError&) {
                refused_damaged = true;
            }
            try {
                SpanSource cut(mem.data(), mem.size() * 2 / 3);
                w->import_state(cut);
            } catch (const StateFormatError&) {
                refused_short = true;
            }
            if (!refused_damaged || !refused_short || w->position() != ctx ||
                max_abs_diff(w->logits(), orig_logits) != 0) {
                std::printf("VALIDATION FAILED at %d tokens: a damaged or truncated state was not refused cleanly\n",
                            ctx);
                return 1;
            }
        }
        r.raw_warm_s = raw_read_seconds(path, rbuf);
        drop_from_cache(path);
        r.raw_cold_s = raw_read_seconds(path, rbuf);
        ::unlink(path.c_str());
        rows.push_back(r);
        std::printf("ctx %6d: %.1f MiB, prefill %.3f s, export %.3f s, restore cold %.3f s (%.1f%% cached before), "
                    "warm %.3f s, from memory %.3f s; raw read cold %.3f s warm %.3f s; restored logits max|d| %g, "
                    "re-export equal, next-token logits max|d| %.3g\n",
                    ctx, double(r.bytes) / (1 << 20), r.prefill_s, r.export_s, r.cold_s, 100 * r.resident_before_cold,
                    r.warm_s, r.memory_s, r.raw_cold_s, r.raw_warm_s, r.restored_logit_diff, r.next_logit_diff);
        if (r.db_bytes)
            std::printf("ctx %6d through SQLite: store %.3f s (durable %.3f s), restore cold %.3f s (%.1f%% cached "
                        "before), warm %.3f s; restored logits identical\n",
                        ctx, r.db_store_s, r.db_durable_s, r.db_cold_s, 100 * r.db_resident_before_cold, r.db_warm_s);
        if (r.db_bytes && !r.db_warm_by_k.empty()) {
            std::printf("ctx %6d through SQLite by read-ahead workers: cold with 0 %.3f s; warm", ctx, r.db_cold_0_s);
            for (const auto& [k, t] : r.db_warm_by_k) std::printf(" %d: %.4f s (%.1fx)", k, t, r.prefill_s / t);
            std::printf("\n");
        }
        std::fflush(stdout);
    }

    std::printf("\n| tokens | state | prefill s | export s | restore cold s | restore warm s | from memory s | "
                "cold GB/s | raw read cold GB/s | prefill / restore cold | prefill / restore warm |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const Row& r : rows)
        std::printf("| %d | %.1f MiB | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.1fx | %.1fx |\n", r.ctx,
                    double(r.bytes) / (1 << 20), r.prefill_s, r.export_s, r.cold_s, r.warm_s, r.memory_s,
                    double(r.bytes) / r.cold_s / 1e9, double(r.bytes) / r.raw_cold_s / 1e9, r.prefill_s / r.cold_s,
                    r.prefill_s / r.warm_s);

    if (rows.front().db_bytes) {
        std::printf("\nthrough the SQLite snapshot store (storage/, 32 MiB chunks, XXH3 per chunk):\n| tokens | state | "
                    "store s | store durable s | restore cold s | raw read cold s | restore warm s | plain-file warm s | "
                    "prefill / restore cold | prefill / restore warm |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for (const Row& r : rows)
            std::printf("| %d | %.1f MiB | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1fx | %.1fx |\n", r.ctx,
                        double(r.bytes) / (1 << 20), r.db_store_s, r.db_durable_s, r.db_cold_s, r.raw_cold_s,
                        r.db_warm_s, r.warm_s, r.prefill_s / r.db_cold_s, r.prefill_s / r.db_warm_s);
    }

    // Full M1: 70 lightning layers of 4 MiB fp32 state, 10 softmax layers of 4 KiB bf16 K+V per token.
    const Row& big = rows.back();
    const double cold_gbs = double(big.bytes) / big.cold_s / 1e9, warm_gbs = double(big.bytes) / big.warm_s / 1e9;
    std::printf("\nfull M1 (70 lightning + 10 softmax layers), restored at the %d-token row's rates "
                "(cold %.2f GB/s, warm %.2f GB/s):\n| tokens | state | restore cold s | restore warm s |\n"
                "|---|---|---|---|\n",
                big.ctx, cold_gbs, warm_gbs);
    std::vector<double> m1_bytes;
    for (const Row& r : rows) {
        const double b = 70.0 * 64 * 128 * 128 * 4 + 10.0 * r.ctx * 8 * 128 * 2 * 2;
        m1_bytes.push_back(b);
        std::printf("| %d | %.2f GiB | %.2f | %.2f |\n", r.ctx, b / double(1 << 30), b / cold_gbs / 1e9,
                    b / warm_gbs / 1e9);
    }
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        f << "{\"gpu\": \"" << devs[0].name << "\", \"fs\": \"" << fs_type(dir) << "\", \"chunk\": " << chunk
          << ", \"rows\": [";
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            f << (i ? ", " : "") << "{\"context\": " << r.ctx << ", \"state_bytes\": " << r.bytes
              << ", \"prefill_s\": " << r.prefill_s << ", \"export_s\": " << r.export_s << ", \"restore_cold_s\": "
              << r.cold_s << ", \"restore_warm_s\": " << r.warm_s << ", \"restore_from_memory_s\": " << r.memory_s
              << ", \"raw_read_cold_s\": " << r.raw_cold_s << ", \"raw_read_warm_s\": " << r.raw_warm_s
              << ", \"resident_before_cold\": " << r.resident_before_cold
              << ", \"restored_logits_max_abs_diff\": " << r.restored_logit_diff
              << ", \"next_logits_max_abs_diff\": " << r.next_logit_diff
              << ", \"full_m1_state_bytes\": " << m1_bytes[i];
            if (r.db_bytes)
                f << ", \"sqlite_store_s\": " << r.db_store_s << ", \"sqlite_store_durable_s\": " << r.db_durable_s
                  << ", \"sqlite_restore_cold_s\": " << r.db_cold_s << ", \"sqlite_restore_warm_s\": " << r.db_warm_s
                  << ", \"sqlite_resident_before_cold\": " << r.db_resident_before_cold
                  << ", \"sqlite_restore_cold_0_workers_s\": " << r.db_cold_0_s;
            if (!r.db_warm_by_k.empty()) {
                f << ", \"sqlite_restore_warm_s_by_workers\": {";
                for (std::size_t j = 0; j < r.db_warm_by_k.size(); ++j)
                    f << (j ? ", " : "") << "\"" << r.db_warm_by_k[j].first << "\": " << r.db_warm_by_k[j].second;
                f << "}";
            }
            f << "}";
        }
        f << "]}\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

#else

int main() {
    std::printf("state_restore_bench: skipped (built without CUDA)\n");
    return 0;
}

#endif
