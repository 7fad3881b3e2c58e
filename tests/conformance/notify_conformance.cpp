// Conformance of the notify stage (notifier.h), with the admit stage of the
// same family whose stock and locks it compensates: final states are looked
// up, a failure gives the stock back once and frees only its own lock, and
// backfilled states are looked up.
#include "conformance.h"

namespace flashsale::conformance {

namespace {

OrderEvent admitted(Backends& backends, const OpenSale& sale) {
  OrderEvent event = make_event(sale.product, sale.user);
  REQUIRE_OK(admit(backends.admission(), event).status);
  return event;
}

RequestState lookup(Backends& backends, const std::string& request_id) {
  RequestState state;
  REQUIRE_OK(backends.notifier().lookup(request_id, &state));
  CHECK(state.request_id == request_id);
  return state;
}

PersistResult failure(const std::string& reason) {
  return PersistResult{RequestStatus::failed, reason, 0};
}

}  // namespace

TEST_CASE("notify: an admitted request is pending", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 5);
  OrderEvent event = admitted(backends, sale);
  CHECK(lookup(backends, event.request_id).status == RequestStatus::pending);
}

TEST_CASE("notify: a successful finish is looked up with its order id", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 5);
  OrderEvent event = admitted(backends, sale);
  REQUIRE_OK(backends.notifier().finish(event, PersistResult{RequestStatus::success, {}, 4242}));
  RequestState state = lookup(backends, event.request_id);
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == 4242);
  // Success keeps the stock taken and the user locked.
  CHECK(remaining(backends.admission(), sale.product) == 4);
  REQUIRE_CODE(admit(backends.admission(), make_event(sale.product, sale.user)).status, Code::already_purchased);
}

TEST_CASE("notify: a failed finish restores the stock once and frees the user", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 5);
  OrderEvent event = admitted(backends, sale);
  CHECK(remaining(backends.admission(), sale.product) == 4);

  REQUIRE_OK(backends.notifier().finish(event, failure("already_purchased")));
  CHECK(remaining(backends.admission(), sale.product) == 5);
  REQUIRE_OK(backends.notifier().finish(event, failure("already_purchased")));  // redelivered
  CHECK(remaining(backends.admission(), sale.product) == 5);

  RequestState state = lookup(backends, event.request_id);
  CHECK(state.status == RequestStatus::failed);
  CHECK(state.reason == "already_purchased");

  OrderEvent retry = admitted(backends, sale);
  CHECK(remaining(backends.admission(), sale.product) == 4);
  CHECK(lookup(backends, retry.request_id).status == RequestStatus::pending);
}

TEST_CASE("notify: a failed finish of another request leaves the user's lock alone", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 5);
  admitted(backends, sale);
  OrderEvent foreign = make_event(sale.product, sale.user);  // same user, another request_id
  REQUIRE_OK(backends.notifier().finish(foreign, failure("already_purchased")));
  REQUIRE_CODE(admit(backends.admission(), make_event(sale.product, sale.user)).status, Code::already_purchased);
}

TEST_CASE("notify: finish_all records a mixed batch, and a redelivered batch changes nothing", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 10);
  std::vector<OrderEvent> events;
  for (UserId user = sale.user; user < sale.user + 6; ++user) {
    events.push_back(make_event(sale.product, user));
    REQUIRE_OK(admit(backends.admission(), events.back()).status);
  }
  std::vector<PersistResult> results;
  for (std::size_t i = 0; i < events.size(); ++i) {
    results.push_back(i % 3 == 2 ? failure("already_purchased")
                                 : PersistResult{RequestStatus::success, {}, static_cast<OrderId>(100 + i)});
  }
  CHECK(remaining(backends.admission(), sale.product) == 4);

  std::vector<bool> finished(events.size(), false);
  REQUIRE_OK(backends.notifier().finish_all(events, results, &finished));
  CHECK(finished == std::vector<bool>(events.size(), true));
  CHECK(remaining(backends.admission(), sale.product) == 6);  // the two failures gave their stock back

  std::vector<bool> again(events.size(), false);
  REQUIRE_OK(backends.notifier().finish_all(events, results, &again));  // redelivered
  CHECK(remaining(backends.admission(), sale.product) == 6);

  for (std::size_t i = 0; i < events.size(); ++i) {
    RequestState state = lookup(backends, events[i].request_id);
    CHECK(state.status == results[i].status);
    CHECK(state.order_id == results[i].order_id);
    CHECK(state.reason == results[i].reason);
  }
  // A failed user may buy again; a successful one still holds the product.
  REQUIRE_OK(admit(backends.admission(), make_event(sale.product, events[2].user_id)).status);
  REQUIRE_CODE(admit(backends.admission(), make_event(sale.product, events[0].user_id)).status,
               Code::already_purchased);
}

TEST_CASE("notify: finish_all skips what is already finished and refuses mismatched results", "[notify]") {
  Backends backends;
  OpenSale sale = preload(backends.admission(), 5);
  std::vector<OrderEvent> events{admitted(backends, sale), make_event(sale.product, sale.user + 1)};
  REQUIRE_OK(admit(backends.admission(), events[1]).status);
  std::vector<PersistResult> results{failure("already_purchased"), failure("already_purchased")};

  std::vector<bool> finished{true, false};  // the first was recorded by an earlier, interrupted try
  REQUIRE_OK(backends.notifier().finish_all(events, results, &finished));
  CHECK(finished == std::vector<bool>{true, true});
  CHECK(lookup(backends, events[0].request_id).status == RequestStatus::pending);  // skipped
  CHECK(lookup(backends, events[1].request_id).status == RequestStatus::failed);
  CHECK(remaining(backends.admission(), sale.product) == 4);

  std::vector<bool> none;
  REQUIRE_CODE(backends.notifier().finish_all(events, {results[0]}, &none), Code::invalid_argument);
}

TEST_CASE("notify: a backfilled state is looked up", "[notify]") {
  Backends backends;
  RequestState success{random_request_id(), RequestStatus::success, {}, 777};
  RequestState failed{random_request_id(), RequestStatus::failed, "already_purchased", 0};
  REQUIRE_OK(backends.notifier().backfill(success));
  REQUIRE_OK(backends.notifier().backfill(failed));

  RequestState found = lookup(backends, success.request_id);
  CHECK(found.status == RequestStatus::success);
  CHECK(found.order_id == 777);
  found = lookup(backends, failed.request_id);
  CHECK(found.status == RequestStatus::failed);
  CHECK(found.reason == "already_purchased");
}

TEST_CASE("notify: an unknown request is not_found", "[notify]") {
  Backends backends;
  RequestState state;
  REQUIRE_CODE(backends.notifier().lookup(random_request_id(), &state), Code::not_found);
}

}  // namespace flashsale::conformance
