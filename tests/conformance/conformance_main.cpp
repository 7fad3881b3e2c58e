// flashsale-conformance's main: the suite as a tool a plugin author runs
// against their own .so (docs/plugin-guide.md):
//
//   flashsale-conformance --plugin PATH_OR_FAMILY [--stage S[,S...]]...
//                         [--set key=value]... [--plugin-dir DIR] [Catch2 options and test specs]
//
// The options become environment variables for the fixture
// (command_line_environment(), conformance.h): the plugin's family on the
// chosen stages, memory on every other, the plugin's path, and one variable
// per --set key. Then only the test cases tagged with a chosen stage run,
// intersected with any test spec given (e.g. '~[restart]'). Without these
// options it is the plain Catch2 runner ctest drives through the environment.
#define CATCH_CONFIG_RUNNER
#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "conformance.h"

extern char** environ;

namespace flashsale::conformance {
namespace {

constexpr const char* kUsage =
    "usage: flashsale-conformance --plugin PATH_OR_FAMILY [--stage STAGE[,STAGE...]]...\n"
    "                             [--set KEY=VALUE]... [--plugin-dir DIR] [Catch2 options] [test spec]\n"
    "\n"
    "Runs the conformance suite of the stages a plugin provides; every other stage runs on memory.\n"
    "  --plugin PATH_OR_FAMILY  a plugin file (its family is read from its descriptor), or a family\n"
    "                           found on the plugin search path\n"
    "  --stage STAGE            ratelimit, admit, outbox, relay, persist, notify (repeatable or a\n"
    "                           comma list; admit, outbox and notify go together). Default: the\n"
    "                           stages the plugin's descriptor declares\n"
    "  --set KEY=VALUE          a setting for the plugin (repeatable); {tmp} in VALUE stands for a\n"
    "                           fresh temp dir per test case, e.g. --set journal.path={tmp}/journal.log\n"
    "  --plugin-dir DIR         the plugin search path (default <exe dir>/../plugins), where the\n"
    "                           memory family is found\n"
    "A test spec narrows the run further: '~[restart]' skips the restart cases (for a family that\n"
    "keeps nothing across a restart). Exits non-zero when a test fails.\n"
    "Without --plugin or --stage the backends come from the environment (STAGE_PERSIST=...).\n"
    "\n"
    "Catch2 options:\n";

const std::vector<std::string> kStages = {"ratelimit", "admit", "outbox", "relay", "persist", "notify"};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string plugin;            // a path or a family
  std::set<std::string> stages;  // as given
  std::map<std::string, std::string> settings;
  std::string plugin_dir;
  std::vector<std::string> catch_args;  // argv[0] first
  bool help = false;
};

// "--name value" or "--name=value"; advances *i past what it took.
bool take(const std::string& name, int argc, char** argv, int* i, std::string* value) {
  std::string arg = argv[*i];
  if (arg.rfind(name + "=", 0) == 0) {
    *value = arg.substr(name.size() + 1);
    return true;
  }
  if (arg != name) return false;
  if (*i + 1 >= argc) throw UsageError(name + " needs a value");
  *value = argv[++*i];
  return true;
}

void add_stages(const std::string& list, std::set<std::string>* stages) {
  std::stringstream items(list);
  for (std::string stage; std::getline(items, stage, ',');) {
    if (stage.empty()) continue;
    if (std::find(kStages.begin(), kStages.end(), stage) == kStages.end()) {
      throw UsageError("--stage " + stage + ": not a stage (ratelimit, admit, outbox, relay, persist, notify)");
    }
    stages->insert(stage);
  }
}

Options parse(int argc, char** argv) {
  Options options;
  options.catch_args.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    std::string value, arg = argv[i];
    if (take("--plugin", argc, argv, &i, &value)) {
      options.plugin = value;
    } else if (take("--plugin-dir", argc, argv, &i, &value)) {
      options.plugin_dir = value;
    } else if (take("--stage", argc, argv, &i, &value)) {
      add_stages(value, &options.stages);
    } else if (take("--set", argc, argv, &i, &value)) {
      auto equals = value.find('=');
      if (equals == std::string::npos || equals == 0) throw UsageError("--set " + value + ": expected KEY=VALUE");
      options.settings[value.substr(0, equals)] = value.substr(equals + 1);
    } else {
      if (arg == "--help" || arg == "-h" || arg == "-?") options.help = true;
      options.catch_args.push_back(arg);
    }
  }
  return options;
}

bool is_path(const std::string& plugin) {
  return plugin.find('/') != std::string::npos ||
         (plugin.size() > 3 && plugin.compare(plugin.size() - 3, 3, ".so") == 0);
}

struct PluginFile {
  std::string family;
  std::string stages;  // as its descriptor declares them
};

// Reads the descriptor of a plugin file. The library stays loaded (the host
// loads it again, and keeps every plugin until exit anyway).
PluginFile read_plugin(const std::string& path) {
  if (!std::filesystem::exists(path)) throw UsageError("--plugin " + path + ": file not found");
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::string message = dlerror();
    if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);  // named once
    throw UsageError("--plugin " + path + ": cannot be loaded: " + message);
  }
  void* symbol = dlsym(library, "flashsale_plugin");
  if (symbol == nullptr) throw UsageError("--plugin " + path + ": exports no flashsale_plugin symbol");
  // FLASHSALE_PLUGIN exports a pointer to the descriptor (BOOST_DLL_ALIAS).
  const auto* descriptor = static_cast<const PluginDescriptor*>(*static_cast<const void* const*>(symbol));
  if (descriptor->abi_version != kPluginAbiVersion) {  // then nothing after the version can be trusted
    throw UsageError("--plugin " + path + ": ABI version " + std::to_string(descriptor->abi_version) +
                     ", this tool needs version " + std::to_string(kPluginAbiVersion) + " (rebuild the plugin)");
  }
  if (descriptor->family == nullptr || *descriptor->family == '\0') {
    throw UsageError("--plugin " + path + ": names no family in its descriptor");
  }
  return {descriptor->family, descriptor->stages != nullptr ? descriptor->stages : ""};
}

