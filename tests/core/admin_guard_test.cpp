// The admin token check and its limit on wrong tokens per address, on a fake
// clock.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "http/admin_guard.h"

namespace flashsale {

namespace {

const std::string kToken = "s3cret-admin-token";

struct Harness {
  explicit Harness(int max_failures = 10, std::size_t max_tracked = AdminGuard::kDefaultMaxTracked)
      : guard(
            kToken, &counters, max_failures, [this] { return now_ms; },
            [this](const std::string& line) { log.push_back(line); }, max_tracked) {}

  // The status of an admin request with `token` from `ip` (200 when let through).
  int status(const std::string& ip, const std::string& token, std::string* retry_after = nullptr) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("X-Admin-Token", token);
    HttpRequest request = HttpRequest::make("POST", "/api/products", headers);
    request.client_ip = ip;
    std::optional<HttpResponse> refusal = guard.check(request);
    if (!refusal) return 200;
    if (retry_after != nullptr) {
      retry_after->clear();
      for (const auto& [name, value] : refusal->headers) {
        if (name == "Retry-After") *retry_after = value;
      }
    }
    if (refusal->status == 401) CHECK_THAT(refusal->body, Catch::Contains("\"unauthorized\""));
    if (refusal->status == 429) CHECK_THAT(refusal->body, Catch::Contains("\"auth_rate_limited\""));
    return refusal->status;
  }

  // `count` wrong tokens from `ip`, each answered 401.
  void fail(const std::string& ip, int count) {
    for (int i = 0; i < count; ++i) REQUIRE(status(ip, "wrong") == 401);
  }

  std::int64_t now_ms = 1'000'000;
  Counters counters;
  std::vector<std::string> log;
  AdminGuard guard;
};

}  // namespace

TEST_CASE("the token compares whole", "[routes]") {
  CHECK(token_matches("abc", "abc"));
  CHECK_FALSE(token_matches("abd", "abc"));
  CHECK_FALSE(token_matches("ab", "abc"));
  CHECK_FALSE(token_matches("abcd", "abc"));
  CHECK_FALSE(token_matches("", "abc"));
  CHECK(token_matches("", ""));
}

TEST_CASE("a missing or wrong token is 401 and the right one passes", "[routes]") {
  Harness h;
  CHECK(h.status("10.0.0.1", kToken) == 200);
  CHECK(h.status("10.0.0.1", "") == 401);
  CHECK(h.status("10.0.0.1", kToken + "x") == 401);
  CHECK(h.status("10.0.0.1", kToken) == 200);
  CHECK(h.counters.http.admin_auth_failures == 2);
  CHECK(h.counters.http.admin_auth_limited == 0);
}

TEST_CASE("the 11th wrong token within a second locks the address out even for the right token", "[routes]") {
  Harness h;
  h.fail("10.0.0.1", 10);
  std::string retry_after;
  CHECK(h.status("10.0.0.1", "wrong", &retry_after) == 429);
  CHECK(retry_after == "1");
  CHECK(h.counters.http.admin_auth_failures == 11);
  CHECK(h.counters.http.admin_auth_limited == 1);

  h.now_ms += 500;
  CHECK(h.status("10.0.0.1", kToken, &retry_after) == 429);
  CHECK(retry_after == "1");
  CHECK(h.counters.http.admin_auth_limited == 2);
  CHECK(h.counters.http.admin_auth_failures == 11);  // not compared while locked out

  h.now_ms += 500;  // the lockout is over
  CHECK(h.status("10.0.0.1", kToken) == 200);
}

TEST_CASE("failures spread over more than a second do not lock out", "[routes]") {
  Harness h;
  for (int i = 0; i < 30; ++i) {
    CHECK(h.status("10.0.0.1", "wrong") == 401);
    h.now_ms += 101;  // under 10 per second
  }
  CHECK(h.log.empty());
}

