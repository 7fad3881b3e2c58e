#include "http/field_syntax.h"

namespace flashsale::http_syntax {

const char* check_field_line(std::string_view line, std::size_t* name_end, std::size_t* value_at,
                             std::size_t* value_end) {
  if (is_space(line.front())) return "a field line starts with whitespace (obsolete line folding is not accepted)";
  std::size_t i = 0;
  while (i < line.size() && is(line[i], kToken)) ++i;
  if (i == line.size()) return "a field line has no colon";
  if (line[i] != ':') {
    if (is_space(line[i])) return "whitespace between a field name and its colon";
    return "a field name has a byte that is not a token character";
  }
  if (i == 0) return "a field line has an empty name";
  *name_end = i;
  std::size_t at = i + 1;
  std::size_t end = line.size();
  while (at < end && is_space(line[at])) ++at;
  while (end > at && is_space(line[end - 1])) --end;
  if (!all_of_class(line.substr(at, end - at), kFieldByte)) return "a field value has a control character";
  *value_at = at;
  *value_end = end;
  return nullptr;
}

}  // namespace flashsale::http_syntax
