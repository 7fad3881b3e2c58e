// One flashsale process: the stages the config names, the services over them,
// the workers and the HTTP listener its roles ask for, and the order in which
// they start and stop.
#pragma once

#include <cstdint>
#include <memory>

#include "host/config.h"

namespace flashsale {

class Server {
 public:
  // Loads plugins and makes every stage; throws StartupError on any problem.
  explicit Server(Config config);
  ~Server();

  // Binds the listener (role api) and starts the workers (roles relay,
  // consumer). Throws StartupError if the address cannot be bound.
  void start();
  std::uint16_t port() const;  // the bound port (useful with http.addr port 0)

  // Graceful: stop accepting and finish in-flight requests, then drain the
  // relay and the consumer (bounded), then release the stages.
  void stop();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace flashsale
