// The order lifecycle's invariants, judged from what the clients were
// answered, how each order ended and what the server's reconciliation says,
// and the lifecycle's figures for the report.
//
// Stock is judged by units: every order takes its quantity from the admit
// stage and every cancelled one gives it back exactly once, so once nothing
// is in flight or returning
//   admit_remaining = stock at start - quantity ordered + quantity cancelled
//                   = stock at start - quantity paid - quantity awaiting payment
// with "ordered" counting the winners' orders and the rebuys', "cancelled"
// those the clients saw end cancelled. It is checked when the winners' orders
// are all final (no rebuy yet, nothing awaiting: stock at start - paid) and
// at the end (every rebuy cancelled again: the same figure).
#pragma once

#include <string>
#include <vector>

#include "lifecycle.h"
#include "reconciliation.h"

namespace flashsale::loadtest {

struct LifecycleReport {
  std::vector<std::string> violations;
  std::string text;  // lines for the text report
  std::string json;  // a JSON object
};

// `before`: the reconciliation before the stampede; `stock_at_start` its admit_remaining.
LifecycleReport judge_lifecycle(const LifecycleRun& run, const Reconciliation& before, std::int64_t stock_at_start);

}  // namespace flashsale::loadtest
