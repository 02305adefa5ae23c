// dblab: the command-line client of dblab-engine (DLE-compatible). The command table lives in
// cli/cli_app.cc.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_app.h"

int main(int argc, char** argv) {
  const dblab::CliIo io{
      std::cout, std::cerr, [](const char* name) { return std::getenv(name); },
      [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); }};
  return dblab::RunCli(std::vector<std::string>(argv + 1, argv + argc), io);
}
