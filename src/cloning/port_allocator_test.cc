// PortAllocator on a fake probe (a set of busy ports): the order ports are handed out in, what
// is skipped, and the error when the range is used up. One test binds a real loopback socket.
#include "cloning/port_allocator.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

namespace dblab {
namespace {

class PortAllocatorTest : public ::testing::Test {
 protected:
  PortAllocator Allocator(int from, int to) {
    return PortAllocator(from, to, [this](int port) {
      probed_.push_back(port);
      return busy_.count(port) == 0;
    });
  }

  std::set<int> busy_;  // ports other programs listen on
  std::vector<int> probed_;
};

TEST_F(PortAllocatorTest, TheLowestPortComesFirstAndFreedPortsAreReusedFirst) {
  auto ports = Allocator(6000, 6009);
  std::set<int> held;
  for (int expected : {6000, 6001, 6002}) {
    auto port = ports.Allocate(held, held.size());
    ASSERT_TRUE(port.ok()) << port.error().message;
    EXPECT_EQ(*port, expected);
    held.insert(*port);
  }
  // No wrap-around and no memory of the last port: a freed low port is the next one.
  held.erase(6001);
  auto again = ports.Allocate(held, held.size());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 6001);
}

TEST_F(PortAllocatorTest, PortsHeldByClonesAreNotProbedAndBusyPortsAreSkipped) {
  auto ports = Allocator(6000, 6009);
  busy_ = {6001, 6003};
  auto port = ports.Allocate({6000, 6002}, 2);
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_EQ(*port, 6004);
  EXPECT_EQ(probed_, (std::vector<int>{6001, 6003, 6004})) << "held ports cost no probe";
}

TEST_F(PortAllocatorTest, AnExhaustedRangeIsUnavailableWithAMessageNamingTheRange) {
  auto ports = Allocator(6000, 6002);
  busy_ = {6001};
  auto port = ports.Allocate({6000, 6002}, 2);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(port.error().message,
            "port pool 6000-6002 exhausted (2 clones, other ports in use by other programs); "
            "raise provision.portPool.to or destroy idle clones");
  EXPECT_EQ(probed_, std::vector<int>{6001});
}

TEST_F(PortAllocatorTest, ARangeOfOnePortAndAnEmptyRange) {
  auto one = Allocator(7000, 7000);
  ASSERT_TRUE(one.Allocate({}, 0).ok());
  EXPECT_EQ(*one.Allocate({}, 0), 7000);
  EXPECT_FALSE(one.Allocate({7000}, 1).ok());
  auto empty = Allocator(7001, 7000);  // "to" below "from": nothing to hand out
  auto port = empty.Allocate({}, 0);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().message.find("port pool 7001-7000 exhausted (0 clones"),
            std::string::npos);
}

TEST(ProbeAddressesTest, LoopbackAlwaysThenEachListedAddress) {
  EXPECT_EQ(ProbeAddresses(""), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(ProbeAddresses("localhost"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(ProbeAddresses("*"), (std::vector<std::string>{"127.0.0.1", "0.0.0.0"}));
  EXPECT_EQ(ProbeAddresses(" 10.0.0.5 , ::1,,localhost"),
            (std::vector<std::string>{"127.0.0.1", "10.0.0.5", "::1"}));
}

TEST(PortIsFreeTest, APortSomeoneListensOnOnLoopbackIsNotFree) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;  // the kernel picks a free one
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int port = ntohs(address.sin_port);
  EXPECT_FALSE(PortIsFree(port, ""));
  EXPECT_FALSE(PortIsFree(port, "localhost"));
  close(fd);
}

}  // namespace
}  // namespace dblab
