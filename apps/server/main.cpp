// flashsale-server: loads the config, starts the roles it names, and stops
// gracefully on SIGINT/SIGTERM. The first line on stdout says where it
// listens, so scripts and tests can start it on port 0.
#include <malloc.h>
#include <pthread.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "app/server.h"
#include "host/config.h"
#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "host/stderr_logger.h"

extern char** environ;

namespace {

void print_key(const std::string& key, const std::string& fallback, const std::string& help, bool prefix) {
  std::string variable = flashsale::Settings::env_name(key);
  if (prefix) {
    std::cout << "  " << key << "<name> (" << variable << "<NAME>): " << help << "\n";
  } else {
    std::cout << "  " << key << " (" << variable << ", default '" << fallback << "'): " << help << "\n";
  }
}

// Core's keys, then those of every plugin the search path shows (`config`
// null when the configuration itself did not load).
void usage(const flashsale::Config* config) {
  std::cout << "usage: flashsale-server [--config FILE] [--list-plugins]\n\n"
               "--list-plugins prints every plugin on the search path (plugin.dir) and exits.\n\n"
               "Every key can also be set by its environment variable (key upper-cased, dots as underscores):\n";
  for (const auto& key : flashsale::known_keys()) print_key(key.key, key.fallback, key.help, false);
  if (config == nullptr) return;
  for (const auto& plugin : flashsale::find_plugins(*config)) {
    if (!plugin.error.empty() || plugin.keys.empty()) continue;
    std::cout << "\nthe " << plugin.family << " plugin (" << plugin.path << "):\n";
    for (const auto& key : plugin.keys) print_key(key.key, key.fallback, key.help, key.prefix);
  }
}

// One line per plugin file, in the order the host looks: family, ABI version,
// its stages, file, and why the host would not take it.
void list_plugins(const flashsale::Config& config) {
  for (const auto& plugin : flashsale::find_plugins(config)) {
    std::cout << plugin.family << "\t";
    if (plugin.abi_version != 0) std::cout << "abi " << plugin.abi_version;
    std::cout << "\t" << plugin.stages << "\t" << plugin.path;
    if (!plugin.error.empty()) std::cout << "\terror: " << plugin.error;
    std::cout << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file;
  bool list_only = false, help = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_file = argv[++i];
    } else if (std::strcmp(argv[i], "--list-plugins") == 0) {
      list_only = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      help = true;
    } else {
      std::cerr << "flashsale-server: unknown argument " << argv[i] << " (try --help)\n";
      return 2;
    }
  }

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    std::string exe_dir = std::filesystem::canonical("/proc/self/exe").parent_path().string();
    if (help) {
      try {
        flashsale::Config config = flashsale::load_config(config_file, environ, exe_dir);
        usage(&config);
      } catch (const flashsale::StartupError&) {
        usage(nullptr);
      }
      return 0;
    }
    flashsale::Config config = flashsale::load_config(config_file, environ, exe_dir);
    if (list_only) {
      list_plugins(config);
      return 0;
    }
    // glibc makes at most 8 malloc arenas per core, so the handler threads
    // would share a few and a buy's allocations queue on arena locks. An
    // arena costs address space until a thread allocates in it.
    mallopt(M_ARENA_MAX, config.http.handler_threads + config.http.io_threads + 16);
    flashsale::StderrLogger& log = flashsale::stderr_logger();
    log.configure(config.log_format, config.log_level);
    bool api = config.role_api;
    std::string host = config.http_host.empty() ? "0.0.0.0" : config.http_host;
    flashsale::Server server(std::move(config));
    server.start();
    if (api)
      std::cout << "flashsale listening on http://" << host << ":" << server.port() << std::endl;
    else
      std::cout << "flashsale running (no api role)" << std::endl;

    int signal = 0;
    sigwait(&stop_signals, &signal);
    log.log(flashsale::LogLevel::info, "server", std::string(strsignal(signal)) + ", draining");
    server.stop();
    log.log(flashsale::LogLevel::info, "server", "stopped");
    return 0;
  } catch (const flashsale::StartupError& e) {
    std::cerr << "flashsale-server: " << e.what() << std::endl;
    return 2;
  }
}
