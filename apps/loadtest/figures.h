// How the load test's reports write numbers: percentiles, two decimals, and
// text as a JSON string.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace flashsale::loadtest {

inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

inline std::string fixed(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  return buf;
}

// "text" with quotes and backslashes escaped (our messages hold no control characters).
inline std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace flashsale::loadtest
