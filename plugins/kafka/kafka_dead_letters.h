// The kafka relay's dead letters: the topic kafka.dlq.topic (default
// <kafka.topic>.dlq). A message goes there with its key and value as consumed
// and headers saying why (flashsale-error), from where
// (flashsale-origin: topic/partition@offset) and after how many attempts
// (flashsale-attempts), so kcat shows an operator everything.
//
// Listing reads the topic from its start with a consumer of its own
// (assigned, never in a group, never committing), at most kafka.dlq.list.max
// messages (a larger topic is refused: read it with kcat, or replay and let
// retention drop it) for at most kafka.dlq.list.timeout.ms.
// A replay produces the message back to kafka.topic and then a marker to the
// dead letter's own partition (empty value, header flashsale-replayed: <id>):
// the topic itself remembers what was replayed, in order after the dead
// letter, so one forward read tells the live ones apart. That needs no other
// store and is right for replays of single ids in any order (a committed
// offset of an admin group could only remember a prefix). A crash between
// the two writes leaves the dead letter listed though replayed: a second
// replay then carries the event once more, which persist's unique request_id
// absorbs.
// Ids are "<partition>-<offset>" of the dead-letter topic, ordered by
// partition, then offset.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "flashsale/dead_letter.h"
#include "flashsale/host_services.h"
#include "flashsale/relay.h"
#include "flashsale/settings.h"
#include "kafka_publisher.h"

namespace flashsale::kafka {

// Where a consumed message came from.
struct Origin {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

class DeadLetterTopic {
 public:
  // `publisher` and `logger` outlive this object.
  DeadLetterTopic(const Settings& settings, Logger* logger, Publisher* publisher);
  ~DeadLetterTopic();
  DeadLetterTopic(const DeadLetterTopic&) = delete;
  DeadLetterTopic& operator=(const DeadLetterTopic&) = delete;

  // Writes a message of kafka.topic that could not be processed; ok once it
  // is durably in the dead-letter topic.
  Status write(const Origin& origin, std::string_view key, std::string_view value, const std::string& reason,
               std::uint32_t attempts);

  // As DeadLetters (dead_letter.h).
  Status list(const std::string& after, std::size_t limit, std::vector<DeadLetter>* out);
  Status find(const std::string& id, DeadLetter* out);
  Status replay(const std::string& id);

  RelayStats stats() const;
  const std::string& topic() const { return dlq_topic_; }

 private:
  struct Stored;
  // Every dead letter not replayed, in id order; the reader's lock is held.
  Status scan(std::vector<Stored>* live);
  Status ensure_reader();

  Settings settings_;
  Logger* logger_;
  Publisher* publisher_;
  std::string topic_;                             // kafka.topic, where replays go
  std::string dlq_topic_;                         // kafka.dlq.topic
  const std::size_t max_scan_;                    // kafka.dlq.list.max
  const std::chrono::milliseconds scan_timeout_;  // kafka.dlq.list.timeout.ms
  std::mutex reader_mutex_;
  rd_kafka_t* reader_ = nullptr;  // made on the first listing
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> replayed_{0};
};

}  // namespace flashsale::kafka