// The stages a family found on the search path declares.
std::string declared_stages(const std::string& family) {
  Config config = load_config("", environ, std::filesystem::canonical("/proc/self/exe").parent_path().string());
  auto dir = command_line_environment().find("PLUGIN_DIR");
  if (dir != command_line_environment().end()) config.plugin_dir = dir->second;
  for (const FoundPlugin& found : find_plugins(config)) {
    if (found.family == family && found.error.empty()) return found.stages;
  }
  throw UsageError("--plugin " + family + ": no plugin of that family on the search path " + config.plugin_dir +
                   " (give the plugin's path, or --plugin-dir)");
}

// Sets command_line_environment() from the options; returns the stages whose
// test cases run (empty: every test case, the backends chosen by the environment).
std::set<std::string> apply(Options options) {
  auto& variables = command_line_environment();
  if (!options.plugin_dir.empty()) variables["PLUGIN_DIR"] = std::filesystem::absolute(options.plugin_dir).string();
  std::string family = options.plugin;
  if (!options.plugin.empty()) {
    std::string declared;
    if (is_path(options.plugin)) {
      std::string path = std::filesystem::absolute(options.plugin).lexically_normal().string();
      PluginFile plugin = read_plugin(path);
      family = plugin.family;
      declared = plugin.stages;
      variables[Settings::env_name("plugin." + family + ".path")] = path;
    } else {
      declared = declared_stages(family);
    }
    if (options.stages.empty()) add_stages(declared, &options.stages);
    if (options.stages.empty()) {
      throw UsageError("--plugin " + options.plugin + ": declares no stages, name them with --stage");
    }
  }
  // One family holds admit, outbox and notify (the host refuses a split).
  for (const char* stage : {"admit", "outbox", "notify"}) {
    if (options.stages.count(stage) != 0) {
      options.stages.insert({"admit", "outbox", "notify"});
      break;
    }
  }
  if (!options.plugin.empty()) {
    for (const std::string& stage : kStages) {
      variables[Settings::env_name("stage." + stage)] = options.stages.count(stage) != 0 ? family : "memory";
    }
  }
  for (const auto& [key, value] : options.settings) variables[Settings::env_name(key)] = value;
  return options.stages;
}

// A test spec naming exactly this test case.
std::string spec_of(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '\\' || c == '"' || c == ',') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

bool has_tag(const Catch::TestCaseInfo& test, const std::set<std::string>& tags) {
  for (const std::string& tag : test.tags) {
    if (tags.count(Catch::toLower(tag)) != 0) return true;
  }
  return false;
}

// Narrows the session to the test cases tagged with one of `stages` that the
// command line's test spec (if any) selects; false if none is left.
bool select_stages(Catch::Session& session, const std::set<std::string>& stages) {
  const Catch::Config& config = session.config();
  std::vector<std::string> names;
  for (const Catch::TestCase& test : Catch::getAllTestCasesSorted(config)) {
    bool wanted = config.hasTestFilters() ? config.testSpec().matches(test) : !test.isHidden();
    if (wanted && has_tag(test, stages)) names.push_back(spec_of(test.name));
  }
  if (names.empty()) return false;
  if (!config.hasTestFilters()) {  // the tags say the same in fewer words
    names.clear();
    for (const std::string& stage : stages) names.push_back("[" + stage + "]");
  }
  Catch::ConfigData data = session.configData();
  data.testsOrTags.clear();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) data.testsOrTags.push_back(",");
    data.testsOrTags.push_back(names[i]);
  }
  session.useConfigData(data);
  return true;
}

bool only_lists(const Catch::ConfigData& data) {
  return data.listTests || data.listTestNamesOnly || data.listTags || data.listReporters;
}

}  // namespace
}  // namespace flashsale::conformance

int main(int argc, char** argv) {
  using namespace flashsale::conformance;
  Options options;
  std::set<std::string> stages;
  try {
    options = parse(argc, argv);
  } catch (const UsageError& error) {
    std::cerr << "flashsale-conformance: " << error.what() << " (try --help)\n";
    return 2;
  }
  try {
    if (!options.help) stages = apply(options);
  } catch (const std::exception& error) {  // a plugin that cannot be read, a bad setting
    std::cerr << "flashsale-conformance: " << error.what() << "\n";
    return 2;
  }
  if (options.help) std::cout << kUsage;

  Catch::Session session;
  std::vector<char*> catch_argv;
  for (std::string& arg : options.catch_args) catch_argv.push_back(arg.data());
  if (int status = session.applyCommandLine(static_cast<int>(catch_argv.size()), catch_argv.data()); status != 0) {
    return status;
  }
  if (options.help) return 0;
  if (!stages.empty() && !select_stages(session, stages)) {
    std::cerr << "flashsale-conformance: no test case of these stages matches the test spec\n";
    return 2;
  }
  // A plugin that cannot start says so once, in the host's words, instead of
  // failing every test case.
  if (!options.plugin.empty() && !only_lists(session.configData())) {
    try {
      Backends probe;
    } catch (const std::exception& error) {
      std::cerr << "flashsale-conformance: " << error.what() << "\n";
      return 2;
    }
  }
  return session.run();
}
