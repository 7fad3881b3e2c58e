// Checkpoints the writer's WAL from a thread and a connection of its own, so
// a persist never stalls on one. With SQLite's autocheckpoint the commit that
// crosses the threshold copies the log back into the file and syncs it on the
// writer's time: a batch then took ~200 ms instead of a few. Installing the
// WAL hook turns the writer's autocheckpoint off; after each commit the hook
// reports the log's length, and past `threshold_pages` this thread runs a
// PASSIVE checkpoint, which never blocks the writer (it copies what is
// committed and leaves the rest for the next round). It also looks once a
// second, so a quiet log is checkpointed too.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace flashsale::sqlite {

class Checkpointer {
 public:
  // Throws std::runtime_error when its own connection cannot be opened.
  Checkpointer(const std::string& path, sqlite3* writer, int threshold_pages);
  ~Checkpointer();  // unhooks the writer, stops and joins the thread
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void run();

  sqlite3* const writer_;
  const int threshold_pages_;
  sqlite3* db_ = nullptr;  // the thread's own connection

  std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace flashsale::sqlite
