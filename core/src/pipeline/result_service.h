// Answers "what became of my request": the notify stage's fast store first;
// on a miss the persist store (the system of record), whose answer is then
// written back to the fast store for the next poll.
#pragma once

#include <memory>

#include "flashsale/notifier.h"
#include "flashsale/order_store.h"

namespace flashsale {

class ResultService {
 public:
  ResultService(std::shared_ptr<Notifier> notifier, std::shared_ptr<OrderStore> store);

  // ok, not_found, or the error of a stage that could not answer.
  Status lookup(const std::string& request_id, RequestState* out);

 private:
  std::shared_ptr<Notifier> notifier_;
  std::shared_ptr<OrderStore> store_;
};

}  // namespace flashsale
