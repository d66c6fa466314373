// RateScaledRuntime: a Runtime whose time runs `rate` times as fast as its inner runtime's.
//
// A TEST HOOK for clock drift (docs/reads.md, docs/jepsen.md): a node given one sees its clock
// advance `rate` seconds per real second, and its timers fire accordingly (post_after(d) waits
// d / rate of inner time), exactly as on a machine whose oscillator runs fast (rate > 1) or
// slow (rate < 1). Lanes are the inner runtime's. Thread-safety: as the inner runtime.
#pragma once

#include <memory>
#include <string_view>

#include "raft/executor.h"

namespace raft {

class RateScaledRuntime final : public Runtime {
 public:
  // REQUIRES: inner != nullptr; rate > 0.
  RateScaledRuntime(std::shared_ptr<Runtime> inner, double rate);

  std::shared_ptr<Executor> make_executor(std::string_view name) override;
  std::shared_ptr<Executor> make_io_executor(std::string_view name) override;
  const Clock& clock() const override { return clock_; }
  double rate() const { return rate_; }

 private:
  class ScaledClock final : public Clock {
   public:
    ScaledClock(const Clock& inner, double rate);
    TimePoint now() const override;

   private:
    const Clock& inner_;
    const double rate_;
    const TimePoint origin_;
  };
  class ScaledExecutor;

  const std::shared_ptr<Runtime> inner_;
  const double rate_;
  ScaledClock clock_;
};

}  // namespace raft
