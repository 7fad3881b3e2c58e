#include "kafka_dead_letters.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include "flashsale/event_codec.h"
#include "kafka_conf.h"
#include "kafka_settings.h"

namespace flashsale::kafka {

namespace {

constexpr const char* kErrorHeader = "flashsale-error";
constexpr const char* kOriginHeader = "flashsale-origin";
constexpr const char* kAttemptsHeader = "flashsale-attempts";
constexpr const char* kReplayedHeader = "flashsale-replayed";   // on a marker: the id it replayed
constexpr const char* kReplayOfHeader = "flashsale-replay-of";  // on a replay: <dlq topic>/<id>
constexpr int kMetadataTimeoutMs = 5000;

using Position = std::pair<std::int32_t, std::int64_t>;  // partition, offset

std::string id_of(Position position) {
  return std::to_string(position.first) + "-" + std::to_string(position.second);
}

bool parse_id(const std::string& id, Position* position) {
  auto dash = id.find('-');
  if (dash == std::string::npos) return false;
  const char* end = id.data() + id.size();
  auto [p_end, p_ec] = std::from_chars(id.data(), id.data() + dash, position->first);
  auto [o_end, o_ec] = std::from_chars(id.data() + dash + 1, end, position->second);
  return p_ec == std::errc() && p_end == id.data() + dash && o_ec == std::errc() && o_end == end && dash > 0 &&
         position->first >= 0 && position->second >= 0;
}

std::optional<std::string> header(rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  std::size_t size = 0;
  if (headers == nullptr || rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
}

}  // namespace

struct DeadLetterTopic::Stored {
  Position position;
  std::string key;
  std::string value;
  DeadLetter letter;
};

DeadLetterTopic::DeadLetterTopic(const Settings& settings, Logger* logger, Publisher* publisher)
    : settings_(settings),
      logger_(logger),
      publisher_(publisher),
      topic_(settings.get(setting::kTopic)),
      dlq_topic_(settings.get(setting::kDlqTopic).empty() ? topic_ + ".dlq" : settings.get(setting::kDlqTopic)),
      max_scan_(static_cast<std::size_t>(settings.get_int(setting::kDlqListMax, nullptr))),
      scan_timeout_(settings.get_int(setting::kDlqListTimeout, nullptr)) {}

DeadLetterTopic::~DeadLetterTopic() {
  if (reader_ == nullptr) return;
  rd_kafka_consumer_close(reader_);
  rd_kafka_destroy(reader_);
}

Status DeadLetterTopic::write(const Origin& origin, std::string_view key, std::string_view value,
                              const std::string& reason, std::uint32_t attempts) {
  Publisher::Message message{
      dlq_topic_,
      RD_KAFKA_PARTITION_UA,
      std::string(key),
      std::string(value),
      {{kErrorHeader, reason},
       {kOriginHeader, topic_ + "/" + std::to_string(origin.partition) + "@" + std::to_string(origin.offset)},
       {kAttemptsHeader, std::to_string(attempts)}}};
  Status status = publisher_->produce(message);
  if (status.is_ok()) ++written_;
  return status;
}

Status DeadLetterTopic::ensure_reader() {
  if (reader_ != nullptr) return Status::ok();
  std::string error;
  rd_kafka_conf_t* conf = consumer_conf(settings_, &error);
  if (conf == nullptr) return {Code::internal, error};
  char errstr[512];
  // Its own group name, never joined (the reader assigns) and never committed.
  std::string group = settings_.get(setting::kGroupId) + ".dlq-admin";
  if (rd_kafka_conf_set(conf, "group.id", group.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return {Code::internal, errstr};
  }
  rd_kafka_t* reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (reader == nullptr) {
    rd_kafka_conf_destroy(conf);
    return {Code::unavailable, std::string("kafka dead-letter reader: ") + errstr};
  }
  rd_kafka_poll_set_consumer(reader);
  reader_ = reader;
  return Status::ok();
}

Status DeadLetterTopic::scan(std::vector<Stored>* live) {
  Status ready = ensure_reader();
  if (!ready.is_ok()) return ready;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(reader_, dlq_topic_.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(reader_, 0, handle, &metadata, kMetadataTimeoutMs);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {Code::unavailable, "kafka metadata of " + dlq_topic_ + ": " + rd_kafka_err2str(err)};
  }
  std::vector<std::int32_t> partitions;
  rd_kafka_resp_err_t topic_err = metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (metadata->topic_cnt == 1) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i)
      partitions.push_back(metadata->topics[0].partitions[i].id);
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return Status::ok();  // nothing dead-lettered yet
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {Code::unavailable, "kafka metadata of " + dlq_topic_ + ": " + rd_kafka_err2str(topic_err)};
  }

  std::map<std::int32_t, std::int64_t> end;  // partition -> high watermark, for partitions holding messages
  std::size_t total = 0;
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (std::int32_t partition : partitions) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    err = rd_kafka_query_watermark_offsets(reader_, dlq_topic_.c_str(), partition, &low, &high, kMetadataTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(assignment);
      return {Code::unavailable, "kafka offsets of " + dlq_topic_ + ": " + rd_kafka_err2str(err)};
    }
    if (high <= low) continue;
    rd_kafka_topic_partition_list_add(assignment, dlq_topic_.c_str(), partition)->offset = low;
    end[partition] = high;
    total += static_cast<std::size_t>(high - low);
  }
  if (total > max_scan_) {
    rd_kafka_topic_partition_list_destroy(assignment);
    return {Code::unavailable, dlq_topic_ + " holds " + std::to_string(total) + " messages, more than the " +
                                   std::to_string(max_scan_) + " a listing reads (kafka.dlq.list.max)"};
  }
  if (end.empty()) {
    rd_kafka_topic_partition_list_destroy(assignment);
    return Status::ok();
  }
  rd_kafka_assign(reader_, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);

