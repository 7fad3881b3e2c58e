// Tests speak to the server with the same client as the load test.
#pragma once

#include "api_client.h"

namespace flashsale::test {
using client::HttpClient;
using client::HttpReply;
}  // namespace flashsale::test