TEST_CASE("each further lockout doubles up to 60 s until the address is quiet", "[routes]") {
  Harness h;
  std::int64_t expected = 1;
  for (int round = 0; round < 9; ++round) {
    h.fail("10.0.0.1", 10);
    std::string retry_after;
    REQUIRE(h.status("10.0.0.1", "wrong", &retry_after) == 429);
    CHECK(retry_after == std::to_string(expected));
    h.now_ms += expected * 1000 - 1;
    CHECK(h.status("10.0.0.1", "wrong", &retry_after) == 429);  // one ms left
    CHECK(retry_after == "1");
    h.now_ms += 1;
    expected = std::min<std::int64_t>(expected * 2, 60);
  }
  CHECK(expected == 60);

  // A minute without a wrong token: the next lockout is short again.
  h.now_ms += AdminGuard::kQuietMs;
  CHECK(h.status("10.0.0.1", kToken) == 200);
  h.fail("10.0.0.1", 10);
  std::string retry_after;
  CHECK(h.status("10.0.0.1", "wrong", &retry_after) == 429);
  CHECK(retry_after == "1");
}

TEST_CASE("the quiet minute is counted from the end of the lockout", "[routes]") {
  Harness h;
  h.fail("10.0.0.1", 10);
  REQUIRE(h.status("10.0.0.1", "wrong") == 429);  // 1 s
  h.now_ms += 1000 + AdminGuard::kQuietMs - 1;
  h.fail("10.0.0.1", 10);
  std::string retry_after;
  CHECK(h.status("10.0.0.1", "wrong", &retry_after) == 429);
  CHECK(retry_after == "2");
  h.now_ms += 2000 + AdminGuard::kQuietMs;
  h.fail("10.0.0.1", 10);
  CHECK(h.status("10.0.0.1", "wrong", &retry_after) == 429);
  CHECK(retry_after == "1");
}

TEST_CASE("addresses are limited independently", "[routes]") {
  Harness h;
  h.fail("10.0.0.1", 10);
  REQUIRE(h.status("10.0.0.1", "wrong") == 429);
  CHECK(h.status("10.0.0.2", kToken) == 200);
  h.fail("10.0.0.2", 10);
  CHECK(h.status("10.0.0.1", kToken) == 429);
  CHECK(h.status("10.0.0.2", kToken) == 200);
  CHECK(h.status("2001:db8::1", kToken) == 200);
}

TEST_CASE("the limit is a constructor argument", "[routes]") {
  Harness h(3);
  h.fail("10.0.0.1", 3);
  CHECK(h.status("10.0.0.1", "wrong") == 429);
}

TEST_CASE("a lockout is logged once naming the address and never the token", "[routes]") {
  Harness h;
  const std::string guess = "guess-" + kToken.substr(0, 6);
  for (int i = 0; i < 10; ++i) REQUIRE(h.status("192.0.2.7", guess) == 401);
  CHECK(h.log.empty());
  for (int i = 0; i < 20; ++i) CHECK(h.status("192.0.2.7", guess) == 429);
  CHECK(h.status("192.0.2.7", kToken) == 429);
  REQUIRE(h.log.size() == 1);
  CHECK(h.log[0] == "11 wrong tokens from 192.0.2.7 in 1 s; refused for 1 s");
  CHECK(h.log[0].find(guess) == std::string::npos);
  CHECK(h.log[0].find(kToken) == std::string::npos);

  h.now_ms += 1000;
  h.fail("192.0.2.7", 10);
  CHECK(h.status("192.0.2.7", guess) == 429);
  REQUIRE(h.log.size() == 2);
  CHECK(h.log[1] == "11 wrong tokens from 192.0.2.7 in 1 s; refused for 2 s");
}

