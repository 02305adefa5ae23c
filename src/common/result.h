// Result<T>: the one error type of dblab. Every fallible call returns a Result; errors carry a
// code (mapped to HTTP status in api/ and to exit codes in cli/) and a message that says what
// failed, on what, and what to do.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace dblab {

enum class ErrorCode {
  kBadRequest,       // the caller's input is invalid (400)
  kUnauthorized,     // missing or wrong token (401)
  kNotFound,         // the named thing does not exist (404)
  kConflict,         // valid request, but the current state forbids it (409)
  kTooLarge,         // request body or value over a limit (413)
  kTooManyRequests,  // the caller must wait: too many wrong tokens from its address (429)
  kUnavailable,      // not ready yet / temporarily impossible (503)
  kInternal,         // the environment failed: disk, process, postgres (500)
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Prefixes context: Error{..., "no space"}.Wrap("create clone x") -> "create clone x: no space".
  Error Wrap(const std::string& context) const { return Error{code, context + ": " + message}; }
};

inline Error BadRequest(std::string m) { return Error{ErrorCode::kBadRequest, std::move(m)}; }
inline Error NotFound(std::string m) { return Error{ErrorCode::kNotFound, std::move(m)}; }
inline Error Conflict(std::string m) { return Error{ErrorCode::kConflict, std::move(m)}; }
inline Error Internal(std::string m) { return Error{ErrorCode::kInternal, std::move(m)}; }
inline Error Unavailable(std::string m) { return Error{ErrorCode::kUnavailable, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : data_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(data_); }

 private:
  std::variant<T, Error> data_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace dblab

// Propagates an error from an expression returning Result/Status (a named one is not copied).
#define DBLAB_TRY(expr)                                            \
  do {                                                             \
    const auto& dblab_try_result_ = (expr);                        \
    if (!dblab_try_result_.ok()) return dblab_try_result_.error(); \
  } while (0)

#define DBLAB_CONCAT_INNER(a, b) a##b
#define DBLAB_CONCAT(a, b) DBLAB_CONCAT_INNER(a, b)
// Declares `lhs` from a Result expression, or returns its error.
// NOLINTBEGIN(bugprone-macro-parentheses): lhs declares (`auto x`), which parentheses would break
#define DBLAB_ASSIGN_OR_RETURN(lhs, expr)                 \
  auto DBLAB_CONCAT(dblab_result_, __LINE__) = (expr);    \
  if (!DBLAB_CONCAT(dblab_result_, __LINE__).ok())        \
    return DBLAB_CONCAT(dblab_result_, __LINE__).error(); \
  lhs = std::move(DBLAB_CONCAT(dblab_result_, __LINE__)).value()
// NOLINTEND(bugprone-macro-parentheses)
