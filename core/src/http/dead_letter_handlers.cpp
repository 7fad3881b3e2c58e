// The admin endpoints over dead letters: list, inspect and replay those of
// the outbox (?source=outbox, the default) or of the relay (?source=relay).
// Every call is bounded: a page holds at most kMaxDeadLetterPage, and one
// replay-all call replays at most kMaxReplayAll.
#include <charconv>
#include <optional>

#include "flashsale/clock.h"
#include "flashsale/dead_letter.h"
#include "http/error_mapping.h"
#include "http/handlers.h"
#include "http/json.h"
#include "pipeline/dead_letter_replay.h"

namespace flashsale::handlers {

namespace {

constexpr std::size_t kDefaultPage = 20;
constexpr std::size_t kDefaultReplayAll = 100;
constexpr std::size_t kMaxReplayAll = 1000;

// The store ?source= names, or nullptr with *refusal set.
DeadLetters* source_of(const ApiContext& context, const HttpRequest& request, std::string* name,
                       std::optional<HttpResponse>* refusal) {
  *name = request.query("source").value_or("outbox");
  DeadLetters* store = nullptr;
  if (*name == "outbox") store = context.outbox_dead_letters;
  if (*name == "relay") store = context.relay_dead_letters;
  if (store == nullptr) *refusal = HttpResponse::error(400, "invalid_request", "source must be outbox or relay");
  return store;
}

// ?limit= within [1, max], `fallback` when absent; nullopt when malformed.
std::optional<std::size_t> limit_of(const HttpRequest& request, std::size_t fallback, std::size_t max) {
  std::optional<std::string> text = request.query("limit");
  if (!text) return fallback;
  std::size_t limit = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit == 0 || limit > max) return std::nullopt;
  return limit;
}

HttpResponse bad_limit(std::size_t max) {
  return HttpResponse::error(400, "invalid_request", "limit must be an integer from 1 to " + std::to_string(max));
}

std::string dead_letter_json(const DeadLetter& letter) {
  JsonWriter json;
  json.field("id", letter.id)
      .field("reason", letter.reason)
      .field("deliveries", std::int64_t{letter.deliveries})
      .field("dead_time", format_rfc3339(letter.dead_ms));
  if (letter.decoded) {
    const OrderEvent& event = letter.event;
    json.raw("event", JsonWriter()
                          .field("request_id", event.request_id)
                          .field("user_id", event.user_id)
                          .field("product_id", event.product_id)
                          .field("quantity", std::int64_t{event.quantity})
                          .field("unit_price", event.unit_price)
                          .field("accepted_time", format_rfc3339(event.accepted_ms))
                          .done());
  } else {
    json.raw("event", "null").field("raw", letter.raw);
  }
  return json.done();
}

}  // namespace

HttpResponse list_dead_letters(const ApiContext& context, const HttpRequest& request, std::string_view) {
  std::string source;
  std::optional<HttpResponse> refusal;
  DeadLetters* store = source_of(context, request, &source, &refusal);
  if (store == nullptr) return std::move(*refusal);
  std::optional<std::size_t> limit = limit_of(request, kDefaultPage, kMaxDeadLetterPage);
  if (!limit) return bad_limit(kMaxDeadLetterPage);
  std::vector<DeadLetter> page;
  Status status = store->list_dead_letters(request.query("after").value_or(""), *limit, &page);
  if (!status.is_ok()) return status_response(status);
  std::string items = "[";
  for (const DeadLetter& letter : page) items += (items.size() > 1 ? "," : "") + dead_letter_json(letter);
  items += "]";
  JsonWriter json;
  json.field("source", source).raw("dead_letters", items);
  // A full page may have more behind it: the next one starts after its last id.
  if (page.size() == *limit) json.field("next_after", page.back().id);
  return HttpResponse::json(200, json.done());
}

HttpResponse get_dead_letter(const ApiContext& context, const HttpRequest& request, std::string_view id) {
  std::string source;
  std::optional<HttpResponse> refusal;
  DeadLetters* store = source_of(context, request, &source, &refusal);
  if (store == nullptr) return std::move(*refusal);
  DeadLetter letter;
  Status status = store->find_dead_letter(std::string(id), &letter);
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(200,
                            JsonWriter().field("source", source).raw("dead_letter", dead_letter_json(letter)).done());
}

HttpResponse replay_dead_letter(const ApiContext& context, const HttpRequest& request, std::string_view id) {
  std::string source;
  std::optional<HttpResponse> refusal;
  DeadLetters* store = source_of(context, request, &source, &refusal);
  if (store == nullptr) return std::move(*refusal);
  Status status = store->replay_dead_letter(std::string(id));
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(200, JsonWriter().field("source", source).field("id", id).field("replayed", true).done());
}

HttpResponse replay_dead_letters(const ApiContext& context, const HttpRequest& request, std::string_view) {
  std::string source;
  std::optional<HttpResponse> refusal;
  DeadLetters* store = source_of(context, request, &source, &refusal);
  if (store == nullptr) return std::move(*refusal);
  std::optional<std::size_t> limit = limit_of(request, kDefaultReplayAll, kMaxReplayAll);
  if (!limit) return bad_limit(kMaxReplayAll);
  ReplayOutcome outcome;
  Status status = flashsale::replay_dead_letters(*store, *limit, &outcome);
  if (!status.is_ok()) {
    // Some may have gone back before the error: say how many.
    HttpError mapped = http_error_for(status.code());
    std::string error = JsonWriter().field("code", mapped.code).field("message", status.message()).done();
    return HttpResponse::json(
        mapped.http_status,
        JsonWriter().raw("error", error).field("replayed", static_cast<std::int64_t>(outcome.replayed)).done());
  }
  return HttpResponse::json(200, JsonWriter()
                                     .field("source", source)
                                     .field("replayed", static_cast<std::int64_t>(outcome.replayed))
                                     .field("more", outcome.more)
                                     .done());
}

}  // namespace flashsale::handlers
