// Group commit of admissions: buyers of one stock shard (one hash tag) who
// arrive while a batch of that shard's admissions is in flight queue up, and
// the next batch carries all of them (up to a bound) in one admit.lua call.
// A script call costs Redis far more than a buyer's share of the work inside
// it, so under load a batch of N buyers costs little more than one; alone, a
// buyer's batch is just itself and waits for nobody.
//
// No thread waits on a timer: the first buyer to find no batch of its stripe
// in flight runs one (the leader) and wakes the others when it is done; one
// of them leads the next. Tags are hashed onto a fixed set of stripes, one
// batch in flight per stripe, so memory does not grow with the products and
// two hot products rarely share a stripe. A buyer's wait is bounded: each
// batch ahead of it is bounded by the command timeout, and there are never
// more batches ahead than there are buyers (handler threads) in the queue.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flashsale/admission.h"

namespace flashsale::redis {

struct BatchedBuyer {
  std::string tag;                  // the stock shard's hash tag: a batch has one
  std::array<std::string, 3> keys;  // admit.lua's three keys per buyer
  std::array<std::string, 5> args;  // and five arguments (the leader may move them out)
  AdmitResult result;               // set by the batch that carried the buyer
  bool done = false;
};

class AdmitBatches {
 public:
  static constexpr std::size_t kStripes = 64;

  // Runs one batch (all of one tag) and sets every buyer's result. Called on
  // the leader's thread with no lock held; must not throw (a throw would
  // leave the stripe busy for good).
  using RunBatch = std::function<void(const std::string& tag, const std::vector<BatchedBuyer*>& batch)>;

  AdmitBatches(std::size_t max_batch, RunBatch run);

  // Returns once buyer->result is set, by a batch this thread or another ran.
  void admit(BatchedBuyer* buyer);

  // Buyers queued behind a batch in flight, over every stripe.
  std::size_t waiting() const;

 private:
  struct Stripe {
    mutable std::mutex mutex;
    std::condition_variable finished;  // a batch finished: results set, the stripe free
    std::deque<BatchedBuyer*> waiting;
    bool busy = false;  // a batch is in flight
  };

  // Moves the oldest waiting buyer and those of its tag behind it, up to the
  // bound, into *batch (reserved: does not allocate).
  void take_batch(Stripe& stripe, std::vector<BatchedBuyer*>* batch) const;

  const std::size_t max_batch_;
  const RunBatch run_;
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace flashsale::redis
