// Every bad input gets a 4xx with a JSON error body and changes nothing.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "flashsale/clock.h"
#include "flashsale/plugin.h"
#include "integration/sale_fixture.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {
void check_error(const HttpReply& reply, int status, const std::string& code) {
  INFO(reply.body);
  CHECK(reply.status == status);
  CHECK(reply.error_code() == code);
  REQUIRE(reply.json);
  CHECK_FALSE(reply.json->getObject("error")->getValue<std::string>("message").empty());
}
}  // namespace

TEST_CASE("the HTTP API answers bad input with clear errors", "[e2e][api]") {
  EmbeddedServer server(std::map<std::string, std::string>{{"BUY_RATE_LIMIT", "1000"}});
  HttpClient client(server.port());
  long long product = create_product(client, 5);

  SECTION("products") {
    HttpReply got = client.get("/api/products/" + std::to_string(product));
    CHECK(got.status == 200);
    CHECK(got.str("name") == "flash item");
    CHECK(got.num("stock") == 5);
    CHECK(got.num("sale_price") == 399900);
    CHECK(got.json->getValue<bool>("preloaded") == false);
    CHECK(got.num("stock_shards") == 1);
    check_error(client.get("/api/products/999999"), 404, "not_found");
    check_error(client.get("/api/products/abc"), 404, "not_found");
    check_error(client.post("/api/products", R"({"name":"x"})", kAdmin), 400, "invalid_request");
    check_error(
        client.post(
            "/api/products",
            R"({"name":"x","stock":1,"sale_price":1,"start_time":"yesterday","end_time":"2030-01-01T00:00:00Z"})",
            kAdmin),
        400, "invalid_request");
    check_error(
        client.post(
            "/api/products",
            R"({"name":"x","stock":-1,"sale_price":1,"start_time":"2026-01-01T00:00:00Z","end_time":"2030-01-01T00:00:00Z"})",
            kAdmin),
        400, "invalid_request");
    check_error(
        client.post(
            "/api/products",
            R"({"name":"x","stock":1,"sale_price":1,"start_time":"2030-01-01T00:00:00Z","end_time":"2026-01-01T00:00:00Z"})",
            kAdmin),
        400, "invalid_request");
    const std::string shards_body =
        R"({"name":"x","stock":1,"sale_price":1,"start_time":"2026-01-01T00:00:00Z","end_time":"2030-01-01T00:00:00Z",)"
        R"("stock_shards":)";
    check_error(client.post("/api/products", shards_body + "0}", kAdmin), 400, "invalid_request");
    check_error(client.post("/api/products", shards_body + "65}", kAdmin), 400, "invalid_request");
    check_error(client.post("/api/products", shards_body + "\"2\"}", kAdmin), 400, "invalid_request");
    CHECK(flashsale::test::sqlite_scalar(server.db_path(), "SELECT COUNT(*) FROM products") == 1);

    HttpReply sharded = client.post("/api/products", shards_body + "3}", kAdmin);
    REQUIRE(sharded.status == 201);
    const std::string sharded_id = std::to_string(sharded.num("id"));
    CHECK(client.get("/api/products/" + sharded_id).num("stock_shards") == 3);
    CHECK(flashsale::test::sqlite_scalar(server.db_path(),
                                         "SELECT stock_shards FROM products WHERE id = " + sharded_id) == 3);
  }

  SECTION("admin endpoints need the token") {
    check_error(client.post("/api/products", "{}"), 401, "unauthorized");
    check_error(client.post("/api/products", "{}", {{"X-Admin-Token", "dev-admin-tokeN"}}), 401, "unauthorized");
    check_error(client.post("/api/flash_sale/preload/" + std::to_string(product), ""), 401, "unauthorized");
    check_error(client.post("/api/flash_sale/preload/999999", "", kAdmin), 404, "not_found");
  }

  SECTION("buy") {
    check_error(client.post("/api/flash_sale/buy", buy_body(product, 1)), 409, "not_preloaded");
    preload(client, product);
    check_error(client.post("/api/flash_sale/buy", "not json"), 400, "invalid_request");
    check_error(client.post("/api/flash_sale/buy", R"({"product_id":1})"), 400, "invalid_request");
    check_error(client.post("/api/flash_sale/buy", buy_body(product, -5)), 400, "invalid_request");
    check_error(client.post("/api/flash_sale/buy", buy_body(product, 1, 0)), 400, "invalid_request");
    check_error(client.post("/api/flash_sale/buy", buy_body(product, 1, 1000)), 400, "invalid_request");
    check_error(client.post("/api/flash_sale/buy", buy_body(999999, 1)), 404, "not_found");
    check_error(client.post("/api/flash_sale/buy", buy_body(product, 1, 6)), 409, "sold_out");
    check_error(client.post("/api/flash_sale/buy", std::string(20000, ' ')), 413, "payload_too_large");
    check_error(client.get("/api/flash_sale/buy"), 405, "method_not_allowed");
    CHECK(client.get("/api/products/" + std::to_string(product)).num("remaining") == 5);
  }

  SECTION("results and routes") {
    check_error(client.get("/api/flash_sale/result/no-such-request"), 404, "not_found");
    check_error(client.get("/nowhere"), 404, "route_not_found");
    HttpReply health = client.get("/healthz");
    CHECK(health.status == 200);
    CHECK(health.str("status") == "ok");
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("/healthz counts accepted->final times of finished requests", "[e2e][api]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 10);
  preload(client, product);
  std::vector<std::string> ids;
  for (long long user = 1; user <= 3; ++user) {
    HttpReply bought = client.post("/api/flash_sale/buy", buy_body(product, user));
    REQUIRE(bought.status == 202);
    ids.push_back(bought.str("request_id"));
  }
  for (const auto& [id, reply] : poll_final(client, ids)) CHECK(reply.str("status") == "success");

  // The worker counts a request just after its final state becomes visible.
  HttpReply health;
  Poco::JSON::Object::Ptr latency;
  for (int i = 0; i < 500; ++i) {
    health = client.get("/healthz");
    REQUIRE(health.json);
    latency = health.json->getObject("accepted_to_final_ms");
    REQUIRE(latency);
    if (latency->getValue<long long>("count") == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(latency->getValue<long long>("count") == 3);
  auto le = latency->getObject("le");
  REQUIRE(le);
  CHECK(le->getValue<long long>("+Inf") == 3);  // cumulative: the last bucket holds them all
  CHECK(le->getValue<long long>("1") <= le->getValue<long long>("60000"));
  long long p99 = latency->getValue<long long>("p99_le");
  CHECK(p99 >= 1);
  CHECK(le->getValue<long long>(std::to_string(p99)) == 3);  // every request is under the p99 bound
  CHECK(server.stop() == 0);
}

TEST_CASE("outside the sale window buying is refused", "[e2e][api]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  flashsale::UnixMillis now = flashsale::now_ms();
  std::string body = R"({"name":"later","stock":5,"sale_price":100,"start_time":")" +
                     flashsale::format_rfc3339(now + 3600000) + R"(","end_time":")" +
                     flashsale::format_rfc3339(now + 7200000) + R"("})";
  HttpReply created = client.post("/api/products", body, kAdmin);
  REQUIRE(created.status == 201);
  preload(client, created.num("id"));
  check_error(client.post("/api/flash_sale/buy", buy_body(created.num("id"), 1)), 409, "sale_not_active");
}

TEST_CASE("the rate limit answers 429 per user", "[e2e][api]") {
  EmbeddedServer server(std::map<std::string, std::string>{{"BUY_RATE_LIMIT", "3"}, {"BUY_RATE_WINDOW_SEC", "60"}});
  HttpClient client(server.port());
  long long product = create_product(client, 100);
  preload(client, product);
  int limited = 0;
  for (int i = 0; i < 5; ++i) {
    if (client.post("/api/flash_sale/buy", buy_body(product, 42)).status == 429) ++limited;
  }
  CHECK(limited == 2);
  check_error(client.post("/api/flash_sale/buy", buy_body(product, 42)), 429, "rate_limited");
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 43)).status == 202);  // another user is not limited
}

