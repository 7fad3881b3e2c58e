// The buy path's order of stages against hand-made ones: the rate limit comes
// first on its own stage, or, fused into an admission that counts it, once in
// the admit call for a valid buy and on its own stage for every refusal the
// host decides before admission (bad body, unknown product). Either way every
// request is counted exactly once.
#include <catch2/catch.hpp>

#include <vector>

#include "pipeline/buy_service.h"
#include "support/stage_fakes.h"

namespace flashsale {

namespace {

class FakeRateLimiter final : public RateLimiter {
 public:
  Status allow(const std::string& subject, bool* allowed) noexcept override {
    subjects.push_back(subject);
    *allowed = allow_next;
    return Status::ok();
  }
  std::vector<std::string> subjects;
  bool allow_next = true;
};

class FakeAdmission final : public test::AdmissionFake {
 public:
  explicit FakeAdmission(bool counts) : counts_(counts) {}
  AdmitResult admit(const AdmitRequest& request) noexcept override {
    subjects.push_back(request.rate_limit_subject);
    if (over_limit) return AdmitResult{Status(Code::rate_limited, "too many requests"), {}, false};
    return AdmitResult{Status::ok(), request.event.request_id, false};
  }
  bool counts_rate_limit() const noexcept override { return counts_; }
  Status load_stock(const SaleStock&) noexcept override { return Status::ok(); }
  Status stock(ProductId, StockLevel*) noexcept override { return Status::ok(); }
  std::vector<std::string> subjects;  // the rate_limit_subject of each admit call
  bool over_limit = false;

 private:
  bool counts_;
};

// Knows product 1 only.
class FakeStore final : public test::OrderStoreFake {
 public:
  Status find_product(ProductId id, Product* out) noexcept override {
    if (id != 1) return Status(Code::not_found, "no such product");
    out->id = 1;
    out->sale_price = 100;
    return Status::ok();
  }
};

BuyRequest valid_buy() {
  BuyRequest request;
  request.has_user = true;
  request.user_id = 7;
  request.product_id = 1;
  request.quantity = 1;
  request.client_ip = "10.0.0.1";
  return request;
}

struct Harness {
  explicit Harness(bool fused) : admission(std::make_shared<FakeAdmission>(fused)) {
    service = std::make_unique<BuyService>(ratelimit, admission, &catalog, &counters, fused);
  }
  std::shared_ptr<FakeRateLimiter> ratelimit = std::make_shared<FakeRateLimiter>();
  std::shared_ptr<FakeAdmission> admission;
  Catalog catalog{std::make_shared<FakeStore>(), admission, 3600};
  Counters counters;
  std::unique_ptr<BuyService> service;
};

}  // namespace

TEST_CASE("unfused: the ratelimit stage counts every buy before admission", "[buy]") {
  Harness h(false);
  BuyOutcome outcome = h.service->buy(valid_buy());
  CHECK(outcome.status.is_ok());
  CHECK(h.ratelimit->subjects == std::vector<std::string>{"u:7"});
  CHECK(h.admission->subjects == std::vector<std::string>{""});

  h.ratelimit->allow_next = false;
  outcome = h.service->buy(valid_buy());
  CHECK(outcome.rate_limited);
  CHECK(h.admission->subjects.size() == 1);  // a limited buy never reaches admission
  CHECK(h.counters.rate_limited() == 1);
}

TEST_CASE("fused: a valid buy is counted by the admit call alone", "[buy]") {
  Harness h(true);
  BuyOutcome outcome = h.service->buy(valid_buy());
  CHECK(outcome.status.is_ok());
  CHECK_FALSE(outcome.rate_limited);
  CHECK(h.ratelimit->subjects.empty());
  CHECK(h.admission->subjects == std::vector<std::string>{"u:7"});
  CHECK(h.counters.buy_accepted() == 1);

  h.admission->over_limit = true;
  outcome = h.service->buy(valid_buy());
  CHECK(outcome.rate_limited);
  CHECK(h.ratelimit->subjects.empty());
  CHECK(h.counters.rate_limited() == 1);
  CHECK(h.counters.buy_accepted() == 1);
  CHECK(h.counters.buy_rejected() == 0);
}

TEST_CASE("fused: refusals decided before admission are counted on the ratelimit stage", "[buy]") {
  Harness h(true);
  BuyRequest bad_body = valid_buy();
  bad_body.has_user = false;
  bad_body.invalid = "user_id is missing";
  BuyRequest unknown_product = valid_buy();
  unknown_product.product_id = 2;

  CHECK(h.service->buy(bad_body).status.code() == Code::invalid_argument);
  CHECK(h.service->buy(unknown_product).status.code() == Code::not_found);
  CHECK(h.ratelimit->subjects == std::vector<std::string>{"ip:10.0.0.1", "u:7"});
  CHECK(h.admission->subjects.empty());
  CHECK(h.counters.buy_rejected() == 2);

  // Over the limit, the same requests get 429 rather than their refusal, as unfused.
  h.ratelimit->allow_next = false;
  CHECK(h.service->buy(bad_body).rate_limited);
  CHECK(h.service->buy(unknown_product).rate_limited);
  CHECK(h.counters.rate_limited() == 2);
  CHECK(h.admission->subjects.empty());
}

}  // namespace flashsale
