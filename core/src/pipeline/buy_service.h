// The synchronous half of a purchase: validate, rate-limit, admit. It answers
// in one round trip to the admit stage and never waits for the order to be
// written; the workers carry the accepted event the rest of the way.
#pragma once

#include <memory>
#include <string>

#include "flashsale/admission.h"
#include "flashsale/ratelimit.h"
#include "pipeline/catalog.h"
#include "pipeline/counters.h"

namespace flashsale {

struct BuyRequest {
  bool has_user = false;  // false when the body carried no usable user_id
  UserId user_id = 0;
  ProductId product_id = 0;
  std::int64_t quantity = 0;
  std::string idempotency_key;
  std::string client_ip;
  std::string invalid;  // non-empty: why the body is unusable (400 after the rate limit)
};

struct BuyOutcome {
  Status status;  // admission's codes, plus invalid_argument / not_found
  bool rate_limited = false;
  std::string request_id;
  bool replayed = false;
};

class BuyService {
 public:
  static constexpr std::int64_t kMaxQuantity = 100;
  static constexpr std::size_t kMaxIdempotencyKey = 128;

  BuyService(std::shared_ptr<RateLimiter> ratelimit, std::shared_ptr<Admission> admission, Catalog* catalog,
             Counters* counters);

  BuyOutcome buy(const BuyRequest& request);

 private:
  std::shared_ptr<RateLimiter> ratelimit_;
  std::shared_ptr<Admission> admission_;
  Catalog* catalog_;
  Counters* counters_;
};

}  // namespace flashsale