  std::map<Position, Stored> found;
  auto deadline = std::chrono::steady_clock::now() + scan_timeout_;
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_message_t* message =
        rd_kafka_consumer_poll(reader_, static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, 200)));
    if (message == nullptr) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      logger_->log(LogLevel::warning, "kafka dead letters", rd_kafka_message_errstr(message));
      rd_kafka_message_destroy(message);
      continue;
    }
    Position position{message->partition, message->offset};
    rd_kafka_headers_t* headers = nullptr;
    rd_kafka_message_headers(message, &headers);
    Position replayed;
    if (std::optional<std::string> marker = header(headers, kReplayedHeader)) {
      if (parse_id(*marker, &replayed)) found.erase(replayed);
    } else {
      Stored stored;
      stored.position = position;
      if (message->key != nullptr) stored.key.assign(static_cast<const char*>(message->key), message->key_len);
      if (message->payload != nullptr) stored.value.assign(static_cast<const char*>(message->payload), message->len);
      DeadLetter& letter = stored.letter;
      letter.id = id_of(position);
      letter.reason = header(headers, kErrorHeader).value_or("");
      std::string attempts = header(headers, kAttemptsHeader).value_or("0");
      std::from_chars(attempts.data(), attempts.data() + attempts.size(), letter.deliveries);
      letter.dead_ms = rd_kafka_message_timestamp(message, nullptr);
      std::string ignored;
      letter.decoded = decode_event(stored.value, &letter.event, &ignored);
      if (!letter.decoded) letter.raw = stored.value;
      found.emplace(position, std::move(stored));
    }
    auto partition_end = end.find(message->partition);
    if (partition_end != end.end() && message->offset + 1 >= partition_end->second) end.erase(partition_end);
    rd_kafka_message_destroy(message);
  }
  rd_kafka_assign(reader_, nullptr);
  if (!end.empty()) {
    return {Code::unavailable, "reading " + dlq_topic_ + " took longer than kafka.dlq.list.timeout.ms (" +
                                   std::to_string(scan_timeout_.count()) + " ms)"};
  }
  for (auto& [position, stored] : found) live->push_back(std::move(stored));
  return Status::ok();
}

Status DeadLetterTopic::list(const std::string& after, std::size_t limit, std::vector<DeadLetter>* out) {
  if (limit == 0 || limit > kMaxDeadLetterPage) {
    return {Code::invalid_argument, "limit must be 1 to " + std::to_string(kMaxDeadLetterPage)};
  }
  Position from{-1, -1};
  if (!after.empty() && !parse_id(after, &from)) return {Code::invalid_argument, "not a dead letter id: " + after};
  std::vector<Stored> live;
  {
    std::lock_guard lock(reader_mutex_);
    Status scanned = scan(&live);
    if (!scanned.is_ok()) return scanned;
  }
  for (Stored& stored : live) {
    if (out->size() >= limit) break;
    if (stored.position > from) out->push_back(std::move(stored.letter));
  }
  return Status::ok();
}

Status DeadLetterTopic::find(const std::string& id, DeadLetter* out) {
  Position position;
  if (!parse_id(id, &position)) return {Code::not_found, "no dead letter " + id};
  std::vector<Stored> live;
  {
    std::lock_guard lock(reader_mutex_);
    Status scanned = scan(&live);
    if (!scanned.is_ok()) return scanned;
  }
  for (Stored& stored : live) {
    if (stored.position != position) continue;
    *out = std::move(stored.letter);
    return Status::ok();
  }
  return {Code::not_found, "no dead letter " + id};
}

Status DeadLetterTopic::replay(const std::string& id) {
  Position position;
  if (!parse_id(id, &position)) return {Code::not_found, "no dead letter " + id};
  // One replay at a time in this process: two of one id would both find it live.
  std::lock_guard lock(reader_mutex_);
  std::vector<Stored> live;
  Status scanned = scan(&live);
  if (!scanned.is_ok()) return scanned;
  for (const Stored& stored : live) {
    if (stored.position != position) continue;
    Status back = publisher_->produce(
        {topic_, RD_KAFKA_PARTITION_UA, stored.key, stored.value, {{kReplayOfHeader, dlq_topic_ + "/" + id}}});
    if (!back.is_ok()) return back;
    Status marked = publisher_->produce({dlq_topic_, position.first, stored.key, "", {{kReplayedHeader, id}}});
    if (!marked.is_ok()) {
      logger_->log(LogLevel::error, "kafka dead letters",
                   "replayed " + id + " but could not mark it replayed (it stays listed): " + marked.message());
      return marked;
    }
    ++replayed_;
    return Status::ok();
  }
  return {Code::not_found, "no dead letter " + id};
}

RelayStats DeadLetterTopic::stats() const {
  return RelayStats{written_.load(), replayed_.load()};
}

}  // namespace flashsale::kafka
