#include "pipeline/buy_service.h"

#include "flashsale/clock.h"
#include "pipeline/request_id.h"

namespace flashsale {

BuyService::BuyService(std::shared_ptr<RateLimiter> ratelimit, std::shared_ptr<Admission> admission, Catalog* catalog,
                       Counters* counters, bool fuse_rate_limit)
    : ratelimit_(std::move(ratelimit)),
      admission_(std::move(admission)),
      catalog_(catalog),
      counters_(counters),
      fuse_rate_limit_(fuse_rate_limit) {}

bool BuyService::allowed_by_ratelimit_stage(const std::string& subject) {
  bool allowed = true;
  if (!ratelimit_->allow(subject, &allowed).is_ok()) {
    bump(counters_->ratelimit_fail_open);  // a limiter outage must not stop the sale
    allowed = true;
  }
  return allowed;
}

Status BuyService::judge_body(const BuyRequest& request) const {
  if (!request.invalid.empty()) return {Code::invalid_argument, request.invalid};
  if (request.quantity < 1 || request.quantity > kMaxQuantity) {
    return {Code::invalid_argument, "quantity must be between 1 and " + std::to_string(kMaxQuantity)};
  }
  if (request.idempotency_key.size() > kMaxIdempotencyKey) {
    return {Code::invalid_argument, "X-Idempotency-Key must be at most 128 characters"};
  }
  return Status::ok();
}

BuyOutcome BuyService::buy(const BuyRequest& request) {
  BuyOutcome outcome;
  // Every request counts against the rate limit, a flood of garbage too;
  // without a usable user the client address is the subject. With the stages
  // fused, a buy that reaches the admission is counted there, in the same
  // call; every other request is counted here before its refusal.
  std::string subject = request.has_user ? "u:" + std::to_string(request.user_id) : "ip:" + request.client_ip;
  // Each answer counts in the totals and for its product: one the catalog
  // found, or one already counted (a refusal before the lookup).
  bool product_found = false;
  auto count = [&](Code code) {
    count_buy_outcome(*counters_, code);
    counters_->product_outcomes.count(request.product_id, code, product_found);
  };
  auto limited = [&] {
    count(Code::rate_limited);
    outcome.rate_limited = true;
    return outcome;
  };
  auto refuse = [&](Status status) {
    if (fuse_rate_limit_ && !allowed_by_ratelimit_stage(subject)) return limited();
    count(status.code());
    outcome.status = std::move(status);
    return outcome;
  };
  if (!fuse_rate_limit_ && !allowed_by_ratelimit_stage(subject)) return limited();

  if (Status body = judge_body(request); !body.is_ok()) return refuse(std::move(body));

  Product product;
  Status found = catalog_->find(request.product_id, &product);
  if (!found.is_ok()) {
    return refuse(found.code() == Code::not_found
                      ? Status(Code::not_found, "product " + std::to_string(request.product_id) + " does not exist")
                      : found);
  }
  product_found = true;

  AdmitRequest admit;
  admit.event.request_id = new_request_id();
  admit.event.user_id = request.user_id;
  admit.event.product_id = request.product_id;
  admit.event.quantity = static_cast<std::int32_t>(request.quantity);
  admit.event.unit_price = product.sale_price;
  admit.event.accepted_ms = now_ms();
  admit.idempotency_key = request.idempotency_key;
  if (fuse_rate_limit_) admit.rate_limit_subject = std::move(subject);
  AdmitResult result = admission_->admit(admit);
  if (result.status.code() == Code::rate_limited) return limited();
  outcome.status = std::move(result.status);
  outcome.request_id = std::move(result.request_id);
  outcome.replayed = result.replayed;
  count(outcome.status.code());
  return outcome;
}

}  // namespace flashsale
