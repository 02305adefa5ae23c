// A 5-field cron timetable ("minute hour day-of-month month day-of-week"), as DLE's
// retrieval.refresh.timetable. Supports *, numbers, ranges (1-5), lists (1,3), steps (*/15,
// 0-30/10); day of week 0-7 (0 and 7 are Sunday). When both day fields are restricted, a day
// matching either runs (classic cron). Times are UTC. Immutable after parsing; thread-safe.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"

namespace dblab {

class CronSchedule {
 public:
  // kBadRequest naming the field for anything else.
  static Result<CronSchedule> Parse(const std::string& timetable);

  // The first matching minute strictly after `after`; nullopt if none within 5 years.
  std::optional<std::chrono::system_clock::time_point> Next(
      std::chrono::system_clock::time_point after) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31
  std::bitset<13> months_;   // 1-12
  std::bitset<7> weekdays_;  // 0-6, Sunday = 0
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

}  // namespace dblab
