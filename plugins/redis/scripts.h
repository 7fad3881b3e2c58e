// The Lua scripts of lua/ (compiled in by lua_scripts.cpp) and how they are
// run: loaded once with SCRIPT LOAD at start-up, then called by EVALSHA. A
// server that lost its script cache (restart, SCRIPT FLUSH, failover) answers
// NOSCRIPT; the script is then loaded on that server and the call retried
// once, so no request fails for it.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "redis/connection.h"

namespace flashsale::redis {

enum class Script {
  admit,
  load_stock,
  compensate,
  unlock,
  ratelimit,
  outbox_claim,
  outbox_dead_letter,
  outbox_ack,
  outbox_replay,
  return_stock,
  stock_probe,
  stock_transfer_out,
  stock_transfer_in,
  outbox_retire,
  registry_remove,
};
inline constexpr std::size_t kScriptCount = 15;

struct LuaSource {
  const char* name;  // the file name without .lua
  const char* text;
};
extern const LuaSource kLuaSources[];  // ends with {nullptr, nullptr}

const char* script_name(Script script);

class Scripts {
 public:
  // Finds every script's text; throws std::logic_error if one was not compiled
  // in.
  Scripts();

  // SCRIPT LOADs every script on `connection` and remembers the SHA1s.
  Status load_all(Connection& connection);

  // EVALSHA script with keys and args (NOSCRIPT: load, retry once).
  Status eval(Connection& connection, Script script, const std::vector<std::string>& keys,
              const std::vector<std::string>& args, Reply* reply) const {
    return eval_with([&](const std::vector<std::string>& argv, Reply* out) { return connection.command(argv, out); },
                     evalsha_argv(script, keys, args), script, reply);
  }

  // The same through any transport: send(argv, Reply*) -> Status runs one
  // command (a pooled connection, or the pipeline). `evalsha` comes from
  // evalsha_argv().
  template <typename Send>
  Status eval_with(Send&& send, const std::vector<std::string>& evalsha, Script script, Reply* reply) const {
    Status status = send(evalsha, reply);
    if (!is_redis_error(status, "NOSCRIPT")) return status;
    Status loaded = loaded_status(script, send(load_argv(script), reply));
    if (!loaded.is_ok()) return loaded;
    return send(evalsha, reply);
  }

  // EVALSHA <sha> <number of keys> keys... args...
  std::vector<std::string> evalsha_argv(Script script, const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args) const;
  std::vector<std::string> load_argv(Script script) const;  // SCRIPT LOAD <text>

 private:
  Status load(Connection& connection, Script script, std::string* sha) const;
  static Status loaded_status(Script script, Status status);  // names the script in a failure

  std::array<const char*, kScriptCount> text_{};
  std::array<std::string, kScriptCount> sha_{};  // written by load_all before any eval
};

}  // namespace flashsale::redis
