#include "journal_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace flashsale::journal {

namespace {

// FNV-1a, 64 bits: enough to tell a torn or garbled transaction from a whole one.
std::uint64_t checksum(const std::string& bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string commit_line(std::size_t count, const std::string& facts) {
  char line[64];
  std::snprintf(line, sizeof line, "commit %zu %016" PRIx64 "\n", count, checksum(facts));
  return line;
}

std::string system_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string read_all(int fd, const std::string& path) {
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw JournalError(system_error("cannot read", path));
    if (got == 0) return content;
    content.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

JournalFile::JournalFile(const std::string& path, bool sync, const Replay& replay) : path_(path), sync_(sync) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw JournalError(system_error("cannot open", path));
  try {
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      throw JournalError(errno == EWOULDBLOCK ? path + " is in use by another process"
                                              : system_error("cannot lock", path));
    }
    std::string content = read_all(fd_, path);
    std::vector<std::string> facts;  // of the transaction being read
    std::size_t at = 0, line = 0, first_line = 1;
    while (at < content.size()) {
      std::size_t newline = content.find('\n', at);
      if (newline == std::string::npos) break;  // a torn last line
      std::string text = content.substr(at, newline - at);
      ++line;
      if (text.rfind("commit ", 0) != 0) {
        facts.push_back(text);
      } else {
        std::string body;
        for (const std::string& fact : facts) body += fact + "\n";
        if (text + "\n" != commit_line(facts.size(), body)) {
          if (content.find("\ncommit ", newline) == std::string::npos) break;  // torn: nothing whole after it
          throw JournalError(path + " line " + std::to_string(line) + ": transaction does not match its commit");
        }
        for (std::size_t i = 0; i < facts.size(); ++i) {
          try {
            replay(facts[i], first_line + i);
          } catch (const JournalError& error) {
            throw JournalError(path + " line " + std::to_string(first_line + i) + ": " + error.what());
          }
        }
        facts.clear();
        end_ = static_cast<off_t>(newline + 1);
        first_line = line + 1;
      }
      at = newline + 1;
    }
    if (static_cast<std::size_t>(end_) != content.size() && ::ftruncate(fd_, end_) != 0) {
      throw JournalError(system_error("cannot cut the torn tail of", path));
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

JournalFile::~JournalFile() {
  ::close(fd_);  // releases the lock
}

void JournalFile::append(const std::vector<std::string>& facts) {
  std::string body;
  for (const std::string& fact : facts) body += fact + "\n";
  std::string transaction = body + commit_line(facts.size(), body);
  std::size_t written = 0;
  while (written < transaction.size()) {
    ssize_t done = ::write(fd_, transaction.data() + written, transaction.size() - written);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) break;
    written += static_cast<std::size_t>(done);
  }
  if (written == transaction.size() && (!sync_ || ::fdatasync(fd_) == 0)) {
    end_ += static_cast<off_t>(transaction.size());
    return;
  }
  std::string error = system_error("cannot write", path_);
  // Cut the partial transaction off; failing that, the next open does.
  if (::ftruncate(fd_, end_) != 0) error += " (and cannot cut it back)";
  throw JournalError(error);
}

}  // namespace flashsale::journal
