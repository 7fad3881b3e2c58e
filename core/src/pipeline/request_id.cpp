#include "pipeline/request_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "flashsale/clock.h"

namespace flashsale {

namespace {

// getrandom() per id costs a syscall; a per-thread pool of 4 KiB refilled from
// it keeps the buy path at memory speed with the same randomness.
class RandomPool {
 public:
  void take(unsigned char* out, std::size_t n) {
    if (used_ + n > sizeof bytes_) refill();
    std::memcpy(out, bytes_ + used_, n);
    std::memset(bytes_ + used_, 0, n);  // an id never lingers in the pool
    used_ += n;
  }

 private:
  void refill() {
    std::size_t filled = 0;
    while (filled < sizeof bytes_) {
      ssize_t got = getrandom(bytes_ + filled, sizeof bytes_ - filled, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("getrandom failed");
      }
      filled += static_cast<std::size_t>(got);
    }
    used_ = 0;
  }

  unsigned char bytes_[4096];
  std::size_t used_ = sizeof bytes_;
};

}  // namespace

std::string new_request_id() {
  thread_local RandomPool pool;
  unsigned char b[16];
  // RFC 9562 UUIDv7: unix_ts_ms (48 bits, big-endian), ver, rand_a (12 bits),
  // var, rand_b (62 bits). Both random fields come from the pool.
  auto ms = static_cast<std::uint64_t>(now_ms());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  pool.take(b + 6, sizeof b - 6);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  static const char hex[] = "0123456789abcdef";
  char id[36];
  char* out = id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = hex[b[i] >> 4];
    *out++ = hex[b[i] & 0x0f];
  }
  return std::string(id, sizeof id);
}

}  // namespace flashsale
