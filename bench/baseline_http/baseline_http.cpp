// flashsale-baseline-http: the framework ceiling for the buy endpoint. A
// Poco HTTPServer set up exactly as the flashsale server sets up its own
// (same thread pool size, queue, keep-alive) that reads each POST body and
// answers 202 with a fixed body the size of a real buy answer. Whatever the
// buy endpoint does beyond this is the cost of flashsale itself.
//
// usage: flashsale-baseline-http [--addr HOST:PORT] [--threads N]
// Prints "baseline listening on http://HOST:PORT" first; stops on SIGTERM/SIGINT.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

namespace {

const std::string kBody = R"({"request_id":"0b4f3c1e-6a0d-4b5e-9a57-3f1c2d4e5f60","status":"pending"})";

class FixedAnswer : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    bool post = request.getMethod() == Poco::Net::HTTPRequest::HTTP_POST;
    response.setStatus(post ? Poco::Net::HTTPResponse::HTTP_ACCEPTED
                            : Poco::Net::HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(kBody.size()));
    response.send() << kBody;
  }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new FixedAnswer;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:0";
  int threads = 128;  // http.threads default of the flashsale server
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--addr") == 0) addr = argv[i + 1];
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::stoi(argv[i + 1]);
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts, so all inherit it

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(addr), true);
  socket.listen(1024);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(4096);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  Poco::ThreadPool pool(2, threads);
  Poco::Net::HTTPServer server(new Factory, pool, socket, params);
  server.start();
  std::cout << "baseline listening on http://" << socket.address().toString() << std::endl;

  int signal = 0;
  sigwait(&stop, &signal);
  server.stopAll(false);
  pool.joinAll();
  return 0;
}
