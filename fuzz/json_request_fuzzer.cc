// The JSON body parsers of the API (create, reset, update a clone) on any bytes: a request or
// one kBadRequest/kTooLarge error, never an exception.
#include <cstdint>
#include <string_view>

#include "api/json_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto request = dblab::ParseCreateCloneRequest(body);
      if (!request.ok() && request.error().message.empty()) __builtin_trap();
      break;
    }
    case 1: {
      auto request = dblab::ParseResetCloneRequest(body);
      if (!request.ok() && request.error().message.empty()) __builtin_trap();
      break;
    }
    default: {
      auto request = dblab::ParseUpdateCloneRequest(body);
      if (!request.ok() && request.error().message.empty()) __builtin_trap();
      break;
    }
  }
  // The connection string shown for any database name must stay one libpq value.
  std::string quoted = dblab::QuoteConninfoValue(body);
  if (quoted.empty()) __builtin_trap();
  return 0;
}
