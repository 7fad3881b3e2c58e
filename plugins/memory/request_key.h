// A request id as the memory stores keep it. The host makes every id as UUID
// text (36 chars, core/src/pipeline/request_id.cpp), which as a std::string is
// a heap block of its own; stored as its 16 bytes it needs none, so a request
// state, a user lock or an outbox entry costs one allocation, not two or three.
// Any other non-empty id (tests, another host) is kept as text, so every id
// still works. Only canonical lowercase UUID text is packed: text() gives back
// exactly the id that came in, and a packed and a text key never compare equal
// for the same id because an id is either canonical or not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace flashsale::memory {

class RequestKey {
 public:
  RequestKey() = default;
  explicit RequestKey(std::string_view id);
  RequestKey(const RequestKey& other);
  RequestKey& operator=(const RequestKey& other);
  RequestKey(RequestKey&&) noexcept = default;
  RequestKey& operator=(RequestKey&&) noexcept = default;

  std::string text() const;
  std::size_t hash() const noexcept;
  bool operator==(const RequestKey& other) const noexcept;

 private:
  std::uint64_t high_ = 0;  // the UUID's bytes, big-endian halves, when packed
  std::uint64_t low_ = 0;
  std::unique_ptr<std::string> text_;  // the id itself when not packed
};

}  // namespace flashsale::memory

template <>
struct std::hash<flashsale::memory::RequestKey> {
  std::size_t operator()(const flashsale::memory::RequestKey& key) const noexcept { return key.hash(); }
};
