// Every error the API returns goes through here: one HTTP status and one
// error code per outcome, and the body {"error": {"code", "message"}}.
#pragma once

#include <string>

#include "flashsale/status.h"

namespace flashsale {

struct HttpError {
  int http_status;
  const char* code;
};

HttpError http_error_for(Code code) noexcept;

std::string error_body(const char* code, const std::string& message);

}  // namespace flashsale
