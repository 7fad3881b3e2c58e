// Test helpers shared by every suite: a temp directory removed on scope exit,
// and where the build put binaries and plugins.
#pragma once

#include <string>

namespace flashsale::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string build_dir();   // FLASHSALE_BUILD_DIR
std::string source_dir();  // FLASHSALE_SOURCE_DIR
std::string plugin_dir();  // build_dir() + "/plugins"

}  // namespace flashsale::test
