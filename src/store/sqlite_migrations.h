#pragma once
// Versioned schema migrations of the SQLite policy store (POL §10 Persistence). The applied
// version lives in meta.schema_version; migration N moves the schema from N-1 to N. Each runs
// in its own BEGIN IMMEDIATE transaction and re-reads the version inside it, so two processes
// opening the same new file never apply a migration twice. A file whose schema is newer than
// this binary knows is refused (no silent downgrade).
//
// Thread-compatible: the caller owns the connection for the duration of the call.

#include <sqlite3.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace router::store {

// The schema version this binary writes and reads.
inline constexpr int64_t kSqliteSchemaVersion = 1;

// meta.schema_version, or 0 for an empty database (no meta table yet).
absl::StatusOr<int64_t> ReadSchemaVersion(sqlite3* db);

// Brings the schema to kSqliteSchemaVersion. INTERNAL (cause says why) on any failure or when
// the file's version is newer than kSqliteSchemaVersion.
absl::Status ApplyMigrations(sqlite3* db);

}  // namespace router::store
