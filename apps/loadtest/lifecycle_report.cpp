#include "lifecycle_report.h"

#include <map>

#include "figures.h"

namespace flashsale::loadtest {

namespace {

// Violations of one kind, counted, with the first few named.
class Findings {
 public:
  void add(const std::string& kind, const std::string& example) {
    auto& [count, examples] = kinds_[kind];
    ++count;
    if (examples.size() < kExamples) examples.push_back(example);
  }
  void append_to(std::vector<std::string>* violations) const {
    for (const auto& [kind, found] : kinds_) {
      std::string text = kind + ": " + std::to_string(found.first) + " (";
      for (std::size_t i = 0; i < found.second.size(); ++i) text += (i == 0 ? "" : "; ") + found.second[i];
      violations->push_back(text + (found.first > static_cast<std::int64_t>(found.second.size()) ? "; ...)" : ")"));
    }
  }

 private:
  static constexpr std::size_t kExamples = 5;
  std::map<std::string, std::pair<std::int64_t, std::vector<std::string>>> kinds_;
};

std::string where(const OrderView& view) {
  return view.status.empty() ? "unknown" : view.status + (view.reason.empty() ? "" : " " + view.reason);
}

// An answer from the server, as opposed to none (or a 5xx): the move may or
// may not have happened, and the end state alone says which.
bool answered(const Answer& answer) {
  return answer.status != 0 && answer.status < 500;
}

// What the answer to an order's move promises about how it ends.
void judge_move(const LifecycleOrder& order, const std::string& id, Findings* f) {
  const Answer& a = order.action;
  const OrderView& end = order.last;
  std::string answer = std::to_string(a.status) + (a.code.empty() ? "" : " " + a.code);
  if (order.plan == Plan::pay) {
    if (a.status == 200 && end.status != "paid") {
      f->add("orders whose pay was answered 200 that end unpaid", id + " ends " + where(end));
    } else if (a.status == 409 && a.code == "order_cancelled" && end.status != "cancelled") {
      f->add("orders whose pay was answered 409 order_cancelled that end uncancelled", id + " ends " + where(end));
    } else if (answered(a) && a.status != 200 && !(a.status == 409 && a.code == "order_cancelled")) {
      f->add("pays answered other than 200 or 409 order_cancelled", id + ": " + answer);
    }
  } else if (order.plan == Plan::cancel || order.plan == Plan::rebuy) {
    if (a.status == 200 && end.status != "cancelled") {
      f->add("orders whose cancel was answered 200 that end uncancelled", id + " ends " + where(end));
    } else if (a.status == 200 && a.reason == "user_cancelled" && end.reason != "user_cancelled") {
      f->add("orders cancelled by their user that end cancelled otherwise", id + " ends " + where(end));
    } else if (answered(a) && a.status != 200) {
      f->add("cancels answered other than 200", id + ": " + answer);
    }
  }
}

// How an order may end: paid only by its pay, cancelled by its user only by
// a cancel, otherwise cancelled by the expiry at or after its deadline; a
// cancelled order has its stock back.
void judge_end(const LifecycleOrder& order, const std::string& id, Findings* f) {
  const OrderView& end = order.last;
  if (end.user != order.user) {
    f->add("orders of another user than their buyer",
           id + " of user " + std::to_string(end.user) + ", bought by " + std::to_string(order.user));
  }
  if (end.status == "paid") {
    if (order.plan != Plan::pay) f->add("orders paid without a pay", id);
    if (end.payment_id != "lt-pay-" + std::to_string(order.order_id)) {
      f->add("orders paid by another payment", id + " payment " + end.payment_id);
    }
    if (end.paid_ms >= end.deadline_ms) {
      f->add("orders paid at or after their deadline",
             id + " paid " + format_rfc3339(end.paid_ms) + ", deadline " + format_rfc3339(end.deadline_ms));
    }
  } else if (end.status == "cancelled") {
    if (!end.stock_returned) f->add("cancelled orders whose stock is not back", id);
    if (end.reason == "user_cancelled") {
      if (order.plan != Plan::cancel && order.plan != Plan::rebuy) f->add("orders cancelled without a cancel", id);
    } else if (end.reason == "payment_timeout") {
      if (end.cancelled_ms < end.deadline_ms) {
        f->add("orders expired before their deadline",
               id + " cancelled " + format_rfc3339(end.cancelled_ms) + ", deadline " + format_rfc3339(end.deadline_ms));
      }
    } else {
      f->add("orders cancelled for an unknown reason", id + ": " + end.reason);
    }
  } else {
    f->add("orders not final after their deadline and the wait",
           id + " " + where(end) + ", deadline " + format_rfc3339(end.deadline_ms));
  }
}

struct Quantities {
  std::int64_t ordered = 0;
  std::int64_t paid = 0;
  std::int64_t cancelled = 0;
  std::int64_t awaiting = 0;  // or unknown

