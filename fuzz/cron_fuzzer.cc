// CronSchedule::Parse on any text, and Next() on what it accepts: no exception, no crash, and a
// next run (when there is one) strictly later and on a minute.
#include <chrono>
#include <cstdint>
#include <string>

#include "scheduler/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto schedule = dblab::CronSchedule::Parse(text);
  if (!schedule.ok()) return 0;
  auto after = std::chrono::system_clock::time_point(std::chrono::seconds(1795000000));
  auto next = schedule->Next(after);
  if (next && (*next <= after || next->time_since_epoch() % std::chrono::minutes(1) !=
                                     std::chrono::system_clock::duration::zero())) {
    __builtin_trap();
  }
  return 0;
}
