// The check of one webhook hook (DLE's `webhooks.hooks[]`), shared by the config loader, POST
// /admin/config and the sender, so a hook is read by the same rules everywhere.
#pragma once

#include <string>

#include "common/result.h"
#include "domain/ops_types.h"

namespace dblab {

// An http(s) URL with a host, and only the triggers dblab sends. kBadRequest naming `path`
// (e.g. "webhooks.hooks[0].url").
Status ValidateWebhookHook(const WebhookHook& hook, const std::string& path);

}  // namespace dblab
