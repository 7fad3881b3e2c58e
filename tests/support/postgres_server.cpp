// The test PostgreSQL of postgres_server.h. The server is this process's own
// child (not daemonized by pg_ctl), so it can be told to die with it
// (PR_SET_PDEATHSIG) and a crashed test leaves no server behind. Readiness
// is what `pg_ctl start -w` waits for: the status line of postmaster.pid.
#include "support/postgres_server.h"

#include <libpq-fe.h>

#include <stdexcept>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/redis_server.h"  // free_loopback_port

namespace flashsale::test {

namespace {

using Clock = std::chrono::steady_clock;

// Who initdb and the server run as: this process's user, or postgres when
// this process is root.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs run_as() {
  if (geteuid() != 0) return {};
  const passwd* user = getpwnam("postgres");
  if (user == nullptr) {
    throw std::runtime_error(
        "running as root, and there is no postgres user to run PostgreSQL as (apt-get install "
        "postgresql-15)");
  }
  return {true, user->pw_uid, user->pw_gid};
}

// The postgres user must reach the dir through every folder above it.
void require_traversable(const std::filesystem::path& dir) {
  for (std::filesystem::path up = dir.parent_path(); !up.empty() && up != up.parent_path(); up = up.parent_path()) {
    struct stat info {};
    if (::stat(up.c_str(), &info) == 0 && (info.st_mode & S_IXOTH) == 0) {
      throw std::runtime_error(up.string() +
                               " is not traversable by the postgres user: set TMPDIR to a folder that is");
    }
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts args (args[0] a path) as `as`, output appended to log; the child
// gets `death_signal` when this thread ends.
pid_t spawn(const std::vector<std::string>& args, const RunAs& as, const std::string& log, int death_signal) {
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (std::string& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot open " + log);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    ::close(out);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    if (as.drop && (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0)) _exit(126);
    prctl(PR_SET_PDEATHSIG, death_signal);  // after setuid, which clears it
    if (getppid() != parent) _exit(1);      // the parent is gone already
    int in = ::open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out);
  return pid;
}

// Waits up to `limit` for pid to exit; its wait status, or -1 if it did not.
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The lines of postmaster.pid: 1 the pid, 8 the status ("ready" once it
// accepts connections).
bool reports_ready(const std::string& pid_file, pid_t pid) {
  std::ifstream in(pid_file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (number == 1 && line != std::to_string(pid)) return false;
    if (number == 8) return line.rfind("ready", 0) == 0;
  }
  return false;
}

}  // namespace

long long postgres_scalar(const std::string& dsn, const std::string& sql) {
  PGconn* connection = PQconnectdb(dsn.c_str());
  std::string problem;
  long long value = 0;
  if (PQstatus(connection) != CONNECTION_OK) {
    problem = PQerrorMessage(connection);
  } else {
    PGresult* result = PQexec(connection, sql.c_str());
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      value = std::stoll(PQgetvalue(result, 0, 0));
    } else {
      problem = PQerrorMessage(connection);
    }
    PQclear(result);
  }
  PQfinish(connection);
  if (!problem.empty()) throw std::runtime_error("postgres_scalar(" + sql + "): " + problem);
  return value;
}

std::string postgres_bin_dir() {
  const char* dir = std::getenv("PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
}

PostgresServer::PostgresServer(PostgresServerOptions options) : options_(std::move(options)) {
  RunAs as = run_as();
  if (as.drop) {
    require_traversable(dir_.path());
    if (::chown(dir_.path().c_str(), as.uid, as.gid) != 0) throw std::runtime_error("cannot chown " + dir_.path());
  }
  std::string log = dir_.file("initdb.log");
  pid_t initdb = spawn({postgres_bin_dir() + "/initdb", "-D", dir_.file("data"), "-U", "flashsale", "--auth=trust",
                        "--no-locale", "-E", "UTF8", "--no-sync"},
                       as, log, SIGKILL);
  int status = wait_exit(initdb, std::chrono::seconds(60));
  if (status == -1) {
    ::kill(initdb, SIGKILL);
    waitpid(initdb, &status, 0);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("initdb failed: " + read_file(log));
  // A port taken between the probe and the bind: try another.
  for (int attempt = 1;; ++attempt) {
    port_ = free_loopback_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 5) throw;
    }
  }
}

PostgresServer::~PostgresServer() {
  stop();
}

std::string PostgresServer::dsn(const std::string& database) const {
  return "postgresql://flashsale@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresServer::start() {
  if (running()) return;
  std::vector<std::string> args = {
      postgres_bin_dir() + "/postgres", "-D", dir_.file("data"), "-p", std::to_string(port_), "-k", dir_.path(), "-c",
      "listen_addresses=127.0.0.1",     "-c", "fsync=off"};
  for (const std::string& setting : options_.settings) {
    args.push_back("-c");
    args.push_back(setting);
  }
  std::string log = dir_.file("postgres.log");
  // SIGQUIT if this process dies: an immediate shutdown of every backend.
  pid_ = spawn(args, run_as(), log, SIGQUIT);
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!reports_ready(dir_.file("data/postmaster.pid"), pid_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("postgres on port " + std::to_string(port_) + " exited at start: " + read_file(log));
    }
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      throw std::runtime_error("postgres on port " + std::to_string(port_) + " did not get ready: " + read_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void PostgresServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGINT);  // fast shutdown
  if (wait_exit(pid_, std::chrono::seconds(30)) == -1) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

}  // namespace flashsale::test
