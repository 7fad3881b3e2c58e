#include "request_key.h"

#include "sqlite_statement.h"

namespace flashsale::sqlite {

namespace {

// 0-15 for a lowercase hex digit, -1 for anything else (uppercase included:
// "6F1C..." is another id than "6f1c...", as in every other backend).
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

RequestKey::RequestKey(std::string_view id) noexcept : text_(id) {
  // 8-4-4-4-12 hex digits; any version, the layout alone decides.
  if (id.size() != 36) return;
  std::size_t at = 0;
  for (unsigned char& byte : bytes_) {
    if (at == 8 || at == 13 || at == 18 || at == 23) {
      if (id[at] != '-') return;
      ++at;
    }
    int high = hex_value(id[at]), low = hex_value(id[at + 1]);
    if (high < 0 || low < 0) return;
    byte = static_cast<unsigned char>(high << 4 | low);
    at += 2;
  }
  is_uuid_ = true;
}

void RequestKey::bind_to(StatementRun& run, int index) const {
  if (is_uuid_) {
    run.bind_blob(index, bytes_, sizeof bytes_);
  } else {
    run.bind(index, text_);
  }
}

}  // namespace flashsale::sqlite
