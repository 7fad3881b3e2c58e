// After the stampede: the invariants a flash sale must keep, checked against
// what the clients saw and what the server reports, and the figures of the run.
#pragma once

#include <string>
#include <vector>

#include "options.h"
#include "run_state.h"

namespace flashsale::loadtest {

struct ServerView {
  std::int64_t stock_at_start = 0;  // sellable when the run began
  bool reconcile_ok = false;        // GET /api/admin/reconcile answered
  std::int64_t initial_stock = 0;
  std::int64_t admit_remaining = 0;
  std::int64_t quantity_sold = 0;
  std::int64_t sold_before = 0;  // quantity persisted before the run
  bool reconciled = false;
};

struct Report {
  std::vector<std::string> violations;
  std::string text;  // human-readable summary
  std::string json;
};

Report make_report(const Options& options, const RunState& state, const ServerView& server, double seconds);

}  // namespace flashsale::loadtest
