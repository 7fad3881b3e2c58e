// Runs the real flashsale-server binary as a child process on a free loopback
// port (HTTP_ADDR=127.0.0.1:0; the port is read from its first stdout line)
// and stops it on destruction, pass or fail.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace flashsale::test {

class ServerProcess {
 public:
  // `env` is added to (and overrides) the test's own environment.
  ServerProcess(const std::string& config_file, const std::map<std::string, std::string>& env);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }  // 0 when the process has no api role
  pid_t pid() const { return pid_; }  // -1 once stopped
  // SIGTERM and wait; returns the exit status (or -1 when killed after a timeout).
  int stop();
  // Waits for the process to exit by itself; its exit status, or -1 (then killed).
  int stop_when_exited(int timeout_ms);
  // SIGKILL: a crash, nothing drained.
  void kill();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs the server expecting it to fail at start; returns its stderr.
std::string failed_start_output(const std::string& config_file, const std::map<std::string, std::string>& env,
                                int* exit_code);

// Runs `argv` (argv[0] a path) to completion with stdout+stderr into *output;
// returns its exit code (-1 if it ran past timeout_ms and was killed).
int run_command(const std::vector<std::string>& argv, std::string* output, int timeout_ms);

}  // namespace flashsale::test
