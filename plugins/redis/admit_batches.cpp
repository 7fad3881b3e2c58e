// Group commit of admissions; see admit_batches.h.
#include "redis/admit_batches.h"

#include <algorithm>

namespace flashsale::redis {

AdmitBatches::AdmitBatches(std::size_t max_batch, RunBatch run)
    : max_batch_(std::max<std::size_t>(1, max_batch)), run_(std::move(run)), stripes_(new Stripe[kStripes]) {}

void AdmitBatches::take_batch(Stripe& stripe, std::vector<BatchedBuyer*>* batch) const {
  batch->clear();
  batch->push_back(stripe.waiting.front());
  stripe.waiting.pop_front();
  for (auto it = stripe.waiting.begin(); it != stripe.waiting.end() && batch->size() < max_batch_;) {
    if ((*it)->tag == batch->front()->tag) {
      batch->push_back(*it);
      it = stripe.waiting.erase(it);
    } else {
      ++it;
    }
  }
}

void AdmitBatches::admit(BatchedBuyer* buyer) {
  // Reserved up front, so that nothing allocates while the stripe is busy: a
  // throw there would leave it busy for good.
  std::vector<BatchedBuyer*> batch;
  batch.reserve(max_batch_);
  Stripe& stripe = stripes_[std::hash<std::string>{}(buyer->tag) % kStripes];
  std::unique_lock<std::mutex> lock(stripe.mutex);
  stripe.waiting.push_back(buyer);
  while (!buyer->done) {
    if (stripe.busy) {
      stripe.finished.wait(lock);
      continue;
    }
    // Lead one batch: the oldest buyer's, which may not carry this one; then
    // look again.
    stripe.busy = true;
    take_batch(stripe, &batch);
    lock.unlock();
    run_(batch.front()->tag, batch);
    lock.lock();
    for (BatchedBuyer* carried : batch) carried->done = true;
    stripe.busy = false;
    stripe.finished.notify_all();
  }
}

std::size_t AdmitBatches::waiting() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < kStripes; ++i) {
    std::lock_guard<std::mutex> lock(stripes_[i].mutex);
    count += stripes_[i].waiting.size();
  }
  return count;
}

}  // namespace flashsale::redis
