#include "config/webhook_hook.h"

#include <algorithm>
#include <iterator>

namespace dblab {
namespace {

constexpr const char* kKnownTriggers[] = {"clone_create", "clone_reset", "clone_delete"};

}  // namespace

Status ValidateWebhookHook(const WebhookHook& hook, const std::string& path) {
  const std::string& url = hook.url;
  size_t scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  std::string host =
      scheme_end == std::string::npos
          ? ""
          : url.substr(scheme_end + 3, url.find('/', scheme_end + 3) - scheme_end - 3);
  if ((scheme != "http" && scheme != "https") || host.empty()) {
    return BadRequest(path + ".url: \"" + url + "\" is not an http:// or https:// URL with a host");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ') {
      return BadRequest(path + ".url: spaces and control characters are not allowed");
    }
  }
  if (hook.triggers.empty()) {
    return BadRequest(path +
                      ".trigger: list at least one of clone_create, clone_reset, "
                      "clone_delete");
  }
  for (const auto& trigger : hook.triggers) {
    if (std::find(std::begin(kKnownTriggers), std::end(kKnownTriggers), trigger) ==
        std::end(kKnownTriggers)) {
      return BadRequest(path + ".trigger: \"" + trigger +
                        "\" is not sent by dblab; use clone_create, clone_reset or clone_delete");
    }
  }
  for (char c : hook.secret) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return BadRequest(path + ".secret: line breaks are not allowed in a header value");
    }
  }
  return OkStatus();
}

}  // namespace dblab
