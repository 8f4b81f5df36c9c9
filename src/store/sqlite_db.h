#pragma once
// Thin RAII layer over the SQLite C API for the policy store (POL §10 Persistence): an owning
// connection pointer, prepared statements finalized on destruction, and a transaction that rolls
// back unless committed. Every failure becomes StoreInternalError with the SQLite message as
// `cause`; nothing here throws or aborts.
//
// Thread-compatible: a connection and its statements are used by one thread at a time
// (SqlitePolicyStore holds its mutex around every use).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace router::store {

struct SqliteCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteCloser>;

struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// INTERNAL `internal error` with cause "<what>: <sqlite message> (<extended code>)".
absl::Status SqliteError(sqlite3* db, std::string_view what);

// Runs one or more statements that return no rows needed by the caller (DDL, pragmas).
absl::Status ExecSql(sqlite3* db, std::string_view sql);

// A prepared statement. Bind* record the first binding error, reported by the next Step/Run.
// Parameters are 1-based, columns 0-based, as in SQLite.
class Statement {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql);

  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& BindText(int index, std::string_view value);
  Statement& BindInt(int index, int64_t value);

  // true = a row is available, false = done.
  absl::StatusOr<bool> Step();
  // Steps to completion (rows are ignored), then resets for reuse.
  absl::Status Run();
  // Resets for another execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;

 private:
  Statement(sqlite3* db, SqliteStmtPtr stmt) : db_(db), stmt_(std::move(stmt)) {}

  sqlite3* db_;  // not owned; the connection outlives its statements
  SqliteStmtPtr stmt_;
  absl::Status bind_status_;
};

// One write transaction taken with BEGIN IMMEDIATE, so the write lock (and the busy timeout) is
// acquired before any read: a read-then-write decision (quota, version) cannot race another
// connection. Rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  absl::Status Begin();
  absl::Status Commit();

 private:
  sqlite3* db_;  // not owned
  bool active_ = false;
};

}  // namespace router::store