TEST_CASE("a bad config stops start-up with one line naming the key", "[e2e][startup]") {
  int code = 0;
  std::string err =
      failed_start_output(embedded_config(), {{"BUY_RATE_LIMIT", "many"}, {"PLUGIN_DIR", plugin_dir()}}, &code);
  CHECK(code == 2);
  CHECK_THAT(err, Catch::StartsWith("flashsale-server: buy.rate.limit (BUY_RATE_LIMIT)"));
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  TempDir dir;
  err = failed_start_output(embedded_config(), {{"STAGE_OUTBOX", "sqlite"}, {"PLUGIN_DIR", plugin_dir()}}, &code);
  CHECK(code == 2);
  CHECK_THAT(err, Catch::Contains("stage.outbox (STAGE_OUTBOX): must be the same backend family"));
}

TEST_CASE("flashsale-server --list-plugins prints each plugin on the search path and exits", "[e2e][startup]") {
  // The config file names its first folder relative to itself; the build's
  // plugins come second, so two files claim the memory family.
  TempDir dir;
  std::filesystem::create_directories(dir.file("etc"));
  std::filesystem::create_directories(dir.file("extra"));
  std::filesystem::copy_file(plugin_dir() + "/flashsale-memory.so", dir.file("extra/flashsale-memory.so"));
  std::ofstream(dir.file("extra/flashsale-junk.so")) << std::string(4096, 'x');
  std::ofstream(dir.file("etc/list.properties")) << "plugin.dir = ../extra:" << plugin_dir() << "\n";

  std::string output;
  int code = run_command(
      {build_dir() + "/bin/flashsale-server", "--config", dir.file("etc/list.properties"), "--list-plugins"}, &output,
      30000);
  INFO(output);
  CHECK(code == 0);
  const std::string abi = "\tabi " + std::to_string(flashsale::kPluginAbiVersion) + "\t";
  const std::string memory_stages = "ratelimit,admit,outbox,relay,persist,notify\t";
  CHECK_THAT(output, Catch::StartsWith("junk\t\t\t" + dir.file("extra/flashsale-junk.so") +
                                       "\terror: cannot be loaded: invalid ELF header\n"
                                       "memory" +
                                       abi + memory_stages + dir.file("extra/flashsale-memory.so") +
                                       "\terror: family 'memory' is also claimed by " + plugin_dir() +
                                       "/flashsale-memory.so\n"));
  CHECK_THAT(output, Catch::Contains("\nkafka" + abi + "relay\t" + plugin_dir() + "/flashsale-kafka.so\n"));
  CHECK_THAT(output, Catch::Contains("\nmemory" + abi + memory_stages + plugin_dir() +
                                     "/flashsale-memory.so\terror: family 'memory' is also claimed by " +
                                     dir.file("extra/flashsale-memory.so") + "\n"));
  CHECK_THAT(output, Catch::Contains("\nsqlite" + abi + "persist\t" + plugin_dir() + "/flashsale-sqlite.so\n"));
  CHECK_THAT(output, Catch::Contains("\nredis" + abi + "ratelimit,admit,outbox,notify\t" + plugin_dir() +
                                     "/flashsale-redis.so\n"));
}