  void add(const OrderView& view) {
    ordered += view.quantity;
    (view.status == "paid" ? paid : view.status == "cancelled" ? cancelled : awaiting) += view.quantity;
  }
};

std::string n(std::int64_t value) {
  return std::to_string(value);
}

// admit_remaining against stock at start - ordered + cancelled, once nothing is in flight or returning.
void judge_stock(const std::string& when, const Reconciliation& totals, std::int64_t stock_at_start,
                 const Quantities& q, std::vector<std::string>* violations) {
  if (!totals.ok) {
    violations->push_back(when + ": the reconciliation endpoint did not answer: " + totals.body);
    return;
  }
  if (!totals.reconciled || totals.returns_pending != 0) {
    violations->push_back(when + ": stock does not reconcile: in flight " + n(totals.in_flight) + ", returns pending " +
                          n(totals.returns_pending));
  }
  std::int64_t expected = stock_at_start - q.ordered + q.cancelled;
  if (totals.admit_remaining != expected) {
    violations->push_back(when + ": the admit stage holds " + n(totals.admit_remaining) + ", expected stock " +
                          n(stock_at_start) + " - ordered " + n(q.ordered) + " + cancelled " + n(q.cancelled) + " = " +
                          n(expected) + " (stock returned " + n(totals.admit_remaining - (stock_at_start - q.ordered)) +
                          " times, not " + n(q.cancelled) + ")");
  }
}

}  // namespace

LifecycleReport judge_lifecycle(const LifecycleRun& run, const Reconciliation& before, std::int64_t stock_at_start) {
  LifecycleReport report;
  if (!run.ran) {
    report.text = "lifecycle: skipped, " + run.skipped + "\n";
    report.json = "{\"skipped\":" + json_string(run.skipped) + "}";
    return report;
  }
  auto& v = report.violations;
  Findings findings;
  std::int64_t planned_pay = 0, planned_cancel = 0, paid = 0, lost = 0, unanswered = 0, by_user = 0, expired = 0;
  std::int64_t returns = 0;
  std::vector<double> expiry_lag_ms;
  Quantities settled, end;
  for (std::size_t i = 0; i < run.orders.size(); ++i) {
    const LifecycleOrder& order = run.orders[i];
    bool winner = i < run.winners;
    std::string id = "order " + std::to_string(order.order_id);
    if (!order.first.found || !order.last.found) {
      findings.add("orders the tool could not read", id);
      continue;
    }
    judge_move(order, id, &findings);
    judge_end(order, id, &findings);
    end.add(order.last);
    const OrderView& last = order.last;
    if (last.status == "cancelled" && last.stock_returned) ++returns;
    if (last.reason == "payment_timeout") {
      expiry_lag_ms.push_back(static_cast<double>(last.cancelled_ms - last.deadline_ms));
    }
    if (!winner) continue;
    settled.add(order.settled);
    planned_pay += order.plan == Plan::pay ? 1 : 0;
    planned_cancel += order.plan == Plan::cancel ? 1 : 0;
    paid += last.status == "paid" ? 1 : 0;
    by_user += last.reason == "user_cancelled" ? 1 : 0;
    expired += last.reason == "payment_timeout" ? 1 : 0;
    if (order.plan == Plan::pay && order.action.status == 409 && order.action.code == "order_cancelled") ++lost;
    if (order.plan != Plan::leave && !answered(order.action)) ++unanswered;
    if (run.settled_in_time && (order.settled.status != last.status || order.settled.reason != last.reason)) {
      findings.add("orders that moved again once final", id + " was " + where(order.settled) + ", ends " + where(last));
    }
    if (order.result_order_status != last.status) {
      findings.add("results whose order_status is not the order's",
                   id + ": result says " + order.result_order_status + ", the order " + last.status);
    }
  }

  std::int64_t rebought = 0;
  for (const Rebuy& rebuy : run.rebuys) {
    std::string who = "user " + std::to_string(rebuy.user);
    if (rebuy.status != 202) {
      findings.add("buyers of cancelled orders refused when buying again",
                   who + ": " + std::to_string(rebuy.status) + " " + rebuy.code);
    } else if (rebuy.final_status != "success") {
      findings.add(
          "buyers of cancelled orders whose new request did not succeed",
          who + ": " + (rebuy.final_status.empty() ? "not final" : rebuy.final_status + " " + rebuy.final_reason));
    } else {
      ++rebought;
    }
  }
  findings.append_to(&v);
  if (run.rebuys_not_tried > 0) {
    v.push_back(n(run.rebuys_not_tried) + " buyers of cancelled orders did not get to buy again within the wait");
  }
  if (end.paid > stock_at_start) v.push_back("oversold: " + n(end.paid) + " paid for stock " + n(stock_at_start));
  if (run.settled_in_time) judge_stock("once every order was final", run.settled, stock_at_start, settled, &v);
  judge_stock("at the end", run.end, stock_at_start, end, &v);
  if (run.end.ok) {
    auto compare = [&](const std::string& what, std::int64_t server_delta, std::int64_t seen) {
      if (server_delta != seen) {
        v.push_back("the server counts " + n(server_delta) + " " + what + " from this run, the clients saw " + n(seen));
      }
    };
    compare("orders", run.end.orders - before.orders, static_cast<std::int64_t>(run.orders.size()));
    compare("paid", run.end.quantity_paid - before.quantity_paid, end.paid);
    compare("cancelled", run.end.quantity_cancelled - before.quantity_cancelled, end.cancelled);
    compare("awaiting payment", run.end.quantity_awaiting_payment - before.quantity_awaiting_payment, end.awaiting);
  }

  std::int64_t winners = static_cast<std::int64_t>(run.winners);
  std::int64_t returned = run.end.admit_remaining - (stock_at_start - end.ordered);
  std::string& t = report.text;
  t += "lifecycle: orders " + n(winners) + " (pay " + n(planned_pay) + ", cancel " + n(planned_cancel) + ", leave " +
       n(winners - planned_pay - planned_cancel) + ") in " + fixed(run.seconds) + " s\n";
  t += "  paid " + n(paid) + "  pays lost to expiry " + n(lost) + "  unanswered moves " + n(unanswered) +
       "  cancelled by user " + n(by_user) + "  expired " + n(expired) + "\n";
  t += "  rebought " + n(rebought) + " of " + n(by_user + expired) +
       (run.rebuys_without_stock > 0 ? " (no stock left for " + n(run.rebuys_without_stock) + ")" : "") +
       "  stock returns " + n(returns) + " orders, " + n(end.cancelled) + " units; admit stage got back " +
       n(returned) + "\n";
  t += "  admit remaining " + n(run.end.admit_remaining) + " (stock " + n(stock_at_start) + " - paid " + n(end.paid) +
       " - awaiting " + n(end.awaiting) + " = " + n(stock_at_start - end.paid - end.awaiting) +
       ")  expiry ms after deadline p50 " + fixed(percentile(expiry_lag_ms, 0.5)) + "  max " +
       fixed(percentile(expiry_lag_ms, 1)) + "\n";
  report.json = "{\"orders\":" + n(winners) + ",\"planned\":{\"pay\":" + n(planned_pay) +
                ",\"cancel\":" + n(planned_cancel) + ",\"leave\":" + n(winners - planned_pay - planned_cancel) +
                "},\"paid\":" + n(paid) + ",\"pays_lost_to_expiry\":" + n(lost) +
                ",\"unanswered_moves\":" + n(unanswered) + ",\"cancelled_by_user\":" + n(by_user) +
                ",\"expired\":" + n(expired) + ",\"rebought\":" + n(rebought) +
                ",\"rebuys_without_stock\":" + n(run.rebuys_without_stock) + ",\"returns\":" + n(returns) +
                ",\"quantity_cancelled\":" + n(end.cancelled) + ",\"stock_returned\":" + n(returned) +
                ",\"quantity_paid\":" + n(end.paid) + ",\"admit_remaining\":" + n(run.end.admit_remaining) +
                ",\"expiry_lag_ms\":{\"p50\":" + fixed(percentile(expiry_lag_ms, 0.5)) +
                ",\"max\":" + fixed(percentile(expiry_lag_ms, 1)) + "},\"seconds\":" + fixed(run.seconds) + "}";
  return report;
}

}  // namespace flashsale::loadtest
