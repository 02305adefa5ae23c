// The config loader on any YAML text. It must return a config or one error, never throw or
// crash; and every timetable it accepts must parse with the scheduler's own parser (issue 9:
// a timetable that passed the check used to abort the engine at start).
#include <spdlog/spdlog.h>

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "scheduler/cron.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // ignored-key warnings would flood the output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "DBLAB_VERIFICATION_TOKEN") return "fuzz-token";
    return std::nullopt;
  };
  auto config = dblab::ParseConfig(text, "<fuzz>", env);
  if (!config.ok()) {
    if (config.error().message.empty()) __builtin_trap();
    return 0;
  }
  for (const std::string* timetable : {&config->retrieval.refresh_timetable,
                                       &config->retrieval.physical_snapshot.snapshot_timetable}) {
    if (!timetable->empty() && !dblab::CronSchedule::Parse(*timetable).ok()) __builtin_trap();
  }
  return 0;
}
