// The journal on disk: an append-only text file of transactions. A
// transaction is one or more fact lines (journal_state.h says what they
// mean) closed by a commit line that counts them and checksums them:
//
//   order 1 req-7f3a 1001 1 2 24690 1767261600000 1767262500000
//   failed req-7f3b 1 already_purchased
//   commit 2 da405c01cdc03815
//
// A transaction is written with one write() and, with sync on, fdatasync()ed
// before append() returns, so an answer the store gave survives a power cut.
// A crash mid-write leaves a torn tail (facts without their commit, or a
// commit that does not match): opening the file cuts it off, so the state is
// always some prefix of whole transactions. A bad transaction with whole
// transactions after it is corruption, and opening refuses the file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace flashsale::journal {

// A journal that cannot be opened, read or written; what() is one line.
struct JournalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class JournalFile {
 public:
  // Called with each committed fact in file order and its line number; may
  // throw JournalError when the fact makes no sense.
  using Replay = std::function<void(const std::string& fact, std::size_t line)>;

  // Opens path (creating it), takes an exclusive lock on it (one process per
  // journal), replays it and cuts off a torn tail. Throws JournalError.
  JournalFile(const std::string& path, bool sync, const Replay& replay);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  // Appends one transaction. On failure the file is cut back to where it
  // was, and it throws JournalError: then nothing of it was written.
  void append(const std::vector<std::string>& facts);

 private:
  std::string path_;
  bool sync_;
  int fd_ = -1;
  off_t end_ = 0;  // where the last whole transaction ends
};

}  // namespace flashsale::journal
