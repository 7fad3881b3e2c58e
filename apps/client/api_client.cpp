#include "api_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

namespace flashsale::client {

std::string HttpReply::str(const std::string& key) const {
  return json && json->has(key) && !json->isNull(key) ? json->getValue<std::string>(key) : std::string();
}

long long HttpReply::num(const std::string& key) const {
  return json && json->has(key) && !json->isNull(key) ? json->getValue<long long>(key) : -1;
}

std::string HttpReply::error_code() const {
  if (!json || !json->has("error")) return {};
  return json->getObject("error")->getValue<std::string>("code");
}

HttpClient::HttpClient(const std::string& host, int port)
    : session_(std::make_unique<Poco::Net::HTTPClientSession>(host, static_cast<Poco::UInt16>(port))) {
  session_->setKeepAlive(true);
  session_->setTimeout(Poco::Timespan(30, 0));
}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::get(const std::string& path, const std::map<std::string, std::string>& headers) {
  return request("GET", path, "", headers);
}

HttpReply HttpClient::post(const std::string& path, const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  return request("POST", path, body, headers);
}

HttpReply HttpClient::request(const std::string& method, const std::string& path, const std::string& body,
                              const std::map<std::string, std::string>& headers) {
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  for (const auto& [k, v] : headers) request.set(k, v);
  if (method == "POST") {
    request.setContentType("application/json");
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  session_->sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session_->receiveResponse(response);
  HttpReply reply;
  reply.status = response.getStatus();
  Poco::StreamCopier::copyToString(in, reply.body);
  try {
    auto parsed = Poco::JSON::Parser().parse(reply.body);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) reply.json = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
  }
  return reply;
}

}  // namespace flashsale::client
