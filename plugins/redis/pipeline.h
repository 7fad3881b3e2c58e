// An auto-pipelining client: many caller threads (the HTTP server has up to
// 128) submit short commands and block for their replies, while one I/O
// thread per connection ("lane") takes everything queued on its lane, appends
// it to one hiredis output buffer, writes it out at once and reads the replies
// back in order. Under load one write/read syscall pair carries a whole batch,
// on our side and on Redis', instead of one round trip per command and caller.
//
// Commands with the same route (a key) always take the same lane, so they run
// in the order they were submitted. On a Redis Cluster each node has its own
// lanes and a command goes to the node serving its route's slot (cluster.h):
// a MOVED reply teaches the topology the slot's new owner and the command is
// sent there, an ASK reply sends it once to the importing node behind an
// ASKING, both on the I/O thread without waking the caller (at most
// kMaxRedirects times per command). Redis answers MOVED and ASK before running
// anything, so resending is safe. A TRYAGAIN (a multi-key command whose keys
// are split by a slot migration under way) is retried by the caller until the
// command timeout. Failure semantics are those of
// Connection: an I/O failure or a timeout fails every command of the batch
// still without a reply with Code::unavailable (it may or may not have run:
// an unknown outcome) and drops the connection; the next batch reconnects.
// After a failed connect the lane fails fast for a short while, as the pool
// does. Error replies fail only their own command.
//
// Blocking commands (XREADGROUP BLOCK) must not go here: they would stall
// every command queued behind them. They use the ConnectionPool.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection.h"

namespace flashsale::redis {

class Topology;

// A command to send right after another one's reply, decided on the I/O
// thread without waking the caller in between (admission's `pending` state
// right behind an accepting admit script).
class FollowUp {
 public:
  virtual ~FollowUp() = default;
  // Called once with the first command's outcome; true with *route and *argv
  // set to queue the follow-up. Must not block or throw.
  virtual bool next(const Status& status, const redisReply* reply, std::string* route,
                    std::vector<std::string>* argv) noexcept = 0;
  // Called with each follow-up's outcome; true with *route and *argv set to
  // queue one more (a chain: WAIT, then a state write). The same rules.
  virtual bool then(const Status&, const redisReply*, std::string*, std::vector<std::string>*) noexcept {
    return false;
  }
  // True when every follow-up must run on the very connection that answered
  // the command before it, and fail (unavailable) if that one was lost in
  // between: WAIT counts the writes of its own connection only. The
  // follow-up's route must then be the first command's (same lane).
  virtual bool same_connection() const noexcept { return false; }
};

class Pipeline {
 public:
  static constexpr int kMaxRedirects = 5;

  // `connections` lanes (>= 1) per node of `topology`, each with its own
  // connection and I/O thread. A node's lanes start with its first command,
  // and a lane connects lazily. `topology` outlives the pipeline.
  Pipeline(Topology& topology, std::size_t connections);
  ~Pipeline();  // stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs argv on the lane of `route` and waits for its reply: ok with *reply
  // set, or the failure described above. Thread-safe.
  Status command(std::string_view route, const std::vector<std::string>& argv, Reply* reply);

  // The same, and if follow_up.next() asks for one, runs that follow-up
  // (and those then() asks for) before waking the caller; *follow_up_status
  // gets the last one's outcome (their replies go to then(), and are dropped).
  // *follow_up_status is left alone when there was none.
  Status command(std::string_view route, const std::vector<std::string>& argv, Reply* reply, FollowUp& follow_up,
                 Status* follow_up_status);

  // Many commands at once, each on the lane of its route, waiting for all:
  // each lane sends its share in one write. (*statuses)[i] and (*replies)[i]
  // are commands[i]'s outcome, as command() would give it. Thread-safe.
  struct Command {
    std::string route;
    std::vector<std::string> argv;
  };
  void command_all(const std::vector<Command>& commands, std::vector<Status>* statuses, std::vector<Reply>* replies);

  // Refuses new commands (unavailable), lets every lane finish what was
  // queued (or fail it, if Redis is gone), and joins the I/O threads.
  // Idempotent; a command in flight takes at most the command timeout.
  void stop();

 private:
  struct Call;
  class Lane;
  struct Node;

  Status run(std::string_view route, const std::vector<std::string>& argv, Reply* reply, FollowUp* follow_up,
             Status* follow_up_status);
  // The lane of `route` on `node` (its lanes started if need be); nullptr
  // once stopping.
  Lane* lane_of(int node, std::string_view route);
  // Queues the call on the lane of call->route, on the node serving its slot
  // (or on `node` when given: an ASK).
  void submit(Call* call, int node = -1);
  // Hands a call its outcome on an I/O thread: follows a redirect, queues its
  // follow-up, or wakes its caller.
  void complete(Call* call, Status status, Reply reply) noexcept;
  bool redirected(Call* call, const Status& status) noexcept;
  void wake(Call* call) noexcept;

  Topology& topology_;
  const std::size_t connections_;
  std::unique_ptr<std::atomic<Node*>[]> nodes_;  // by node index; started lazily
  std::mutex nodes_mutex_;                       // starting a node, stopping
  std::vector<std::unique_ptr<Node>> owned_;
  bool stopping_ = false;                        // under nodes_mutex_
};

}  // namespace flashsale::redis
