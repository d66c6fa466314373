#include <catch2/catch.hpp>

#include "ballot_box.h"

using namespace raft;

namespace {

PeerId peer(int n) { return PeerId("127.0.0.1", static_cast<uint16_t>(9000 + n)); }

}  // namespace

TEST_CASE("ballot box commits what a majority stores", "[ballot_box]") {
  BallotBox box;
  box.reset(Configuration({peer(1), peer(2), peer(3)}), LogIndex(1));
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
  box.reset(Configuration({peer(1), peer(2), peer(3)}), LogIndex(5));
  CHECK_FALSE(box.update(peer(1), LogIndex(4)));
  CHECK_FALSE(box.update(peer(2), LogIndex(4)));
  CHECK(box.commit_index() == LogIndex(0));  // a majority holds 4, but 4 is not of this term
  CHECK_FALSE(box.update(peer(1), LogIndex(5)));
  CHECK(box.update(peer(2), LogIndex(5)));
  CHECK(box.commit_index() == LogIndex(5));  // and 1..4 commit with it
}

TEST_CASE("ballot box ignores stale reports and unknown peers", "[ballot_box]") {
  BallotBox box;
  box.reset(Configuration({peer(1), peer(2), peer(3), peer(4), peer(5)}), LogIndex(1));
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