TEST_CASE("an address cannot forge a log line", "[routes]") {
  Harness h;
  h.fail("1.2.3.4\nflashsale-server: all is well", 10);
  REQUIRE(h.status("1.2.3.4\nflashsale-server: all is well", "wrong") == 429);
  REQUIRE(h.log.size() == 1);
  CHECK(h.log[0].find('\n') == std::string::npos);
  CHECK_THAT(h.log[0], Catch::Contains("from 1.2.3.4?flashsale-server"));
}

TEST_CASE("the table of addresses stays bounded when the attacker rotates them", "[routes]") {
  Harness h;
  // One request, its address rewritten: the loop measures the guard, not Catch.
  HttpRequest wrong = HttpRequest::make("GET", "/api/admin/reconcile/1", {{"X-Admin-Token", "wrong"}});
  auto from = [&](const std::string& prefix, int i) {
    wrong.client_ip = prefix + std::to_string(i >> 8) + "." + std::to_string(i & 255);
    std::optional<HttpResponse> refusal = h.guard.check(wrong);
    return refusal ? refusal->status : 200;
  };
  int unauthorized = 0;
  for (int i = 0; i < 100'000; ++i) {
    unauthorized += from("10." + std::to_string(i >> 16) + ".", i & 0xffff) == 401;
    if (i % 1000 == 0) h.now_ms += 1;
  }
  CHECK(unauthorized == 100'000);
  CHECK(h.guard.tracked() == AdminGuard::kDefaultMaxTracked);
  CHECK(h.counters.http.admin_auth_failures == 100'000);

  // A locked-out address that keeps knocking stays locked while others rotate.
  h.fail("192.0.2.1", 10);
  REQUIRE(h.status("192.0.2.1", "wrong") == 429);
  unauthorized = 0;
  int still_locked = 0;
  for (int i = 0; i < 20'000; ++i) {
    unauthorized += from("172.16.", i) == 401;
    if (i % 100 == 0) still_locked += h.status("192.0.2.1", kToken) == 429;
  }
  CHECK(unauthorized == 20'000);
  CHECK(still_locked == 200);
  CHECK(h.guard.tracked() == AdminGuard::kDefaultMaxTracked);
}

TEST_CASE("a full table forgets the address seen least recently", "[routes]") {
  Harness h(10, 2);
  h.fail("a", 5);
  h.fail("b", 5);
  h.fail("a", 5);  // a: 10 failures, seen after b
  h.fail("c", 1);  // b goes
  CHECK(h.guard.tracked() == 2);
  CHECK(h.status("a", "wrong") == 429);  // a was kept
  h.fail("b", 10);                       // c goes; b starts over, so 10 more are still 401
  CHECK(h.status("b", "wrong") == 429);
  CHECK(h.guard.tracked() == 2);
}

TEST_CASE("concurrent checks each get one answer and one count", "[routes]") {
  Harness h;
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  std::atomic<int> passed{0}, unauthorized{0}, limited{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Two threads share an address, so its lockout races with its right tokens.
      HttpRequest right = HttpRequest::make("GET", "/x", {{"X-Admin-Token", kToken}});
      HttpRequest wrong = HttpRequest::make("GET", "/x", {{"X-Admin-Token", "nope"}});
      right.client_ip = wrong.client_ip = "10.0.0." + std::to_string(t / 2);
      for (int i = 0; i < kRounds; ++i) {
        for (const HttpRequest* request : {&right, &wrong}) {
          std::optional<HttpResponse> refusal = h.guard.check(*request);
          (!refusal ? passed : refusal->status == 401 ? unauthorized : limited)++;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(passed + unauthorized + limited == kThreads * kRounds * 2);
  // The clock stands still, so each address is locked out once and for good:
  // 10 wrong tokens answered 401 and the 11th 429, per address.
  CHECK(unauthorized == 20);
  CHECK(h.counters.http.admin_auth_failures == 22);
  CHECK(h.counters.http.admin_auth_limited == static_cast<std::uint64_t>(limited.load()));
  CHECK(h.log.size() == 2);
}

}  // namespace flashsale
