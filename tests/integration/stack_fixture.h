// The default stack for end-to-end tests: a real redis-server (AOF on), the
// Kafka-protocol dev broker in this process (so tests can take it down and
// inject errors), and flashsale-server processes on etc/flashsale.properties
// with a temp SQLite file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dev_broker.h"
#include "integration/sale_fixture.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"

namespace flashsale::test {

// Where the stack's orders are kept.
enum class Persist { sqlite, postgres };

class Stack {
 public:
  explicit Stack(Persist persist = Persist::sqlite);
  // A server process with these roles ("api,relay,consumer" …) and extra env.
  std::unique_ptr<ServerProcess> server(const std::string& roles, std::map<std::string, std::string> env = {});
  std::string db_path() const { return dir_.file("flash_sale.db"); }
  DevBroker& broker() { return broker_; }
  // An integer query on the system of record, whichever it is.
  long long scalar(const std::string& sql) const;

 private:
  TempDir dir_;
  RedisServer redis_;
  DevBroker broker_;
  std::unique_ptr<PostgresServer> postgres_;  // with Persist::postgres
};

// Every accepted request final; exactly `expected_success` successes; the
// orders table agrees (no user twice, no request twice); stock reconciles.
void check_sale(HttpClient& admin, const Stack& stack, long long product, const StampedeResult& run, long long stock);

}  // namespace flashsale::test
