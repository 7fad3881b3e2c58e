// How a request id is kept in the file. The server's ids are canonical
// lowercase UUID text (36 characters); stored as their 16 bytes they make the
// unique request_id index less than half as large, so a batch dirties fewer
// pages. The API still speaks text and any other id (tests, other producers)
// is kept as its text: a BLOB and a TEXT value never compare equal in SQLite,
// and only the exact canonical form is packed, so two different strings never
// share a key and the text read back is always the text stored.
#pragma once

#include <string>
#include <string_view>

namespace flashsale::sqlite {

class StatementRun;

class RequestKey {
 public:
  // id is not copied: it must outlive the key.
  explicit RequestKey(std::string_view id) noexcept;

  bool is_uuid() const noexcept { return is_uuid_; }
  // Binds the key (16-byte BLOB or the text) as parameter index of run,
  // without a copy: the key must outlive the run.
  void bind_to(StatementRun& run, int index) const;

 private:
  std::string_view text_;
  bool is_uuid_ = false;
  unsigned char bytes_[16] = {};
};

// The SQL expression that turns the key stored in column back into the text
// id, for the statements, the order_requests view and ad-hoc queries that
// want to read ids. Inline, so the SQL can be built without the rest of the
// plugin (tests/plugins/sqlite read the plans of the store's statements).
inline std::string request_id_as_text(const std::string& column) {
  std::string hex = "hex(" + column + ")";
  return "CASE WHEN typeof(" + column + ") = 'blob' THEN lower(substr(" + hex + ", 1, 8) || '-' || substr(" + hex +
         ", 9, 4) || '-' || substr(" + hex + ", 13, 4) || '-' || substr(" + hex + ", 17, 4) || '-' || substr(" + hex +
         ", 21)) ELSE " + column + " END";
}

}  // namespace flashsale::sqlite
