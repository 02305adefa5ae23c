#include "cloning/port_allocator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <utility>

namespace dblab {

PortAllocator::PortAllocator(int from, int to, Probe is_free)
    : from_(from), to_(to), is_free_(std::move(is_free)) {}

Result<int> PortAllocator::Allocate(const std::set<int>& held, size_t clones) const {
  for (int port = from_; port <= to_; ++port) {
    if (held.count(port)) continue;
    if (is_free_(port)) return port;
  }
  return Unavailable("port pool " + std::to_string(from_) + "-" + std::to_string(to_) +
                     " exhausted (" + std::to_string(clones) +
                     " clones, other ports in use by other programs); raise "
                     "provision.portPool.to or destroy idle clones");
}

std::vector<std::string> ProbeAddresses(const std::string& listen_addresses) {
  std::vector<std::string> addresses = {"127.0.0.1"};
  std::stringstream list(listen_addresses);
  std::string address;
  while (std::getline(list, address, ',')) {
    address.erase(std::remove(address.begin(), address.end(), ' '), address.end());
    if (!address.empty() && address != "*" && address != "localhost") addresses.push_back(address);
    if (address == "*") addresses.push_back("0.0.0.0");
  }
  return addresses;
}

bool PortIsFree(int port, const std::string& listen_addresses) {
  for (const auto& addr : ProbeAddresses(listen_addresses)) {
    bool v6 = addr.find(':') != std::string::npos;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (v6) {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET6, addr.c_str(), &sa.sin6_addr);
      rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
      rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    close(fd);
    if (rc != 0) return false;
  }
  return true;
}

}  // namespace dblab
