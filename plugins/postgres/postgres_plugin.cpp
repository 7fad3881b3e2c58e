// The postgres backend family: the persist stage (OrderStore, with the order
// lifecycle) on the PostgreSQL database postgres.dsn names, through libpq. It
// provides no other stage. Several processes may share one database.
#include <memory>

#include "flashsale/plugin.h"
#include "pg_connection.h"
#include "pg_error.h"
#include "postgres_order_store.h"
#include "postgres_settings.h"

namespace flashsale::postgres {
namespace {

std::string where(const SettingSpec& spec) {
  return std::string(spec.key) + " (" + Settings::env_name(spec.key) + ")";
}

// nullptr and a line naming postgres.dsn when the database cannot be used.
OrderStore* open_store(const StoreOptions& options, std::string* error) noexcept {
  try {
    return new PostgresOrderStore(options);
  } catch (const std::exception& failure) {
    if (error != nullptr) *error = where(setting::kDsn) + ": cannot use the database: " + failure.what();
  } catch (...) {
    if (error != nullptr) *error = where(setting::kDsn) + ": cannot use the database";
  }
  return nullptr;
}

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(StoreOptions options) : options_(std::move(options)) {}

  OrderStore* make_order_store(std::string* error) noexcept override { return open_store(options_, error); }

  // A new connection answers a query, within about a second (or the DSN's
  // own connect_timeout).
  Status ready() noexcept override {
    try {
      ConnectOptions quick = options_.connect;
      quick.statement_timeout = std::chrono::milliseconds(1000);
      quick.connect_timeout_s = 1;
      quick.answer_slack = std::chrono::milliseconds(250);
      static const Statement kProbe{"", "SELECT 1"};
      Connection::open(quick)->run({{&kProbe, {}}});
      return Status::ok();
    } catch (const std::exception& failure) {
      return Status(Code::unavailable, where(setting::kDsn) + ": " + failure.what());
    } catch (...) {
      return Status(Code::unavailable, where(setting::kDsn) + ": not reachable");
    }
  }

 private:
  StoreOptions options_;
};

Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept {
  try {
    std::string bad;
    StoreOptions options;
    options.connect.dsn = settings.get(setting::kDsn);
    if (options.connect.dsn.empty()) bad = where(setting::kDsn) + ": must not be empty";
    options.pool_size = static_cast<std::size_t>(settings.get_int(setting::kPoolSize, &bad));
    options.connect.statement_timeout = std::chrono::milliseconds(settings.get_int(setting::kStatementTimeout, &bad));
    if (!bad.empty()) {
      if (error != nullptr) *error = bad;
      return nullptr;
    }
    // Connect (and lay out the schema) now, so an unreachable database stops
    // start-up when the family loads, with the key to fix.
    if (std::unique_ptr<OrderStore> probe{open_store(options, error)}; probe == nullptr) return nullptr;
    return new PostgresBackend(std::move(options));
  } catch (...) {  // only bad_alloc can get here
    if (error != nullptr) *error = "out of memory";
    return nullptr;
  }
}

const PluginDescriptor descriptor{kPluginAbiVersion, "postgres",      &make_backend,
                                  setting::kAll,     setting::kCount, "persist"};

}  // namespace
}  // namespace flashsale::postgres

FLASHSALE_PLUGIN(flashsale::postgres::descriptor)
