#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace flashsale::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "flashsale-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}
}  // namespace

std::string build_dir() {
  return env_or("FLASHSALE_BUILD_DIR", FLASHSALE_DEFAULT_BUILD_DIR);
}
std::string source_dir() {
  return env_or("FLASHSALE_SOURCE_DIR", FLASHSALE_DEFAULT_SOURCE_DIR);
}
std::string plugin_dir() {
  return build_dir() + "/plugins";
}

}  // namespace flashsale::test
