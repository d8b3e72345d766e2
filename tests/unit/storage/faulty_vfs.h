// A sqlite3_vfs shim over the default one that fails every write from the Nth on (disk full or an I/O
// error), so tests can hit each write of a snapshot and check what survives.
#pragma once
#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace m1::test {

struct FaultyVfs {
    static inline std::atomic<long> writes{0};
    static inline std::atomic<long> fail_from{-1};  // -1: never fail
    static inline std::atomic<int> error{SQLITE_FULL};
    static inline sqlite3_vfs vfs{};
    static inline sqlite3_io_methods methods{};

    struct File {
        sqlite3_file base;
        sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
    };
    static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real(); }

    // Registers "m1_faulty" once; returns its name for OpenOptions::vfs.
    static const char* install() {
        if (sqlite3_vfs_find("m1_faulty")) return "m1_faulty";
        sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
        vfs = *base;
        vfs.zName = "m1_faulty";
        vfs.pAppData = base;
        vfs.szOsFile = static_cast<int>(sizeof(File)) + base->szOsFile;
        vfs.xOpen = open;
        sqlite3_vfs_register(&vfs, 0);
        return "m1_faulty";
    }
    static void fail_after(long n, int code) {
        writes = 0;
        error = code;
        fail_from = n;
    }
    static void heal() { fail_from = -1; }

    static int open(sqlite3_vfs* v, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
        auto* base = static_cast<sqlite3_vfs*>(v->pAppData);
        auto* file = reinterpret_cast<File*>(f);
        std::memset(file->real(), 0, static_cast<size_t>(base->szOsFile));
        int rc = base->xOpen(base, name, file->real(), flags, out_flags);
        if (rc != SQLITE_OK || !file->real()->pMethods) {
            f->pMethods = nullptr;
            return rc;
        }
        const sqlite3_io_methods* m = file->real()->pMethods;
        methods = *m;  // every method forwards to the real file, only xWrite/xTruncate/xClose differ
        methods.xClose = [](sqlite3_file* p) { return real(p)->pMethods->xClose(real(p)); };
        methods.xRead = [](sqlite3_file* p, void* b, int n, sqlite3_int64 o) { return real(p)->pMethods->xRead(real(p), b, n, o); };
        methods.xWrite = [](sqlite3_file* p, const void* b, int n, sqlite3_int64 o) {
            const long k = writes++;
            if (fail_from >= 0 && k >= fail_from) return error.load();
            return real(p)->pMethods->xWrite(real(p), b, n, o);
        };
        methods.xTruncate = [](sqlite3_file* p, sqlite3_int64 s) { return real(p)->pMethods->xTruncate(real(p), s); };
        methods.xSync = [](sqlite3_file* p, int fl) { return real(p)->pMethods->xSync(real(p), fl); };
        methods.xFileSize = [](sqlite3_file* p, sqlite3_int64* s) { return real(p)->pMethods->xFileSize(real(p), s); };
        methods.xLock = [](sqlite3_file* p, int l) { return real(p)->pMethods->xLock(real(p), l); };
        methods.xUnlock = [](sqlite3_file* p, int l) { return real(p)->pMethods->xUnlock(real(p), l); };
        methods.xCheckReservedLock = [](sqlite3_file* p, int* r) { return real(p)->pMethods->xCheckReservedLock(real(p), r); };
        methods.xFileControl = [](sqlite3_file* p, int op, void* a) { return real(p)->pMethods->xFileControl(real(p), op, a); };
        methods.xSectorSize = [](sqlite3_file* p) { return real(p)->pMethods->xSectorSize(real(p)); };
        methods.xDeviceCharacteristics = [](sqlite3_file* p) { return real(p)->pMethods->xDeviceCharacteristics(real(p)); };
        methods.xShmMap = [](sqlite3_file* p, int pg, int sz, int ext, void volatile** out) {
            return real(p)->pMethods->xShmMap(real(p), pg, sz, ext, out);
        };
        methods.xShmLock = [](sqlite3_file* p, int o, int n, int fl) { return real(p)->pMethods->xShmLock(real(p), o, n, fl); };
        methods.xShmBarrier = [](sqlite3_file* p) { real(p)->pMethods->xShmBarrier(real(p)); };
        methods.xShmUnmap = [](sqlite3_file* p, int del) { return real(p)->pMethods->xShmUnmap(real(p), del); };
        methods.xFetch = [](sqlite3_file* p, sqlite3_int64 o, int n, void** pp) { return real(p)->pMethods->xFetch(real(p), o, n, pp); };
        methods.xUnfetch = [](sqlite3_file* p, sqlite3_int64 o, void* pp) { return real(p)->pMethods->xUnfetch(real(p), o, pp); };
        f->pMethods = &methods;
        return SQLITE_OK;
    }
};

}  // namespace m1::test
