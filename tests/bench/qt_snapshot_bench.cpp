// Snapshot storage benchmark (issue 6): GB/s of the real chunked snapshot writer/reader on a real database
// beside a plain sequential file write (+fsync) and read of the same bytes on the same disk, cold and warm
// page cache; then restore vs re-prefill on the CPU demo model. Validates first, then times; prints tables
// and writes JSON.  qt_snapshot_bench [--dir D] [--sizes 256M,1G,4G] [--runs 3] [--contexts 8192,32768]
//   [--piece 4M] [--chunk 32M] [--restore-runs 5] [--no-drop-caches] [--skip-io] [--skip-model] [--json F]
//   [--read-workers K] (the reader's read-ahead threads; default: the reader's own) [--compare-workers 0,1,2,4]
//   (also timed warm with each of these, and cold with 0: the one-connection reader as a same-run peer)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "m1/backend.h"
#include "m1/model.h"
#include "storage/database.h"
#include "storage/prefix_hash.h"
#include "storage/snapshot_store.h"
#include "storage/snapshot_stream.h"

namespace {

namespace fs = std::filesystem;
namespace st = m1::storage;
using json = nlohmann::json;
using clk = std::chrono::steady_clock;

double since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

int64_t parse_size(const std::string& s) {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    const char u = pos < s.size() ? char(std::toupper(static_cast<unsigned char>(s[pos]))) : 'B';
    const int shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : 0;
    return int64_t(v * double(int64_t(1) << shift));
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');) out.push_back(x);
    return out;
}

std::string first_line_of(const char* path, const char* key) {
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);)
        if (!key || line.rfind(key, 0) == 0) return key ? line.substr(line.find(':') + 2) : line;
    return "?";
}

// Bytes this process has handed to write(2) so far (/proc/self/io wchar): SQLite's WAL and checkpoint
// writes included, so the ratio to the snapshot's size is the writer's write amplification.
int64_t bytes_written_by_process() {
    std::ifstream f("/proc/self/io");
    for (std::string key; f >> key;) {
        int64_t v = 0;
        f >> v;
        if (key == "wchar:") return v;
    }
    return 0;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// --- synthetic state bytes -------------------------------------------------------------------------------
// 64 MiB of pseudo-random bytes; piece i is a window starting at an offset that depends on i, so a chunk
// stored in the wrong place or twice reads back different bytes. Producing a piece copies nothing.
class Pattern {
public:
    static constexpr int64_t kSpan = 64LL << 20, kMaxPiece = 16LL << 20;
    Pattern() : m_bytes(size_t(kSpan + kMaxPiece)) {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i + 8 <= m_bytes.size(); i += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            std::memcpy(&m_bytes[i], &x, 8);
        }
    }
    const uint8_t* piece(int64_t i) const { return m_bytes.data() + (i * 40961) % kSpan; }

private:
    std::vector<uint8_t> m_bytes;
};

// Calls fn(piece index, bytes, length) for a stream of `total` bytes cut into `piece`-sized writes.
void for_each_piece(const Pattern& p, int64_t total, int64_t piece,
                    const std::function<void(int64_t, const uint8_t*, size_t)>& fn) {
    for (int64_t i = 0, off = 0; off < total; ++i, off += piece) fn(i, p.piece(i), size_t(std::min(piece, total - off)));
}

// --- page cache ------------------------------------------------------------------------------------------
void write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw std::runtime_error(std::string("write: ") + std::strerror(errno));
        p += w, n -= size_t(w);
    }
}

void read_all(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw std::runtime_error(r == 0 ? "read: unexpected end of file" : std::strerror(errno));
        p += r, n -= size_t(r);
    }
}

