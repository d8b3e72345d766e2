// `m1 snapshots`: the stored engine-state snapshots (kind, tokens, size, last use), the quota, and
// --gc to drop interrupted writes, evict past the quota and give the space back to the disk.
#include <iostream>
#include <nlohmann/json.hpp>

#include "m1/cli.h"
#include "storage/paths.h"
#include "storage/snapshot_store.h"

namespace m1::cli {

static std::string human_bytes(int64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

// "64G", "512M", "1000000": bytes.
static int64_t parse_size(const std::string& s) {
    size_t end = 0;
    double v = 0;
    try {
        v = std::stod(s, &end);
    } catch (...) {
        throw UsageError("--quota expects a size such as 64G or 500M, got '" + s + "'");
    }
    const std::string unit = s.substr(end);
    const double mul = unit.empty() || unit == "B" ? 1
                       : unit == "K"               ? 1024.0
                       : unit == "M"               ? 1024.0 * 1024
                       : unit == "G"               ? 1024.0 * 1024 * 1024
                       : unit == "T"               ? 1024.0 * 1024 * 1024 * 1024
                                                   : -1;
    if (mul < 0 || v < 0) throw UsageError("--quota expects a size such as 64G or 500M, got '" + s + "'");
    return static_cast<int64_t>(v * mul);
}

static int run_snapshots(const Args& args) {
    storage::Database db(storage::resolveDatabasePath(args.get("db"), true));
    storage::SnapshotStore store(db);
    if (args.has("quota")) store.setQuotaBytes(parse_size(args.get("quota")));
    storage::GcReport gc;
    if (args.has("gc")) gc = store.gc();
    const auto all = store.list();
    if (args.has("json")) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : all)
            list.push_back({{"id", s.id}, {"kind", storage::snapshotKindName(s.kind)}, {"model", s.key.modelFingerprint},
                            {"prefix_hash", s.key.prefixHash}, {"tokens", s.key.tokenCount}, {"bytes", s.sizeBytes},
                            {"chunks", s.chunkCount}, {"created", s.created}, {"last_used", s.lastUsed}});
        nlohmann::json out = {{"snapshots", list}, {"total_bytes", store.totalBytes()}, {"quota_bytes", store.quotaBytes()}};
        if (args.has("gc"))
            out["gc"] = {{"interrupted_writes", gc.interruptedWrites}, {"evicted", gc.evicted},
                         {"bytes_freed", gc.bytesFreed}, {"file_bytes_before", gc.fileBytesBefore},
                         {"file_bytes_after", gc.fileBytesAfter}};
        std::cout << out.dump() << "\n";
        return 0;
    }
    if (args.has("gc"))
        std::cout << "gc: removed " << gc.interruptedWrites << " interrupted write(s), evicted " << gc.evicted
                  << " snapshot(s) (" << human_bytes(gc.bytesFreed) << "); file " << human_bytes(gc.fileBytesBefore)
                  << " -> " << human_bytes(gc.fileBytesAfter) << "\n";
    std::cout << all.size() << " snapshot(s), " << human_bytes(store.totalBytes()) << " of a "
              << human_bytes(store.quotaBytes()) << " quota\n";
    for (const auto& s : all)
        std::cout << "  " << s.id << "  " << storage::snapshotKindName(s.kind) << "  " << s.key.tokenCount << " tokens  "
                  << human_bytes(s.sizeBytes) << "  " << s.key.modelFingerprint << "\n";
    return 0;
}

static Registrar reg({"snapshots",
                      "list engine-state snapshots; --gc cleans up and enforces the quota",
                      "[--db FILE] [--gc] [--quota SIZE] [--json]",
                      {{"db", true, "database file (default: the user's data directory)"},
                       {"gc", false, "drop interrupted writes, evict least recently used past the quota, shrink the file"},
                       {"quota", true, "set the snapshot quota (e.g. 64G, 500M); kept in the database"},
                       {"json", false, "print one JSON object"}},
                      0,
                      run_snapshots,
                      63});

}  // namespace m1::cli
