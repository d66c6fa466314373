// NodeImpl, leadership transfer (Raft thesis §3.10).
#include "node_impl.h"

namespace raft {

void NodeImpl::transfer_leadership_to(const PeerId& peer, std::unique_ptr<Closure> done) {
  (void)peer;
  run_closure(std::move(done), Status::Busy("leadership transfer is not built yet"));
}

}  // namespace raft
