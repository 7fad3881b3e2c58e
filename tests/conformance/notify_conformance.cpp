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