// Bytes of the file now in the page cache (mincore over a read-only mapping).
int64_t resident_bytes(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return 0;
    struct stat sb{};
    fstat(fd, &sb);
    int64_t resident = 0;
    if (sb.st_size > 0) {
        void* m = mmap(nullptr, size_t(sb.st_size), PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            const long ps = sysconf(_SC_PAGESIZE);
            std::vector<unsigned char> v(size_t((sb.st_size + ps - 1) / ps));
            if (mincore(m, size_t(sb.st_size), v.data()) == 0)
                for (unsigned char c : v) resident += (c & 1) ? ps : 0;
            munmap(m, size_t(sb.st_size));
        }
    }
    ::close(fd);
    return std::min<int64_t>(resident, sb.st_size);
}

struct CacheControl {
    bool use_drop_caches = true;
    bool drop_caches_works = false;

    // Writes back and drops these files' pages (fadvise), then the whole page cache if allowed.
    // Returns the fraction of the files' bytes still cached afterwards.
    double evict(const std::vector<std::string>& paths) {
        int64_t total = 0, resident = 0;
        for (const auto& path : paths) {
            int fd = ::open(path.c_str(), O_RDONLY);
            if (fd < 0) continue;
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            ::close(fd);
        }
        if (use_drop_caches) {
            ::sync();
            int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY);
            drop_caches_works = fd >= 0 && ::write(fd, "3", 1) == 1;
            if (fd >= 0) ::close(fd);
        }
        for (const auto& path : paths) {
            std::error_code ec;
            total += int64_t(fs::exists(path, ec) ? fs::file_size(path, ec) : 0);
            resident += resident_bytes(path);
        }
        return total > 0 ? double(resident) / double(total) : 0.0;
    }
};

// --- the two peers ---------------------------------------------------------------------------------------
void remove_db(const std::string& db) {
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(db + ext);
}

// Plain file: create, write every piece, fsync, close.
double raw_write(const std::string& path, const Pattern& p, int64_t total, int64_t piece) {
    fs::remove(path);
    auto t = clk::now();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    for_each_piece(p, total, piece, [&](int64_t, const uint8_t* d, size_t n) { write_all(fd, d, n); });
    if (fsync(fd) != 0) throw std::runtime_error("fsync failed");
    ::close(fd);
    return since(t);
}

// Plain file read into one piece-sized buffer; `check` sees every piece (validation or hashing).
double raw_read(const std::string& path, std::vector<uint8_t>& buf, int64_t total, int64_t piece,
                const std::function<void(int64_t, const uint8_t*, size_t)>& check = {}) {
    auto t = clk::now();
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    for (int64_t i = 0, off = 0; off < total; ++i, off += piece) {
        const size_t n = size_t(std::min(piece, total - off));
        read_all(fd, buf.data(), n);
        if (check) check(i, buf.data(), n);
    }
    ::close(fd);
    return since(t);
}

struct SnapWrite {
    double commit_s = 0, durable_s = 0;
    int64_t id = 0, chunks = 0, written = 0;  // written: bytes given to write(2), WAL and checkpoint included
};

// The real writer into a fresh database (opened before the clock starts, as the app has it open):
// commit_s ends when the manifest is committed (what a person waits for), durable_s after a TRUNCATE
// checkpoint, which with synchronous=NORMAL fsyncs the WAL and the database file (the fsync'd peer).
SnapWrite snap_write(const std::string& dbpath, const Pattern& p, int64_t total, int64_t piece, int64_t chunk) {
    remove_db(dbpath);
    st::Database db(dbpath);
    SnapWrite r;
    const int64_t w0 = bytes_written_by_process();
    auto t = clk::now();
    st::SnapshotWriter w(db, {"bench-synthetic", "size-" + std::to_string(total), 0}, st::SnapshotKind::Corpus,
                         {chunk});
    for_each_piece(p, total, piece, [&](int64_t, const uint8_t* d, size_t n) { w.write(d, n); });
    auto info = w.commit();
    r.commit_s = since(t);
    int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) throw std::runtime_error(db.describeError("checkpoint", rc));
    r.durable_s = since(t);
    r.written = bytes_written_by_process() - w0;
    r.id = info.id;
    r.chunks = info.chunkCount;
    if (info.sizeBytes != total) throw std::runtime_error("snapshot size differs from the bytes written");
    return r;
}

