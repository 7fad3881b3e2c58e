#include "pipeline/result_service.h"

namespace flashsale {

ResultService::ResultService(std::shared_ptr<Notifier> notifier, std::shared_ptr<OrderStore> store)
    : notifier_(std::move(notifier)), store_(std::move(store)) {}

Status ResultService::lookup(const std::string& request_id, RequestState* out) {
  Status fast = notifier_->lookup(request_id, out);
  // A pending state is trusted: the consumer only commits after notify, so a
  // lost notify write is redone by redelivery. Only a miss (expired, evicted,
  // never written) or an unreachable fast store goes to the system of record.
  if (fast.is_ok()) return fast;
  Status stored = store_->find_request(request_id, out);
  if (stored.is_ok()) {
    if (fast.code() == Code::not_found) notifier_->backfill(*out);  // best effort
    return stored;
  }
  if (stored.code() == Code::not_found && fast.code() == Code::not_found) {
    return {Code::not_found, "no request " + request_id};
  }
  return fast.code() == Code::not_found ? stored : fast;
}

}  // namespace flashsale
