// The database schema as cumulative migrations: entry v-1 takes a database from version v-1 to v.
#pragma once
#include <vector>

namespace m1::storage {

// One SQL script per schema version; never edit a released entry, append a new one.
const std::vector<const char*>& schemaMigrations();

}  // namespace m1::storage
