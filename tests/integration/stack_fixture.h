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
#include "support/redis_server.h"

namespace flashsale::test {

class Stack {
 public:
  Stack();
  // A server process with these roles ("api,relay,consumer" …) and extra env.
  std::unique_ptr<ServerProcess> server(const std::string& roles, std::map<std::string, std::string> env = {});
  std::string db_path() const { return dir_.file("flash_sale.db"); }
  DevBroker& broker() { return broker_; }

 private:
  TempDir dir_;
  RedisServer redis_;
  DevBroker broker_;
};

// Every accepted request final; exactly `expected_success` successes; the
// orders table agrees (no user twice, no request twice); stock reconciles.
void check_sale(HttpClient& admin, const std::string& db, long long product, const StampedeResult& run,
                long long stock);

}  // namespace flashsale::test