// The reader's read-ahead workers for snap_read (SnapshotReadOptions::workers); -1: the reader's default.
int g_workers = -1;

double snap_read(st::Database& db, int64_t id, std::vector<uint8_t>& buf, int64_t total, int64_t piece,
                 const std::function<void(int64_t, const uint8_t*, size_t)>& check = {}, int workers = g_workers) {
    auto t = clk::now();
    st::SnapshotReadOptions ro;
    if (workers >= 0) ro.workers = workers;
    st::SnapshotReader r(db, id, ro);
    if (r.size() != total) throw std::runtime_error("snapshot reads back " + std::to_string(r.size()) + " bytes");
    for (int64_t i = 0, off = 0; off < total; ++i, off += piece) {
        const size_t n = size_t(std::min(piece, total - off));
        r.read(buf.data(), n);
        if (check) check(i, buf.data(), n);
    }
    return since(t);
}

// --- part 1: throughput ----------------------------------------------------------------------------------
struct IoOptions {
    std::string dir;
    std::vector<int64_t> sizes;
    int runs = 3;
    int64_t piece = 4 << 20, chunk = 32 << 20;
    // Extra warm reads with these worker counts, and a cold read with 0 (the one-connection reader).
    std::vector<int> compareWorkers = {0, 1, 2, 4};
};

