// The last line of dblab's error policy (docs/errors.md): no exception may leave a thread's
// function, because std::terminate would take the engine and every request with it. Code
// returns Result<T>; this catches what slipped through anyway (a library that throws, a bug),
// logs it naming `what`, and reports failure so the caller can mark its work failed.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string_view>

namespace dblab {

template <typename Work>
bool RunCatchingExceptions(std::string_view what, Work&& work) noexcept {
  try {
    work();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected exception (a bug, please report it): {}", what, e.what());
  } catch (...) {
    spdlog::error("{}: unexpected non-standard exception (a bug, please report it)", what);
  }
  return false;
}

}  // namespace dblab
