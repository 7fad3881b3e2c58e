#include "support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

extern char** environ;

namespace flashsale::test {

namespace {

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** p = environ; *p != nullptr; ++p) {
    std::string entry = *p;
    auto eq = entry.find('=');
    if (eq != std::string::npos) all[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  all["HTTP_ADDR"] = "127.0.0.1:0";
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

// Starts the server with stdout (and optionally stderr) into pipes.
pid_t spawn(const std::string& config_file, const std::map<std::string, std::string>& env, int* out_fd, int* err_fd) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
  std::string binary = build_dir() + "/bin/flashsale-server";
  std::vector<std::string> args = {binary};
  if (!config_file.empty()) args.insert(args.end(), {"--config", config_file});
  std::vector<std::string> vars = merged_env(env);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    if (err_fd != nullptr) dup2(err[1], 2);
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  *out_fd = out[0];
  if (err_fd != nullptr)
    *err_fd = err[0];
  else
    close(err[0]);
  return pid;
}

std::string read_line(int fd, int timeout_ms) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0) break;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

int wait_exit(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace

ServerProcess::ServerProcess(const std::string& config_file, const std::map<std::string, std::string>& env) {
  int out_fd = -1;
  pid_ = spawn(config_file, env, &out_fd, nullptr);
  std::string line = read_line(out_fd, 30000);
  close(out_fd);
  if (line.rfind("flashsale running", 0) == 0) return;  // no api role: no port
  auto colon = line.rfind(':');
  if (line.rfind("flashsale listening on", 0) != 0 || colon == std::string::npos) {
    kill();
    throw std::runtime_error("server did not start: '" + line + "'");
  }
  port_ = std::stoi(line.substr(colon + 1));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop();
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int code = wait_exit(pid_, 60000);
  pid_ = -1;
  return code;
}

int ServerProcess::stop_when_exited(int timeout_ms) {
  if (pid_ <= 0) return -1;
  int code = wait_exit(pid_, timeout_ms);
  pid_ = -1;
  return code;
}

void ServerProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string failed_start_output(const std::string& config_file, const std::map<std::string, std::string>& env,
                                int* exit_code) {
  int out_fd = -1, err_fd = -1;
  pid_t pid = spawn(config_file, env, &out_fd, &err_fd);
  *exit_code = wait_exit(pid, 30000);
  std::string err;
  char buf[4096];
  ssize_t n;
  fcntl(err_fd, F_SETFL, O_NONBLOCK);
  while ((n = read(err_fd, buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  close(out_fd);
  close(err_fd);
  return err;
}

int run_command(const std::vector<std::string>& argv, std::string* output, int timeout_ms) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = argv;
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    close(out[1]);
    std::vector<char*> raw;
    for (auto& a : args) raw.push_back(a.data());
    raw.push_back(nullptr);
    execv(raw[0], raw.data());
    _exit(127);
  }
  close(out[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    output->append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  return wait_exit(pid, std::max<int>(1000, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 deadline - std::chrono::steady_clock::now())
                                                                 .count())));
}

}  // namespace flashsale::test
