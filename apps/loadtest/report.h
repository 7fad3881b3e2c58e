// After the stampede: the invariants a flash sale must keep, checked against
// what the clients saw and what the server reports, and the figures of the run.
#pragma once

#include <string>
#include <vector>

#include "lifecycle_report.h"
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
  std::int64_t cancelled_before = 0;  // quantity cancelled before the run
  std::int64_t quantity_cancelled = 0;
  std::int64_t returns_pending = 0;  // cancelled, stock not yet back in the admit stage
};

struct Report {
  std::vector<std::string> violations;
  std::string text;  // human-readable summary
  std::string json;
};

// `lifecycle`: the order lifecycle's judgement, with -pay-ratio or -cancel-ratio.
Report make_report(const Options& options, const RunState& state, const ServerView& server, double seconds,
                   const LifecycleReport* lifecycle = nullptr);

}  // namespace flashsale::loadtest
