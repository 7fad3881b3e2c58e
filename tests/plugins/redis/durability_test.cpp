// redis.wait.replicas on one Redis with a real replica: an admission or a
// final write that no replica confirms is not acknowledged (unavailable, the
// event not finished), and is confirmed by the same idempotency key or the
// redelivered event once a replica has it.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

// A replica of `master`, synced once it reports its link up.
std::unique_ptr<RedisServer> replica_of(const RedisServer& master) {
  auto replica = std::make_unique<RedisServer>(
      RedisServerOptions{false, {"--replicaof", "127.0.0.1", std::to_string(master.port())}});
  Client client(*replica);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (client.text({"INFO", "replication"}).find("master_link_status:up") == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the replica did not sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return replica;
}

}  // namespace

TEST_CASE("redis durability: with redis.wait.replicas nothing unconfirmed by a replica is acknowledged",
          "[redis][durability]") {
  SaleFixture sale(10, {{"redis.wait.replicas", "1"}, {"redis.wait.timeout.ms", "50"}});
  AdmitRequest request;
  request.event = make_event(sale.product, 7, 1);
  request.idempotency_key = "wait-1";

  // No replica: admitted on the master, but not acknowledged.
  AdmitResult first = sale.stages.admission().admit(request);
  CHECK(first.status.code() == Code::unavailable);
  CHECK(sale.remaining() == 9);
  CHECK(sale.stages.admission().admit(request).status.code() == Code::unavailable);  // a replay neither

  PersistResult success;
  success.status = RequestStatus::success;
  success.order_id = 1;
  std::vector<bool> finished;
  CHECK(sale.stages.notifier().finish_all({request.event}, {success}, &finished).code() == Code::unavailable);
  CHECK(finished == std::vector<bool>{false});

  auto replica = replica_of(sale.server);
  // The replica's acknowledgement may take a while on a loaded machine: the
  // same family with room for it.
  Stages patient(sale.server, {{"redis.wait.replicas", "1"}, {"redis.wait.timeout.ms", "5000"}});
  AdmitResult again = patient.admission().admit(request);
  REQUIRE(again.status.is_ok());
  CHECK(again.replayed);
  CHECK(again.request_id == request.event.request_id);
  CHECK(sale.remaining() == 9);  // the one admission, acknowledged now

  finished.clear();
  CHECK(patient.notifier().finish_all({request.event}, {success}, &finished).is_ok());
  CHECK(finished == std::vector<bool>{true});
  RequestState state;
  REQUIRE(patient.notifier().lookup(request.event.request_id, &state).is_ok());
  CHECK(state.status == RequestStatus::success);
  Client on_replica(*replica);
  CHECK(on_replica.exists(keys::state(request.event.request_id)));

  AdmitRequest fresh;
  fresh.event = make_event(sale.product, 8, 1);
  CHECK(patient.admission().admit(fresh).status.is_ok());
}

}  // namespace flashsale::redis::test
