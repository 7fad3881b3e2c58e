#include "integration/http_front_fixture.h"

#include <Poco/JSON/Parser.h>

#include <chrono>
#include <thread>

#include "integration/sale_fixture.h"
#include "support/raw_socket.h"

namespace flashsale::test {

std::unique_ptr<ServerProcess> start_embedded(const TempDir& dir, std::map<std::string, std::string> env) {
  env.emplace("DB_PATH", dir.file("flash_sale.db"));
  env.emplace("PLUGIN_DIR", plugin_dir());
  return std::make_unique<ServerProcess>(embedded_config(), env);
}

std::optional<long long> http_counter(int port, const std::string& name, const std::string& source_ip) {
  try {
    RawSocket socket(port, source_ip);
    if (!socket.send_all(kHealthzRequest)) return std::nullopt;
    std::optional<RawResponse> reply = socket.read_response(5000);
    if (!reply || reply->status != 200) return std::nullopt;
    auto json = Poco::JSON::Parser().parse(reply->body).extract<Poco::JSON::Object::Ptr>();
    return json->getObject("http")->getValue<long long>(name);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool wait_until(const std::function<bool()>& condition, int timeout_ms, int step_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  }
  return true;
}

}  // namespace flashsale::test
