// Character checks shared by the config reader, the server.yml sections and ParseByteSize
// (internal to src/config). The classes are plain ASCII ranges, not <cctype>'s locale.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace dblab {

inline bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlnum(char c) { return IsDigit(c) || IsLowerAlpha(c) || (c >= 'A' && c <= 'Z'); }

// A newline, carriage return or NUL: text that would break a line of postgresql.conf or argv.
inline bool HasControlBreak(const std::string& text) {
  return text.find_first_of(std::string("\n\r\0", 3)) != std::string::npos;
}

// std::tolower on each byte.
inline std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace dblab