json bench_io(const IoOptions& o, CacheControl& cache) {
    Pattern pattern;
    std::vector<uint8_t> buf(size_t(o.piece));
    const std::string raw = o.dir + "/raw.bin", dbpath = o.dir + "/snapshots.db";
    const std::vector<std::string> db_files = {dbpath, dbpath + "-wal"};
    json rows = json::array();
    const double rss_base = peak_rss_mib();
    std::printf("\nSnapshot write/restore vs plain file, GB/s (1 GB = 1e9 B), median of %d; piece %lld MiB, chunk %lld MiB\n",
                o.runs, (long long)(o.piece >> 20), (long long)(o.chunk >> 20));
    std::printf("%8s | %9s %9s %9s %6s %5s | %9s %9s %6s %7s | %9s %9s %6s %9s %7s | %9s\n", "size", "raw wr", "snap wr",
                "snap dur", "dur%", "ampl", "raw cold", "snap cold", "cold%", "cached", "raw warm", "snap warm", "warm%",
                "raw+xxh3", "cached", "peak RSS");
    for (int64_t size : o.sizes) {
        const double gb = double(size) / 1e9;
        std::vector<double> rw, sw, sd, rc, sc, rwarm, swarm, rhash, resid, warm_resid, sc_serial;
        std::map<int, std::vector<double>> swarm_by;  // workers -> warm seconds
        int64_t chunks = 0, written = 0;
        for (int run = 0; run < o.runs; ++run) {
            // Alternate which peer goes first so that neither always finds the disk busier.
            SnapWrite s;
            if (run % 2 == 0) {
                rw.push_back(raw_write(raw, pattern, size, o.piece));
                s = snap_write(dbpath, pattern, size, o.piece, o.chunk);
            } else {
                s = snap_write(dbpath, pattern, size, o.piece, o.chunk);
                rw.push_back(raw_write(raw, pattern, size, o.piece));
            }
            sw.push_back(s.commit_s);
            sd.push_back(s.durable_s);
            chunks = s.chunks;
            written = s.written;
            st::Database db(dbpath);
            if (run == 0) {  // validate: both read back exactly the bytes written
                auto expect = [&](int64_t i, const uint8_t* d, size_t n) {
                    if (std::memcmp(d, pattern.piece(i), n) != 0)
                        throw std::runtime_error("validation: piece " + std::to_string(i) + " differs");
                };
                raw_read(raw, buf, size, o.piece, expect);
                snap_read(db, s.id, buf, size, o.piece, expect);
            }
            const bool raw_first = run % 2 == 0;
            for (int k = 0; k < 2; ++k) {
                if ((k == 0) == raw_first) {
                    resid.push_back(cache.evict({raw}));
                    rc.push_back(raw_read(raw, buf, size, o.piece));
                } else {  // a fresh connection: SQLite's own page cache is empty too
                    st::Database fresh(dbpath);
                    resid.push_back(cache.evict(db_files));
                    sc.push_back(snap_read(fresh, s.id, buf, size, o.piece));
                }
            }
            if (!o.compareWorkers.empty()) {  // the one-connection reader, cold, after both peers
                st::Database fresh(dbpath);
                cache.evict(db_files);
                sc_serial.push_back(snap_read(fresh, s.id, buf, size, o.piece, {}, 0));
            }
            raw_read(raw, buf, size, o.piece);  // both files fully cached for the warm reads
            snap_read(db, s.id, buf, size, o.piece);
            warm_resid.push_back(double(resident_bytes(raw) + resident_bytes(dbpath)) /
                                 double(fs::file_size(raw) + fs::file_size(dbpath)));
            rwarm.push_back(raw_read(raw, buf, size, o.piece));
            swarm.push_back(snap_read(db, s.id, buf, size, o.piece));
            for (int k : o.compareWorkers) swarm_by[k].push_back(snap_read(db, s.id, buf, size, o.piece, {}, k));
            XXH3_state_t* h = XXH3_createState();
            XXH3_64bits_reset(h);
            rhash.push_back(raw_read(raw, buf, size, o.piece, [&](int64_t, const uint8_t* d, size_t n) {
                XXH3_64bits_update(h, d, n);
            }));
            XXH3_freeState(h);
        }
        fs::remove(raw);
        remove_db(dbpath);
        // Per run, restore / raw (GB/s ratio = raw seconds / snapshot seconds), to show the spread behind the median.
        std::vector<double> cold_pct, warm_pct;
        for (size_t i = 0; i < rc.size(); ++i) cold_pct.push_back(100 * rc[i] / sc[i]);
        for (size_t i = 0; i < rwarm.size(); ++i) warm_pct.push_back(100 * rwarm[i] / swarm[i]);
        const auto [cmin, cmax] = std::minmax_element(cold_pct.begin(), cold_pct.end());
        const auto [wmin, wmax] = std::minmax_element(warm_pct.begin(), warm_pct.end());
        json row = {{"bytes", size},
                    {"cold_restore_pct_of_raw_per_run", cold_pct},
                    {"warm_restore_pct_of_raw_per_run", warm_pct},
                    {"chunks", chunks},
                    {"snapshot_write_amplification", double(written) / double(size)},
                    {"raw_write_gbs", gb / median(rw)},
                    {"snapshot_write_commit_gbs", gb / median(sw)},
                    {"snapshot_write_durable_gbs", gb / median(sd)},
                    {"raw_read_cold_gbs", gb / median(rc)},
                    {"snapshot_read_cold_gbs", gb / median(sc)},
                    {"raw_read_warm_gbs", gb / median(rwarm)},
                    {"snapshot_read_warm_gbs", gb / median(swarm)},
                    {"raw_read_xxh3_warm_gbs", gb / median(rhash)},
                    {"cold_resident_fraction_max", *std::max_element(resid.begin(), resid.end())},
                    {"warm_resident_fraction_min", *std::min_element(warm_resid.begin(), warm_resid.end())},
                    {"seconds",
                     {{"raw_write", rw}, {"snapshot_write_commit", sw}, {"snapshot_write_durable", sd},
                      {"raw_read_cold", rc}, {"snapshot_read_cold", sc}, {"raw_read_warm", rwarm},
                      {"snapshot_read_warm", swarm}, {"raw_read_xxh3_warm", rhash}}},
                    {"peak_rss_mib_after", peak_rss_mib()},
                    {"read_workers", g_workers},
                    {"peak_rss_mib_before_io", rss_base},
                    {"loadavg_after", first_line_of("/proc/loadavg", nullptr)}};
        std::printf("%5lld MiB | %9.2f %9.2f %9.2f %5.0f%% %5.2f | %9.2f %9.2f %5.0f%% %6.1f%% | %9.2f %9.2f %5.0f%% %9.2f %6.1f%% | %6.0f MiB\n",
                    (long long)(size >> 20), row["raw_write_gbs"].get<double>(),
                    row["snapshot_write_commit_gbs"].get<double>(), row["snapshot_write_durable_gbs"].get<double>(),
                    100 * median(rw) / median(sd), double(written) / double(size), row["raw_read_cold_gbs"].get<double>(),
                    row["snapshot_read_cold_gbs"].get<double>(), 100 * median(rc) / median(sc),
                    100 * row["cold_resident_fraction_max"].get<double>(), row["raw_read_warm_gbs"].get<double>(),
                    row["snapshot_read_warm_gbs"].get<double>(), 100 * median(rwarm) / median(swarm),
                    row["raw_read_xxh3_warm_gbs"].get<double>(),
                    100 * row["warm_resident_fraction_min"].get<double>(), peak_rss_mib());
        std::printf("%8s   per run: cold %.0f-%.0f%%, warm %.0f-%.0f%% of the raw read\n", "", *cmin, *cmax, *wmin, *wmax);
        if (!sc_serial.empty()) {
            row["snapshot_read_cold_0_workers_gbs"] = gb / median(sc_serial);
            row["seconds"]["snapshot_read_cold_0_workers"] = sc_serial;
            std::printf("%8s   cold with 0 workers %.2f GB/s (%.0f%%); warm by workers:", "", gb / median(sc_serial),
                        100 * median(rc) / median(sc_serial));
        }
        for (const auto& [k, v] : swarm_by) {
            row["snapshot_read_warm_gbs_by_workers"][std::to_string(k)] = gb / median(v);
            row["seconds"]["snapshot_read_warm_" + std::to_string(k) + "_workers"] = v;
            std::printf(" %d: %.2f (%.0f%%)", k, gb / median(v), 100 * median(rwarm) / median(v));
        }
        std::printf("\n");
        std::fflush(stdout);
        rows.push_back(row);
    }
    return rows;
}

