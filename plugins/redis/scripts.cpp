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
    case Script::ratelimit:
      return "ratelimit";
    case Script::outbox_claim:
      return "outbox_claim";
    case Script::outbox_dead_letter:
      return "outbox_dead_letter";
    case Script::outbox_ack:
      return "outbox_ack";
    case Script::outbox_replay:
      return "outbox_replay";
    case Script::return_stock:
      return "return_stock";
    case Script::stock_probe:
      return "stock_probe";
    case Script::stock_transfer_out:
      return "stock_transfer_out";
    case Script::stock_transfer_in:
      return "stock_transfer_in";
    case Script::outbox_retire:
      return "outbox_retire";
    case Script::registry_remove:
      return "registry_remove";
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

std::vector<std::string> Scripts::load_argv(Script script) const {
  return {"SCRIPT", "LOAD", text_[static_cast<std::size_t>(script)]};
}

Status Scripts::loaded_status(Script script, Status status) {
  if (status.is_ok()) return status;
  return Status(status.code(), std::string("loading lua/") + script_name(script) + ".lua: " + status.message());
}

Status Scripts::load(Connection& connection, Script script, std::string* sha) const {
  Reply reply;
  Status status = loaded_status(script, connection.command(load_argv(script), &reply));
  if (!status.is_ok()) return status;
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

std::vector<std::string> Scripts::evalsha_argv(Script script, const std::vector<std::string>& keys,
                                               const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha_[static_cast<std::size_t>(script)]);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace flashsale::redis
