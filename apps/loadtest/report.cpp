#include "report.h"

#include <algorithm>
#include <map>
#include <set>

#include "figures.h"

namespace flashsale::loadtest {

namespace {

void check_users(const RunState& state, std::vector<std::string>* violations, std::int64_t* buyers) {
  *buyers = 0;
  for (const auto& [user, record] : state.users) {
    if (record.first_status != 0 || record.retry_status != 0) ++*buyers;
    std::set<std::string> ids;
    for (const std::string* id : {&record.first_id, &record.retry_id, &record.dup_id}) {
      if (!id->empty()) ids.insert(*id);
    }
    int successes = 0;
    for (const auto& id : ids) {
      auto it = state.final_status.find(id);
      if (it != state.final_status.end() && it->second == "success") ++successes;
    }
    if (successes > 1)
      violations->push_back("user " + std::to_string(user) + " has " + std::to_string(successes) +
                            " successful orders");
    if (record.retry_status == 202 && record.first_status == 202 && record.retry_id != record.first_id) {
      violations->push_back("user " + std::to_string(user) + ": the resend with the same idempotency key got " +
                            record.retry_id + ", the first try " + record.first_id);
    }
    if (record.first_status == 202 && record.retry_status != 0 && record.retry_status != 202 &&
        record.retry_status != 429 && record.retry_status < 500) {
      violations->push_back("user " + std::to_string(user) +
                            ": the resend with the same idempotency key was refused (" +
                            std::to_string(record.retry_status) + ") after the first try was accepted");
    }
  }
}

}  // namespace

Report make_report(const Options& options, const RunState& state, const ServerView& server, double seconds,
                   const LifecycleReport* lifecycle) {
  Report report;
  auto& v = report.violations;
  std::int64_t buyers = 0;
  check_users(state, &v, &buyers);

  std::int64_t success = 0, failed = 0, failed_other = 0;
  for (const auto& [id, status] : state.final_status) {
    if (status == "success")
      ++success;
    else {
      ++failed;
      if (state.final_reason.at(id) != "already_purchased") ++failed_other;
    }
  }
  std::int64_t accepted = static_cast<std::int64_t>(state.accepted.size());
  std::int64_t not_final = accepted - static_cast<std::int64_t>(state.final_status.size());
  if (not_final > 0) {
    v.push_back(std::to_string(not_final) + " accepted requests did not become final within " +
                fixed(options.wait_sec) + " s");
  }
  // An order cancelled during the run (its buyer, or its payment deadline)
  // gives its stock back, and another buyer may win it.
  std::int64_t cancelled = server.quantity_cancelled - server.cancelled_before;
  std::string cancelled_note = cancelled == 0 ? "" : " (" + std::to_string(cancelled) + " cancelled during the run)";
  if (success - cancelled > server.stock_at_start) {
    v.push_back("oversold: " + std::to_string(success) + " successes" + cancelled_note + " for stock " +
                std::to_string(server.stock_at_start));
  }
  auto count = [&](int status) {
    auto it = state.by_status.find(status);
    return it == state.by_status.end() ? 0 : it->second;
  };
  std::int64_t errors = count(0) + count(429);
  for (const auto& [status, n] : state.by_status) errors += status >= 500 ? n : 0;
  std::int64_t expected = std::min(server.stock_at_start, buyers);
  std::int64_t expected_most = std::min(server.stock_at_start + cancelled, buyers);
  if (errors == 0 && failed_other == 0 && not_final == 0 && (success < expected || success > expected_most)) {
    v.push_back("expected min(stock, buyers) = " + std::to_string(expected) +
                (expected_most == expected ? "" : " to " + std::to_string(expected_most) + cancelled_note) +
                " successes, got " + std::to_string(success));
  }
  if (!server.reconcile_ok) {
    v.push_back("the reconciliation endpoint did not answer");
  } else if (not_final == 0 &&
             (!server.reconciled ||
              server.admit_remaining + server.quantity_sold + server.returns_pending != server.initial_stock)) {
    v.push_back("stock does not reconcile: remaining " + std::to_string(server.admit_remaining) + " + sold " +
                std::to_string(server.quantity_sold) +
                (server.returns_pending == 0 ? "" : " + returning " + std::to_string(server.returns_pending)) +
                " != initial " + std::to_string(server.initial_stock));
  } else if (not_final == 0 && server.quantity_sold + cancelled - server.sold_before != success) {
    v.push_back("the store persisted " + std::to_string(server.quantity_sold + cancelled - server.sold_before) +
                " during the run, clients saw " + std::to_string(success) + " successes");
  }

  std::int64_t total = state.sent.load();
  double rps = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  std::string text;
  text += "requests " + std::to_string(total) + " in " + fixed(seconds) + " s = " + fixed(rps) + " req/s\n";
  text += "latency ms p50 " + fixed(percentile(state.latency_ms, 0.5)) + "  p90 " +
          fixed(percentile(state.latency_ms, 0.9)) + "  p99 " + fixed(percentile(state.latency_ms, 0.99)) + "  p99.9 " +
          fixed(percentile(state.latency_ms, 0.999)) + "\n";
  std::string status_json;
  text += "status";
  for (const auto& [status, n] : state.by_status) {
    text += "  " + (status == 0 ? std::string("error") : std::to_string(status)) + ": " + std::to_string(n) + " (" +
            fixed(100.0 * static_cast<double>(n) / static_cast<double>(std::max<std::int64_t>(1, total))) + "%)";
    status_json +=
        (status_json.empty() ? "" : ",") + std::string("\"") + std::to_string(status) + "\":" + std::to_string(n);
  }
  text += "\nbuyers " + std::to_string(buyers) + "  stock " + std::to_string(server.stock_at_start) + "  accepted " +
          std::to_string(accepted) + "  success " + std::to_string(success) + "  failed " + std::to_string(failed) +
          "  not final " + std::to_string(not_final) + "\n";
  text += "accepted->final ms p50 " + fixed(percentile(state.final_latency_ms, 0.5)) + "  p99 " +
          fixed(percentile(state.final_latency_ms, 0.99)) + "\n";
  if (lifecycle != nullptr) {
    text += lifecycle->text;
    v.insert(v.end(), lifecycle->violations.begin(), lifecycle->violations.end());
  }
  text += v.empty() ? "invariants: all hold\n" : "invariants: " + std::to_string(v.size()) + " VIOLATED\n";
  for (const auto& violation : v) text += "  VIOLATION: " + violation + "\n";
  report.text = text;

  std::string violations_json;
  for (const auto& violation : v) violations_json += (violations_json.empty() ? "" : ",") + json_string(violation);
  report.json =
      "{\"requests\":" + std::to_string(total) + ",\"seconds\":" + fixed(seconds) +
      ",\"throughput_rps\":" + fixed(rps) + ",\"latency_ms\":{\"p50\":" + fixed(percentile(state.latency_ms, 0.5)) +
      ",\"p90\":" + fixed(percentile(state.latency_ms, 0.9)) + ",\"p99\":" + fixed(percentile(state.latency_ms, 0.99)) +
      ",\"p999\":" + fixed(percentile(state.latency_ms, 0.999)) + "},\"status\":{" + status_json +
      "},\"buyers\":" + std::to_string(buyers) + ",\"stock\":" + std::to_string(server.stock_at_start) +
      ",\"accepted\":" + std::to_string(accepted) + ",\"success\":" + std::to_string(success) +
      ",\"failed\":" + std::to_string(failed) + ",\"not_final\":" + std::to_string(not_final) +
      ",\"final_latency_ms\":{\"p50\":" + fixed(percentile(state.final_latency_ms, 0.5)) +
      ",\"p99\":" + fixed(percentile(state.final_latency_ms, 0.99)) + "}" +
      (lifecycle != nullptr ? ",\"lifecycle\":" + lifecycle->json : "") + ",\"violations\":[" + violations_json +
      "]}\n";
  return report;
}

}  // namespace flashsale::loadtest
