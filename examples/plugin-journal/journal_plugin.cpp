// The journal backend family: a persist stage (OrderStore) kept in memory and
// made durable by an append-only journal file, replayed at start. An example
// of a plugin built out of the flashsale tree against the installed SDK
// (README.md here, and docs/plugin-guide.md in flashsale). This
// file is what every plugin has: the keys it reads, its Backend, and the one
// exported descriptor.
#include <iterator>
#include <memory>

#include "flashsale/boundary.h"
#include "flashsale/plugin.h"
#include "journal_file.h"
#include "journal_store.h"

namespace flashsale::journal {
namespace {

// The keys the family reads. The host fills in the defaults, applies
// JOURNAL_PATH and JOURNAL_FSYNC, checks them, and lists them in --help.
constexpr SettingSpec kPath =
    SettingSpec::required("journal.path", "flashsale.journal", "journal file of the journal persist stage");
constexpr SettingSpec kFsync = SettingSpec::integer(
    "journal.fsync", "1", 0, 1,
    "1: fdatasync each change before answering; 0: leave it to the OS (a power cut may lose the last ones)");
constexpr SettingSpec kSettings[] = {kPath, kFsync};

class JournalBackend final : public Backend {
 public:
  JournalBackend(std::string path, bool sync) : path_(std::move(path)), sync_(sync) {}

  OrderStore* make_order_store(std::string* error) noexcept override {
    try {
      return open_journal_store(path_, sync_);
    } catch (const std::exception& failure) {  // JournalError, or out of memory while replaying
      if (error != nullptr) *error = "journal.path (JOURNAL_PATH): " + std::string(failure.what());
    }
    return nullptr;
  }

 private:
  std::string path_;
  bool sync_;
};

Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept {
  return make_or_report(error, [&]() -> Backend* {
    // Set and valid by now: the host checked both keys against kSettings.
    return new JournalBackend(settings.get(kPath), settings.get_int(kFsync, error) == 1);
  });
}

const PluginDescriptor descriptor{
    kPluginAbiVersion, "journal", &make_backend, kSettings, std::size(kSettings), "persist",
};

}  // namespace
}  // namespace flashsale::journal

FLASHSALE_PLUGIN(flashsale::journal::descriptor)
