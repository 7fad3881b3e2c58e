// Script lookup and EVALSHA with the NOSCRIPT retry; see scripts.h.
#include "redis/scripts.h"

#include <cstring>
#include <stdexcept>

namespace flashsale::redis {

const char* script_name(Script script) {
  switch (script) {
    case Script::admit:
      return "admit";
    case Script::load_stock:
      return "load_stock";
    case Script::compensate:
      return "compensate";
    case Script::unlock:
      return "unlock";
    case Script::set_state:
      return "set_state";
    case Script::ratelimit:
      return "ratelimit";
    case Script::outbox_claim:
      return "outbox_claim";
    case Script::outbox_dead_letter:
      return "outbox_dead_letter";
    case Script::outbox_ack:
      return "outbox_ack";
  }
  return "?";
}

Scripts::Scripts() {
  for (std::size_t i = 0; i < kScriptCount; ++i) {
    const char* name = script_name(static_cast<Script>(i));
    for (const LuaSource* source = kLuaSources; source->name != nullptr; ++source) {
      if (std::strcmp(source->name, name) == 0) text_[i] = source->text;
    }
    if (text_[i] == nullptr) throw std::logic_error(std::string("lua/") + name + ".lua is not compiled in");
  }
}

Status Scripts::load(Connection& connection, Script script, std::string* sha) const {
  Reply reply;
  Status status = connection.command({"SCRIPT", "LOAD", text_[static_cast<std::size_t>(script)]}, &reply);
  if (!status.is_ok()) {
    return Status(status.code(), std::string("loading lua/") + script_name(script) + ".lua: " + status.message());
  }
  *sha = reply_text(reply.get());
  return Status::ok();
}

Status Scripts::load_all(Connection& connection) {
  for (std::size_t i = 0; i < kScriptCount; ++i) {
    Status status = load(connection, static_cast<Script>(i), &sha_[i]);
    if (!status.is_ok()) return status;
  }
  return Status::ok();
}

Status Scripts::eval(Connection& connection, Script script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, Reply* reply) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha_[static_cast<std::size_t>(script)]);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  Status status = connection.command(argv, reply);
  if (!is_redis_error(status, "NOSCRIPT")) return status;
  std::string sha;  // the same SHA1 again: it is a hash of the text
  Status loaded = load(connection, script, &sha);
  if (!loaded.is_ok()) return loaded;
  return connection.command(argv, reply);
}

}  // namespace flashsale::redis
