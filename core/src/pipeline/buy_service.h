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
  std::string client_ip;  // needed (and set) only without a usable user
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

  // `fuse_rate_limit`: the ratelimit and admit stages are of one family and
  // the admission counts_rate_limit(); a buy with a valid body then costs one
  // admit call, and only the others go to the ratelimit stage.
  BuyService(std::shared_ptr<RateLimiter> ratelimit, std::shared_ptr<Admission> admission, Catalog* catalog,
             Counters* counters, bool fuse_rate_limit = false);

  BuyOutcome buy(const BuyRequest& request);

 private:
  // The rate limit on its own stage; false when the request must be refused 429.
  bool allowed_by_ratelimit_stage(const std::string& subject);
  // Why a body cannot be admitted, or ok.
  Status judge_body(const BuyRequest& request) const;

  std::shared_ptr<RateLimiter> ratelimit_;
  std::shared_ptr<Admission> admission_;
  Catalog* catalog_;
  Counters* counters_;
  const bool fuse_rate_limit_;
};

}  // namespace flashsale
