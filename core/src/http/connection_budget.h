// How many connections may be open: in total and per client address. Taken
// when a connection is accepted, given back when it closes; a connection
// past either limit is answered and closed without ever being served.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_map>

#include "http/client_address.h"

namespace flashsale {

class ConnectionBudget {
 public:
  enum class Admit { ok, over_total, over_address };

  ConnectionBudget(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  Admit take(const IpAddress& peer);
  void give_back(const IpAddress& peer);
  std::size_t open() const { return open_.load(std::memory_order_relaxed); }

 private:
  const std::size_t max_total_;
  const std::size_t max_per_address_;
  std::atomic<std::size_t> open_{0};
  std::mutex mutex_;
  std::unordered_map<IpAddress, std::size_t, IpAddressHash> per_address_;  // only addresses with a connection
};

}  // namespace flashsale
