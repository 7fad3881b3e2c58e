#include "store_call.h"

#include <chrono>
#include <random>
#include <thread>

namespace flashsale::postgres {

bool try_again(const PgError& error, Replay replay, bool reused_connection, int attempt) {
  if (error.kind() == PgError::Kind::retryable && attempt < kMaxAttempts) {
    // The other transaction of the deadlock is still finishing: a short,
    // growing, randomised pause keeps the two from colliding again at once.
    thread_local std::minstd_rand random{std::random_device{}()};
    int ceiling_ms = 1 << attempt;  // 2, 4, 8, 16 ms
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + static_cast<int>(random() % ceiling_ms)));
    return true;
  }
  return error.kind() == PgError::Kind::connection && reused_connection && replay == Replay::safe && attempt == 1;
}

}  // namespace flashsale::postgres