// --- part 2: restore vs re-prefill -----------------------------------------------------------------------
std::vector<int32_t> token_ids(int64_t n, int64_t vocab) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    uint32_t x = 12345;
    for (auto& id : v) id = int32_t((x = x * 1664525u + 1013904223u) >> 8) % int32_t(vocab);
    return v;
}

// Bitwise equality of two logit vectors; a restored state must continue exactly like the original.
void require_same_logits(const m1::Session& a, const m1::Session& b, const std::string& what) {
    auto la = a.logits(), lb = b.logits();
    if (la.size() != lb.size() || la.empty() || std::memcmp(la.data(), lb.data(), la.size_bytes()) != 0)
        throw std::runtime_error("validation: logits differ " + what);
}

struct RestoreTiming {
    double warm_s = 0, cold_s = 0, cold_resident = 0;
};

// What the ask pipeline does to resume: look the prefix up, stream the snapshot into a fresh session.
double restore_into(st::Database& db, m1::Session& s, std::span<const int32_t> ids) {
    auto t = clk::now();
    st::SnapshotStore store(db);
    auto info = store.find(s.fingerprint(), st::tokenPrefixHash(ids));
    if (!info) throw std::runtime_error("snapshot not found");
    st::SnapshotReader reader(db, info->id);
    s.reset();
    s.import_state(reader);
    const double secs = since(t);
    if (s.position() != int64_t(ids.size())) throw std::runtime_error("validation: restored position differs");
    return secs;
}

