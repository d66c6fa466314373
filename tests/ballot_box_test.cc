#include <catch2/catch.hpp>

#include "ballot_box.h"

using namespace raft;

namespace {

PeerId peer(int n) { return PeerId("127.0.0.1", static_cast<uint16_t>(9000 + n)); }

}  // namespace

TEST_CASE("ballot box commits what a majority stores", "[ballot_box]") {
  BallotBox box;
  box.reset(ConfigurationEntry{Configuration({peer(1), peer(2), peer(3)}), {}}, LogIndex(1));
  CHECK_FALSE(box.update(peer(1), LogIndex(3)));  // 1 of 3
  CHECK(box.update(peer(2), LogIndex(2)));        // 2 of 3 store index 2
  CHECK(box.commit_index() == LogIndex(2));
  CHECK(box.update(peer(3), LogIndex(3)));
  CHECK(box.commit_index() == LogIndex(3));
}

TEST_CASE("ballot box commits only entries of the current term by counting (Raft 5.4.2)",
          "[ballot_box]") {
  BallotBox box;
  // The leader's term starts at index 5: entries 1..4 are from earlier terms.
  box.reset(ConfigurationEntry{Configuration({peer(1), peer(2), peer(3)}), {}}, LogIndex(5));
  CHECK_FALSE(box.update(peer(1), LogIndex(4)));
  CHECK_FALSE(box.update(peer(2), LogIndex(4)));
  CHECK(box.commit_index() == LogIndex(0));  // a majority holds 4, but 4 is not of this term
  CHECK_FALSE(box.update(peer(1), LogIndex(5)));
  CHECK(box.update(peer(2), LogIndex(5)));
  CHECK(box.commit_index() == LogIndex(5));  // and 1..4 commit with it
}

TEST_CASE("ballot box ignores stale reports and unknown peers", "[ballot_box]") {
  BallotBox box;
  box.reset(ConfigurationEntry{Configuration({peer(1), peer(2), peer(3), peer(4), peer(5)}), {}},
            LogIndex(1));
  box.update(peer(1), LogIndex(10));
  box.update(peer(2), LogIndex(10));
  CHECK_FALSE(box.update(peer(9), LogIndex(10)));  // not a voter
  CHECK(box.commit_index() == LogIndex(0));
  CHECK(box.update(peer(3), LogIndex(10)));
  CHECK(box.commit_index() == LogIndex(10));
  // A reordered, older report neither lowers the peer's match nor the commit index.
  CHECK_FALSE(box.update(peer(3), LogIndex(4)));
  CHECK(box.commit_index() == LogIndex(10));
  box.update(peer(4), LogIndex(12));
  // Peers 4 and 5 hold 12, peers 1 to 3 hold 10: a majority holds only 10.
  CHECK_FALSE(box.update(peer(5), LogIndex(12)));
  CHECK(box.commit_index() == LogIndex(10));
}

TEST_CASE("ballot box: followers learn the commit index, which never goes back", "[ballot_box]") {
  BallotBox box;
  CHECK(box.advance_to(LogIndex(7)));
  CHECK_FALSE(box.advance_to(LogIndex(5)));
  CHECK(box.commit_index() == LogIndex(7));
  CHECK_FALSE(box.counting());
  CHECK_FALSE(box.update(peer(1), LogIndex(100)));  // not counting: not the leader
}

TEST_CASE("ballot box in a joint configuration needs both majorities (Raft 6)", "[ballot_box]") {
  BallotBox box;
  // C_old = {1,2,3}, C_new = {3,4,5}.
  box.reset(ConfigurationEntry{Configuration({peer(3), peer(4), peer(5)}),
                               Configuration({peer(1), peer(2), peer(3)})},
            LogIndex(1));
  CHECK_FALSE(box.update(peer(1), LogIndex(7)));
  CHECK_FALSE(box.update(peer(2), LogIndex(7)));  // C_old has a majority, C_new has none
  CHECK(box.commit_index() == LogIndex(0));
  CHECK_FALSE(box.update(peer(4), LogIndex(7)));  // C_new: 4 only
  CHECK(box.update(peer(5), LogIndex(6)));        // C_new: 4 and 5 hold 6
  CHECK(box.commit_index() == LogIndex(6));
  // Once C_new alone counts, the old voters are no longer needed.
  box.set_configuration(ConfigurationEntry{Configuration({peer(3), peer(4), peer(5)}), {}});
  CHECK(box.update(peer(5), LogIndex(9)));
  CHECK_FALSE(box.update(peer(1), LogIndex(20)));  // not a voter any more: ignored
  CHECK(box.commit_index() == LogIndex(7));        // 4 holds 7, 5 holds 9
}

TEST_CASE("ballot box never counts learners", "[ballot_box]") {
  BallotBox box;
  box.reset(ConfigurationEntry{Configuration({peer(1), peer(2), peer(3)}, {peer(4), peer(5)}), {}},
            LogIndex(1));
  CHECK_FALSE(box.update(peer(1), LogIndex(5)));
  CHECK_FALSE(box.update(peer(4), LogIndex(5)));
  CHECK_FALSE(box.update(peer(5), LogIndex(5)));
  CHECK(box.commit_index() == LogIndex(0));
  CHECK(box.update(peer(2), LogIndex(5)));
  CHECK(box.commit_index() == LogIndex(5));
}
