// The port of a new clone server: the lowest port of the pool range (provision.portPool) that
// no clone holds and nothing on the host listens on. Whether the host has the port free is a
// seam (a bind probe in production, a set of busy ports in tests).
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

class PortAllocator {
 public:
  // True when a server could listen on `port` now.
  using Probe = std::function<bool(int port)>;

  // The range is [from, to], both included. `is_free` must be callable.
  PortAllocator(int from, int to, Probe is_free);

  // The lowest port of the range not in `held` (the ports of clones and warm clones) that the
  // probe finds free; the caller records it as held. No wrap-around: the search starts at
  // `from` each time, so freed ports are reused first. kUnavailable naming the range and
  // `clones` (the clones now) when every port is held or busy. Probes each candidate once.
  // Not synchronized: the caller serializes calls and owns `held`.
  Result<int> Allocate(const std::set<int>& held, size_t clones) const;

 private:
  int from_;
  int to_;
  Probe is_free_;
};

// The addresses a clone's server binds for `listen_addresses` (postgres' comma list): always
// 127.0.0.1, then each listed address; "*" is 0.0.0.0 and "localhost" is 127.0.0.1 already.
std::vector<std::string> ProbeAddresses(const std::string& listen_addresses);

// The production probe: true when `port` can be bound (SO_REUSEADDR) on every address of
// ProbeAddresses(listen_addresses). False when a socket cannot even be made.
bool PortIsFree(int port, const std::string& listen_addresses);

}  // namespace dblab
