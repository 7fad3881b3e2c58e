// The stampede: `concurrency` keep-alive connections send the buy clicks of
// every user (first click, the idempotent resend, the second click), while
// pollers follow every accepted request to its final state.
#pragma once

#include "options.h"
#include "run_state.h"

namespace flashsale::loadtest {

// Sends everything, then polls until every accepted request is final or
// options.wait_sec passed. `user_base` offsets user ids so runs do not collide.
void run_stampede(const Options& options, std::int64_t product, std::int64_t user_base, RunState* state);

}  // namespace flashsale::loadtest
