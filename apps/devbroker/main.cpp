// flashsale-devbroker: a Kafka-protocol broker on loopback for local runs and
// tests (librdkafka's mock cluster). Prints the bootstrap address as its first
// line and serves until SIGINT/SIGTERM. Data lives in memory only.
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "dev_broker.h"

int main(int argc, char** argv) {
  int brokers = 1, partitions = 4;
  std::string topic = "flash-sale-orders";
  if (const char* env = std::getenv("KAFKA_TOPIC")) topic = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "flashsale-devbroker: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--brokers")
      brokers = std::atoi(value().c_str());
    else if (arg == "--partitions")
      partitions = std::atoi(value().c_str());
    else if (arg == "--topic")
      topic = value();
    else {
      std::cerr << "usage: flashsale-devbroker [--brokers N] [--partitions N] [--topic NAME]\n";
      return 2;
    }
  }
  if (brokers < 1 || partitions < 1) {
    std::cerr << "flashsale-devbroker: --brokers and --partitions must be at least 1\n";
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  try {
    flashsale::DevBroker broker(brokers, topic, partitions);
    std::cout << broker.bootstrap() << std::endl;
    std::cerr << "flashsale-devbroker: topic " << topic << " with " << partitions << " partitions on " << brokers
              << " broker(s); in memory only" << std::endl;
    int signal = 0;
    sigwait(&stop, &signal);
  } catch (const std::exception& e) {
    std::cerr << "flashsale-devbroker: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
