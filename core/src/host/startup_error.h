// A problem found while starting: bad config, a plugin that will not load.
// Its message is one line that names the config key or the file; main prints
// it and exits. Only host code throws it; it never crosses a plugin boundary.
#pragma once

#include <stdexcept>

namespace flashsale {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace flashsale
