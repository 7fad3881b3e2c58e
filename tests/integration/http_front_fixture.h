// Shared steps of the HTTP front's end-to-end tests (http_*_test.cpp): the
// embedded server as a process whose pid the test can see, the front's
// counters read over a fresh connection, and waiting for a condition with a
// deadline.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "support/server_process.h"
#include "support/temp_dir.h"

namespace flashsale::test {

// The embedded profile, as EmbeddedServer starts it, with its SQLite file in `dir`.
std::unique_ptr<ServerProcess> start_embedded(const TempDir& dir, std::map<std::string, std::string> env = {});

// GET /healthz's http.<name>, over a new connection from `source_ip` (or
// 127.0.0.1); nullopt when the server does not answer 200 within 5 s.
std::optional<long long> http_counter(int port, const std::string& name, const std::string& source_ip = "");

// Polls `condition` every `step_ms` until it holds (true) or `timeout_ms` passes (false).
bool wait_until(const std::function<bool()>& condition, int timeout_ms, int step_ms = 20);

}  // namespace flashsale::test