json bench_restore(const std::string& dir, const std::vector<int64_t>& contexts, int restore_runs,
                   CacheControl& cache) {
    auto model = m1::Model::load(m1::demo_model_dir());
    auto be = m1::make_cpu_backend(model);
    const int64_t vocab = model->config().vocab_size;
    const std::string dbpath = dir + "/state.db";
    json rows = json::array();
    std::printf("\nRestore vs re-prefill, CPU demo model (%s), %d threads\n", model->fingerprint().c_str(),
                m1::cpu_threads());
    std::printf("%8s %10s %11s %10s %12s %12s %10s %10s %8s\n", "tokens", "state MiB", "prefill s", "store ms",
                "restore ms", "cold ms", "x (warm)", "x (cold)", "load");
    // Validation on a short prefix first: store, restore into another session, continue both.
    std::vector<int64_t> all = {300};
    all.insert(all.end(), contexts.begin(), contexts.end());
    for (size_t k = 0; k < all.size(); ++k) {
        const int64_t n = all[k];
        const bool timed = k > 0;
        const std::string load_before = first_line_of("/proc/loadavg", nullptr);
        auto ids = token_ids(n + 1, vocab);  // the last id is fed after restoring, to check continuation
        std::span<const int32_t> prefix(ids.data(), size_t(n));
        auto a = be->new_session(), b = be->new_session();
        auto t = clk::now();
        a->prefill(prefix, 2048);
        const double prefill_s = since(t);

        remove_db(dbpath);
        double store_s = 0;
        int64_t state_bytes = 0;
        {
            st::Database db(dbpath);
            t = clk::now();
            st::SnapshotWriter w(db, {a->fingerprint(), st::tokenPrefixHash(prefix), n}, st::SnapshotKind::Corpus);
            a->export_state(w);
            state_bytes = w.commit().sizeBytes;
            store_s = since(t);
        }
        RestoreTiming rt;
        {
            st::Database db(dbpath);
            std::vector<double> warm;
            for (int r = 0; r < std::max(1, restore_runs); ++r) warm.push_back(restore_into(db, *b, prefix));
            rt.warm_s = median(warm);
            require_same_logits(*a, *b, "after restoring " + std::to_string(n) + " tokens");
        }
        {
            st::Database db(dbpath);  // a fresh connection: nothing in SQLite's own cache either
            rt.cold_resident = cache.evict({dbpath, dbpath + "-wal"});
            rt.cold_s = restore_into(db, *b, prefix);
        }
        std::span<const int32_t> next(ids.data() + n, 1);
        a->forward(next);
        b->forward(next);
        require_same_logits(*a, *b, "after continuing a restored state of " + std::to_string(n) + " tokens");
        remove_db(dbpath);
        if (!timed) continue;
        json row = {{"tokens", n},
                    {"state_bytes", state_bytes},
                    {"prefill_s", prefill_s},
                    {"prefill_tok_s", double(n) / prefill_s},
                    {"store_s", store_s},
                    {"restore_warm_s", rt.warm_s},
                    {"restore_cold_s", rt.cold_s},
                    {"restore_cold_resident_fraction", rt.cold_resident},
                    {"speedup_warm", prefill_s / rt.warm_s},
                    {"speedup_cold", prefill_s / rt.cold_s},
                    {"loadavg_before", load_before},
                    {"loadavg_after", first_line_of("/proc/loadavg", nullptr)}};
        std::printf("%8lld %10.2f %11.2f %10.1f %12.2f %12.2f %10.0f %10.0f %8s\n", (long long)n,
                    double(state_bytes) / double(1 << 20), prefill_s, 1e3 * store_s, 1e3 * rt.warm_s,
                    1e3 * rt.cold_s, prefill_s / rt.warm_s, prefill_s / rt.cold_s, load_before.substr(0, 5).c_str());
        std::fflush(stdout);
        rows.push_back(row);
    }
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    IoOptions io;
    io.dir = "/tmp";
    for (auto s : {"256M", "1G", "4G"}) io.sizes.push_back(parse_size(s));
    std::vector<int64_t> contexts = {8192, 32768};
    int restore_runs = 5;
    bool skip_io = false, skip_model = false;
    std::string json_path = "qt_snapshot_bench.json";
    CacheControl cache;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--dir") io.dir = next();
        else if (a == "--sizes") {
            io.sizes.clear();
            for (auto& s : split(next())) io.sizes.push_back(parse_size(s));
        } else if (a == "--runs") io.runs = std::max(1, std::stoi(next()));
        else if (a == "--piece") io.piece = parse_size(next());
        else if (a == "--chunk") io.chunk = parse_size(next());
        else if (a == "--contexts") {
            contexts.clear();
            for (auto& s : split(next())) contexts.push_back(parse_size(s));
        } else if (a == "--restore-runs") restore_runs = std::stoi(next());
        else if (a == "--read-workers") g_workers = std::stoi(next());
        else if (a == "--compare-workers") {
            io.compareWorkers.clear();
            for (auto& w : split(next())) io.compareWorkers.push_back(std::stoi(w));
        }
        else if (a == "--no-drop-caches") cache.use_drop_caches = false;
        else if (a == "--skip-io") skip_io = true;
        else if (a == "--skip-model") skip_model = true;
        else if (a == "--json") json_path = next();
        else {
            std::fprintf(stderr, "usage: %s [--dir D] [--sizes 256M,1G,4G] [--runs N] [--piece 4M] [--chunk 32M]\n"
                                 "  [--contexts 8192,32768] [--restore-runs N] [--no-drop-caches] [--skip-io]\n"
                                 "  [--skip-model] [--json FILE] [--read-workers K] [--compare-workers 0,1,2,4]\n",
                         argv[0]);
            return 2;
        }
    }
    if (io.piece <= 0 || io.piece > Pattern::kMaxPiece) {
        std::fprintf(stderr, "--piece must be between 1 byte and 16 MiB\n");
        return 2;
    }
    const fs::path work = fs::path(io.dir) / ("m1-snapshot-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    io.dir = work.string();
    json out = {{"cpu", first_line_of("/proc/cpuinfo", "model name")},
                {"hardware_threads", sysconf(_SC_NPROCESSORS_ONLN)},
                {"sqlite", sqlite3_libversion()},
                {"dir", io.dir},
                {"loadavg_start", first_line_of("/proc/loadavg", nullptr)}};
    std::printf("CPU %s, %ld threads, SQLite %s, files in %s, load %s\n", out["cpu"].get<std::string>().c_str(),
                sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion(), io.dir.c_str(),
                out["loadavg_start"].get<std::string>().c_str());
    int rc = 0;
    try {
        if (!skip_io) out["throughput"] = bench_io(io, cache);
        if (!skip_model) out["restore_vs_prefill"] = bench_restore(io.dir, contexts, restore_runs, cache);
        out["drop_caches"] = cache.use_drop_caches ? (cache.drop_caches_works ? "worked" : "refused") : "not tried";
        std::printf("\ncold reads: files fsync'd and dropped with posix_fadvise(DONTNEED)%s; 'cached' = share of the\n"
                    "file still in the page cache just before the cold read (mincore)\n",
                    cache.drop_caches_works ? ", then echo 3 > /proc/sys/vm/drop_caches" : "");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "FAILED: %s\n", e.what());
        out["error"] = e.what();
        rc = 1;
    }
    std::error_code ec;
    fs::remove_all(work, ec);
    out["loadavg_end"] = first_line_of("/proc/loadavg", nullptr);
    out["peak_rss_mib"] = peak_rss_mib();
    std::ofstream(json_path) << out.dump(1) << "\n";
    std::printf("wrote %s\n", json_path.c_str());
    return rc;
}
