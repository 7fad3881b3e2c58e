// hiredis calls behind Connection (connection.h), with SIGPIPE kept away from
// the process: a write to a connection Redis closed must come back as an I/O
// error, not kill a host that left SIGPIPE at its default.
#include "redis/connection.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <charconv>
#include <cstring>

namespace flashsale::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Blocks SIGPIPE on this thread for its lifetime and swallows one it raised.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

// Error replies after which a retry may succeed: the server is loading,
// busy with a script, out of memory, a replica, or a cluster in transition.
bool transient(std::string_view error) {
  for (std::string_view prefix : {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (error.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, Status* error) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(endpoint.connect_timeout));
  if (context == nullptr || context->err != 0) {
    std::string why = context == nullptr ? "cannot allocate a connection" : context->errstr;
    if (context != nullptr) redisFree(context);
    *error = Status(Code::unavailable, endpoint.name + ": cannot connect: " + why);
    return nullptr;
  }
  std::unique_ptr<Connection> connection(new Connection(context, endpoint));
  if (redisSetTimeout(context, to_timeval(endpoint.command_timeout)) != REDIS_OK) {
    *error = Status(Code::unavailable, endpoint.name + ": cannot set the command timeout");
    return nullptr;
  }
  if (endpoint.db != 0) {
    Reply reply;
    Status selected = connection->command({"SELECT", std::to_string(endpoint.db)}, &reply);
    if (!selected.is_ok()) {
      *error = selected;
      return nullptr;
    }
  }
  return connection;
}

Connection::~Connection() {
  redisFree(context_);
}

bool Connection::closed_by_server() const {
  pollfd fd{context_->fd, POLLIN, 0};
  return poll(&fd, 1, 0) != 0;
}

Status Connection::io_failure(const char* what) {
  broken_ = true;
  std::string why = context_->err != 0 ? context_->errstr : "no reply";
  return Status(Code::unavailable, endpoint_.name + ": " + what + ": " + why);
}

Status Connection::command(const std::vector<std::string>& argv, Reply* reply) {
  if (broken_) return Status(Code::unavailable, endpoint_.name + ": connection is broken");
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  void* raw = nullptr;
  {
    SigpipeBlock block;
    raw = redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data());
  }
  if (raw == nullptr) return io_failure(argv.empty() ? "command" : argv[0].c_str());
  reply->reset(static_cast<redisReply*>(raw));
  return judge(reply);
}

Status Connection::judge(Reply* reply) const {
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    std::string error = reply_text(reply->get());
    return Status(transient(error) ? Code::unavailable : Code::internal, endpoint_.name + ": " + error);
  }
  return Status::ok();
}

Status Connection::append(const std::vector<std::string>& argv) {
  if (broken_) return Status(Code::unavailable, endpoint_.name + ": connection is broken");
  constexpr std::size_t kInline = 16;
  const char* args_inline[kInline];
  std::size_t lengths_inline[kInline];
  std::vector<const char*> args_heap;
  std::vector<std::size_t> lengths_heap;
  const char** args = args_inline;
  std::size_t* lengths = lengths_inline;
  if (argv.size() > kInline) {
    args_heap.resize(argv.size());
    lengths_heap.resize(argv.size());
    args = args_heap.data();
    lengths = lengths_heap.data();
  }
  for (std::size_t i = 0; i < argv.size(); ++i) {
    args[i] = argv[i].data();
    lengths[i] = argv[i].size();
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), args, lengths) != REDIS_OK) {
    return io_failure("append");  // out of memory: nothing sensible is left on this context
  }
  return Status::ok();
}

Status Connection::read_reply(Reply* reply) {
  if (broken_) return Status(Code::unavailable, endpoint_.name + ": connection is broken");
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return io_failure("pipelined command");
  reply->reset(static_cast<redisReply*>(raw));
  return judge(reply);
}

Status Connection::blocking_command(const std::vector<std::string>& argv, std::chrono::milliseconds wait,
                                    Reply* reply) {
  if (redisSetTimeout(context_, to_timeval(endpoint_.command_timeout + wait)) != REDIS_OK) {
    return io_failure("set timeout");
  }
  Status status = command(argv, reply);
  if (!broken_ && redisSetTimeout(context_, to_timeval(endpoint_.command_timeout)) != REDIS_OK) {
    return io_failure("set timeout");
  }
  return status;
}

bool is_redis_error(const Status& status, std::string_view prefix) {
  // Messages read "<endpoint name>: <redis error>".
  const std::string& message = status.message();
  auto colon = message.find(": ");
  while (colon != std::string::npos) {
    if (message.compare(colon + 2, prefix.size(), prefix) == 0) return true;
    colon = message.find(": ", colon + 2);
  }
  return false;
}

std::string reply_text(const redisReply* reply) {
  return std::string(reply_view(reply));
}

std::string_view reply_view(const redisReply* reply) {
  if (reply == nullptr) return {};
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string_view(reply->str, reply->len);
    default:
      return {};
  }
}

bool reply_int(const redisReply* reply, std::int64_t* out) {
  if (reply == nullptr) return false;
  if (reply->type == REDIS_REPLY_INTEGER) {
    *out = reply->integer;
    return true;
  }
  if (reply->type != REDIS_REPLY_STRING || reply->len == 0) return false;
  const char* end = reply->str + reply->len;
  auto [ptr, ec] = std::from_chars(reply->str, end, *out);
  return ec == std::errc() && ptr == end;
}

Status unexpected_reply(const std::string& what) {
  return Status(Code::internal, what + ": unexpected reply");
}

}  // namespace flashsale::redis
