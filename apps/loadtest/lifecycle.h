// The order lifecycle after the stampede (-pay-ratio, -cancel-ratio). Each
// winner's order is paid, cancelled by its buyer, or left to expire, each
// move at a random time before the order's payment deadline. The run then
// waits until every order is final with its stock back, lets every buyer
// whose order was cancelled buy once more and cancel that order too, and
// waits again. It records what the clients were answered and how each order
// ends; lifecycle_report.h judges it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/clock.h"
#include "options.h"
#include "reconciliation.h"
#include "run_state.h"

namespace flashsale::loadtest {

enum class Plan {
  pay,     // pays the right amount, signed with -webhook-secret
  cancel,  // cancelled by its buyer
  leave,   // left unpaid: the expiry worker must cancel it
  rebuy,   // a cancelled order's buyer bought again; cancelled by its buyer at once
};

// GET /api/orders/{id}.
struct OrderView {
  bool found = false;
  std::string status;  // awaiting_payment | paid | cancelled
  std::string reason;  // when cancelled
  std::string payment_id;
  bool stock_returned = false;
  std::int64_t user = 0;
  std::int64_t quantity = 0;
  std::int64_t amount = 0;
  UnixMillis deadline_ms = 0;
  UnixMillis paid_ms = 0;
  UnixMillis cancelled_ms = 0;
};

// The answer to a pay or a cancel (transport errors and 5xx retried a few times).
struct Answer {
  int status = 0;      // HTTP status; 0: none, or not yet sent
  std::string code;    // error.code when not 200
  std::string reason;  // the cancel reason, of a 200 cancel or a 409 order_cancelled
  UnixMillis sent_ms = 0;
};

struct LifecycleOrder {
  std::int64_t order_id = 0;
  std::string request_id;
  std::int64_t user = 0;  // who bought it, as the client knows
  Plan plan = Plan::leave;
  OrderView first;                  // read before acting
  Answer action;                    // to the pay or the cancel
  OrderView settled;                // a winner's, once every winner's order was final (before the rebuys)
  OrderView last;                   // as it ends
  std::string result_order_status;  // GET /api/flash_sale/result's order_status at the end
};

// A cancelled order's buyer buying again.
struct Rebuy {
  std::int64_t user = 0;
  int status = 0;  // the buy's HTTP status
  std::string code;
  std::string request_id;
  std::string final_status;  // success | failed | "" (not final in time)
  std::string final_reason;
};

struct LifecycleRun {
  bool ran = false;
  std::string skipped;                 // why it did not run, when it did not
  std::vector<LifecycleOrder> orders;  // the winners' orders, then the rebuys'
  std::size_t winners = 0;             // orders[0, winners) are the winners'
  Reconciliation settled;              // once every winner's order is final with its stock back (or the wait ran out)
  bool settled_in_time = false;
  std::vector<Rebuy> rebuys;
  std::int64_t rebuys_without_stock = 0;  // buyers who could not buy again: every unit is paid
  std::int64_t rebuys_not_tried = 0;      // buyers left when the wait ran out
  Reconciliation end;  // at the end, once every order is final with its stock back or the wait ran out
  double seconds = 0;
};

// Needs every accepted request final (state.final_status) and a product that
// was quiet before the stampede (no awaiting orders, returns or requests in
// flight). Runs for about the server's payment timeout, plus up to
// options.wait_sec for every order to become final, twice.
LifecycleRun run_lifecycle(const Options& options, std::int64_t product, const RunState& state, std::uint64_t seed);

}  // namespace flashsale::loadtest
