// How every stage method of the family runs: take a connection, run the
// body, give the connection back, and turn whatever went wrong into one
// Status (nothing throws across the plugin boundary, plugin.h).
//
// Two failures are worth a second try inside the call, because the caller
// could do nothing better: PostgreSQL aborted the transaction to break a
// deadlock (40P01) or a serialization conflict (40001), and rolled all of it
// back; and a connection that sat idle in the pool turned out to be dead (the
// server restarted meanwhile). The second runs the body again on a new
// connection only when running it twice is harmless (Replay::safe): the body
// may have committed before the connection died.
#pragma once

#include <exception>

#include "connection_pool.h"
#include "flashsale/boundary.h"
#include "pg_error.h"

namespace flashsale::postgres {

enum class Replay {
  safe,   // running the body again gives the same outcome (idempotent writes, reads)
  never,  // a second run could repeat a committed write (creating a product)
};

inline constexpr int kMaxAttempts = 5;  // of a transaction aborted by a deadlock or a serialization conflict

// Whether a failed attempt is tried again; sleeps a little first after a deadlock.
bool try_again(const PgError& error, Replay replay, bool reused_connection, int attempt);

// body(Connection&) returns a Status; it may throw PgError.
template <typename Body>
Status store_call(ConnectionPool& pool, const char* operation, Replay replay, Body&& body) noexcept {
  try {
    for (int attempt = 1;; ++attempt) {
      bool reused = false;
      try {
        ConnectionPool::Lease lease = pool.acquire();
        reused = lease.reused();
        return body(*lease);
      } catch (const PgError& error) {
        if (!try_again(error, replay, reused, attempt)) return status_of(operation, error);
      }
    }
  } catch (const std::exception& error) {
    return internal_error(operation, error.what());
  } catch (...) {
    return internal_error(operation, "unknown exception");
  }
}

}  // namespace flashsale::postgres
