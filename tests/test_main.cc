#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

#include "raft/logging.h"

int main(int argc, char* argv[]) {
  // Tests log warnings and errors only, unless PONTOON_LOG_LEVEL asks for more.
  if (std::getenv("PONTOON_LOG_LEVEL") == nullptr) raft::set_log_level(raft::LogLevel::kWarn);
  return Catch::Session().run(argc, argv);
}
