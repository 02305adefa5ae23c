#include "scheduler/cron.h"

#include <charconv>
#include <ctime>
#include <sstream>
#include <vector>

namespace dblab {

namespace {

// A field value: 1-2 decimal digits for numbers, up to 9 for steps (so "*/99999999999" is a
// range error, never an overflow). nullopt for anything else.
std::optional<int> ParseNumber(const std::string& text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Parses one field into `bits` (indexes min..max). Returns false on any syntax or range error.
template <size_t N>
bool ParseField(const std::string& field, int min, int max, std::bitset<N>& bits) {
  std::stringstream items(field);
  std::string item;
  bool any = false;
  while (std::getline(items, item, ',')) {
    any = true;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      std::optional<int> parsed_step = ParseNumber(item.substr(slash + 1), 9);
      if (!parsed_step || *parsed_step <= 0 || *parsed_step > max) return false;
      step = *parsed_step;
      item = item.substr(0, slash);
    }
    int from = min, to = max;
    if (item != "*") {
      auto dash = item.find('-');
      std::string first = item.substr(0, dash);
      std::string last = dash == std::string::npos ? first : item.substr(dash + 1);
      std::optional<int> parsed_from = ParseNumber(first, 2), parsed_to = ParseNumber(last, 2);
      if (!parsed_from || !parsed_to) return false;
      from = *parsed_from;
      to = *parsed_to;
      if (dash == std::string::npos && step > 1) to = max;  // "5/15" = from 5, every 15
    }
    if (from < min || to > max || from > to) return false;
    for (int value = from; value <= to; value += step) bits.set(static_cast<size_t>(value));
  }
  return any;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& timetable) {
  std::stringstream stream(timetable);
  std::vector<std::string> fields;
  std::string field;
  while (stream >> field) fields.push_back(field);
  if (fields.size() != 5) {
    return BadRequest("timetable \"" + timetable +
                      "\" must have 5 fields: minute hour day-of-month month day-of-week");
  }
  CronSchedule schedule;
  std::bitset<8> weekdays;
  const char* names[] = {"minute", "hour", "day-of-month", "month", "day-of-week"};
  bool ok[] = {
      ParseField(fields[0], 0, 59, schedule.minutes_),
      ParseField(fields[1], 0, 23, schedule.hours_), ParseField(fields[2], 1, 31, schedule.days_),
      ParseField(fields[3], 1, 12, schedule.months_), ParseField(fields[4], 0, 7, weekdays)};
  for (int i = 0; i < 5; ++i) {
    if (!ok[i]) {
      return BadRequest("timetable \"" + timetable + "\": invalid " + names[i] + " field \"" +
                        fields[i] + "\"");
    }
  }
  for (size_t day = 0; day < 7; ++day) schedule.weekdays_[day] = weekdays[day];
  if (weekdays[7]) schedule.weekdays_.set(0);
  schedule.days_restricted_ = fields[2] != "*";
  schedule.weekdays_restricted_ = fields[4] != "*";
  return schedule;
}

std::optional<std::chrono::system_clock::time_point> CronSchedule::Next(
    std::chrono::system_clock::time_point after) const {
  using namespace std::chrono;
  auto minute = time_point_cast<minutes>(after) + minutes(1);
  auto limit = minute + hours(24 * 366 * 5);
  while (minute < limit) {
    std::time_t seconds = system_clock::to_time_t(minute);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    if (!months_[static_cast<size_t>(utc.tm_mon) + 1]) {
      // Skip to the first minute of the next month.
      utc.tm_mon += 1;
      utc.tm_mday = 1;
      utc.tm_hour = 0;
      utc.tm_min = 0;
      utc.tm_sec = 0;
      minute = time_point_cast<minutes>(system_clock::from_time_t(timegm(&utc)));
      continue;
    }
    bool day_ok = days_[static_cast<size_t>(utc.tm_mday)];
    bool weekday_ok = weekdays_[static_cast<size_t>(utc.tm_wday)];
    bool day_matches = (days_restricted_ && weekdays_restricted_) ? (day_ok || weekday_ok)
                                                                  : (day_ok && weekday_ok);
    if (!day_matches) {
      minute += minutes(24 * 60 - utc.tm_hour * 60 - utc.tm_min);
      continue;
    }
    if (!hours_[static_cast<size_t>(utc.tm_hour)]) {
      minute += minutes(60 - utc.tm_min);
      continue;
    }
    if (minutes_[static_cast<size_t>(utc.tm_min)]) return minute;
    minute += minutes(1);
  }
  return std::nullopt;
}

}  // namespace dblab
