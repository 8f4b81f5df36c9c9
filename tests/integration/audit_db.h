#pragma once
// Reads the router's audit trail (policy-and-decisions.md §10 Audit, grpc-api.md §5.5) straight
// from <data_dir>/policies.db with the SQLite C API, read-only, while the router runs (WAL mode
// allows a concurrent reader). Column names are those of the store's first migration.
// Thread-safety: reentrant; each call opens its own connection.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace router::itest {

struct AuditRow {
  int64_t id = 0;
  std::string principal;
  std::string claimed_user;
  std::string tenant_id;
  std::string action;
  std::string resource;
  int64_t before_version = 0;
  int64_t after_version = 0;
  std::string result;
  std::string document_sha256;
  std::string correlation_id;
};

inline std::string AuditRowString(const AuditRow& r) {
  return "{id " + std::to_string(r.id) + ", principal " + r.principal + ", claimed_user " +
         r.claimed_user + ", tenant " + r.tenant_id + ", action " + r.action + ", resource " +
         r.resource + ", versions " + std::to_string(r.before_version) + "->" +
         std::to_string(r.after_version) + ", result " + r.result + "}";
}

// Audit rows of `tenant_id`, oldest first.
inline absl::StatusOr<std::vector<AuditRow>> ReadAudit(const std::string& db_path,
                                                       const std::string& tenant_id) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("open " + db_path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  const char* sql =
      "SELECT id, principal, claimed_user, tenant_id, action, resource, before_version, "
      "after_version, result, document_sha256, correlation_id FROM audit_log WHERE tenant_id = ?1 "
      "ORDER BY id";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::InternalError("prepare: " + msg);
  }
  sqlite3_bind_text(stmt, 1, tenant_id.c_str(), -1, SQLITE_TRANSIENT);
  auto text = [&](int col) {
    const unsigned char* t = sqlite3_column_text(stmt, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  std::vector<AuditRow> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    AuditRow r;
    r.id = sqlite3_column_int64(stmt, 0);
    r.principal = text(1);
    r.claimed_user = text(2);
    r.tenant_id = text(3);
    r.action = text(4);
    r.resource = text(5);
    r.before_version = sqlite3_column_int64(stmt, 6);
    r.after_version = sqlite3_column_int64(stmt, 7);
    r.result = text(8);
    r.document_sha256 = text(9);
    r.correlation_id = text(10);
    rows.push_back(std::move(r));
  }
  std::string msg = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (rc != SQLITE_DONE) return absl::InternalError("step: " + msg);
  return rows;
}

}  // namespace router::itest
