// A keep-alive HTTP/1.1 client of the flashsale API (one per thread),
// returning the status and the parsed JSON body. Used by the load test and by
// the end-to-end tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <Poco/JSON/Object.h>

namespace Poco::Net {
class HTTPClientSession;
}

namespace flashsale::client {

struct HttpReply {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json;  // null when the body is not a JSON object

  std::string str(const std::string& key) const;
  long long num(const std::string& key) const;
  std::string error_code() const;  // body.error.code
};

class HttpClient {
 public:
  HttpClient(const std::string& host, int port);
  explicit HttpClient(int port) : HttpClient("127.0.0.1", port) {}
  ~HttpClient();
  HttpReply get(const std::string& path, const std::map<std::string, std::string>& headers = {});
  HttpReply post(const std::string& path, const std::string& body,
                 const std::map<std::string, std::string>& headers = {});
  HttpReply request(const std::string& method, const std::string& path, const std::string& body,
                    const std::map<std::string, std::string>& headers);

 private:
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

}  // namespace flashsale::client
