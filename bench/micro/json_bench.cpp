// The JSON the buy endpoint speaks, on its own: parsing a buy request body
// with JsonObject (the API's own strict reader, no DOM) and writing the 202 answer with
// JsonWriter. Shows what share of a buy call the JSON layer costs.
#include <benchmark/benchmark.h>

#include "http/json.h"

namespace flashsale::bench {

namespace {

void BM_ParseBuyRequest(benchmark::State& state) {
  const std::string body = R"({"user_id": 1234567890, "product_id": 42, "quantity": 1})";
  std::string error;
  for (auto _ : state) {
    JsonObject object;
    if (!JsonObject::parse(body, &object, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::DoNotOptimize(object.integer("user_id", &error));
    benchmark::DoNotOptimize(object.integer("product_id", &error));
    benchmark::DoNotOptimize(object.integer("quantity", &error));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_WriteBuyResponse(benchmark::State& state) {
  const std::string request_id = "0b4f3c1e-6a0d-4b5e-9a57-3f1c2d4e5f60";
  for (auto _ : state) {
    std::string out = JsonWriter().field("request_id", request_id).field("status", "pending").done();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_ParseBuyRequest)->Name("json/parse_buy_request");
BENCHMARK(BM_WriteBuyResponse)->Name("json/write_buy_response");

}  // namespace flashsale::bench
