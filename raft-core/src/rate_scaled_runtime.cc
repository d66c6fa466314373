#include "raft/rate_scaled_runtime.h"

#include "raft/check.h"

namespace raft {

class RateScaledRuntime::ScaledExecutor final : public Executor {
 public:
  ScaledExecutor(std::shared_ptr<Executor> inner, double rate)
      : inner_(std::move(inner)), rate_(rate) {}
  void post(Task task) override { inner_->post(std::move(task)); }
  void post_after(Duration delay, Task task) override {
    inner_->post_after(
        std::chrono::duration_cast<Duration>(
            std::chrono::duration<double, std::nano>(static_cast<double>(delay.count()) / rate_)),
        std::move(task));
  }
  void shutdown() override { inner_->shutdown(); }

 private:
  const std::shared_ptr<Executor> inner_;
  const double rate_;
};

RateScaledRuntime::ScaledClock::ScaledClock(const Clock& inner, double rate)
    : inner_(inner), rate_(rate), origin_(inner.now()) {}

TimePoint RateScaledRuntime::ScaledClock::now() const {
  // Starts where the inner clock is and runs `rate` times as fast: monotonic, as required.
  const double elapsed = static_cast<double>((inner_.now() - origin_).count()) * rate_;
  return origin_ + Duration(static_cast<Duration::rep>(elapsed));
}

RateScaledRuntime::RateScaledRuntime(std::shared_ptr<Runtime> inner, double rate)
    : inner_(std::move(inner)), rate_(rate), clock_(inner_->clock(), rate) {
  PONTOON_CHECK(inner_ != nullptr);
  PONTOON_CHECK(rate > 0);
}

std::shared_ptr<Executor> RateScaledRuntime::make_executor(std::string_view name) {
  return std::make_shared<ScaledExecutor>(inner_->make_executor(name), rate_);
}

std::shared_ptr<Executor> RateScaledRuntime::make_io_executor(std::string_view name) {
  return std::make_shared<ScaledExecutor>(inner_->make_io_executor(name), rate_);
}

}  // namespace raft