TEST_CASE("an over-limit body is answered 413 even when the client reads late (no reset)", "[e2e][api]") {
  // Closing a socket with unread data in it sends a reset, which can destroy
  // the 413 before the client reads it; the server drains the body first.
  EmbeddedServer server;
  for (int attempt = 0; attempt < 5; ++attempt) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server.port())));
    std::string body(200000, ' ');
    std::string head =
        "POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    std::string all = head + body;
    for (std::size_t sent = 0; sent < all.size();) {
      sent += static_cast<std::size_t>(socket.sendBytes(all.data() + sent, static_cast<int>(all.size() - sent)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server has answered and closed by now
    std::string reply;
    char buffer[4096];
    try {
      for (int got; (got = socket.receiveBytes(buffer, sizeof buffer)) > 0;) reply.append(buffer, got);
    } catch (const Poco::Exception& e) {
      FAIL("reading the answer: " << e.displayText());
    }
    INFO(reply);
    CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 413") && Catch::Contains("payload_too_large"));
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("chunked bodies are read, and limited like any other", "[e2e][api]") {
  EmbeddedServer server;
  auto post_chunked = [&](const std::string& path, const std::string& body) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server.port()));
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setChunkedTransferEncoding(true);
    request.set("X-Admin-Token", "dev-admin-token");
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
    return std::make_pair(static_cast<int>(response.getStatus()), text);
  };
  auto created =
      post_chunked("/api/products", R"({"name":"chunked","stock":1,"sale_price":1,)"
                                    R"("start_time":"2026-01-01T00:00:00Z","end_time":"2099-01-01T00:00:00Z"})");
  CHECK(created.first == 201);
  auto big = post_chunked("/api/flash_sale/buy", std::string(20000, ' '));
  CHECK(big.first == 413);
  CHECK_THAT(big.second, Catch::Contains("payload_too_large"));
}
