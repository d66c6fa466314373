"""The driver's pure parts: the wire encoding and the nemesis schedule."""

import unittest

from pontoon_jepsen import nemesis, services, wire


class WireTest(unittest.TestCase):
    def test_integers_round_trip_through_their_protobuf_encodings(self):
        for value in (0, 1, -1, 63, -64, 2**31, -(2**31), 2**63 - 1, -(2**63)):
            fields = wire.decode_message(wire.field_sint64(1, value) + wire.field_varint(2, value))
            self.assertEqual(wire.get_sint64(fields, 1), value)
            self.assertEqual(wire.get_int64(fields, 2), value)

    def test_a_zero_field_is_omitted_as_proto3_does(self):
        self.assertEqual(wire.field_sint64(1, 0), b"")
        self.assertEqual(wire.field_bytes(1, b""), b"")

    def test_known_encodings(self):
        # sint64 -1 is zigzag 1; a key is length-delimited.
        self.assertEqual(wire.field_sint64(1, -1), b"\x08\x01")
        self.assertEqual(services.register_read("k1").body, b"\x0a\x02k1")

    def test_a_status_response_is_parsed(self):
        body = (wire.field_bytes(1, b"10.0.0.1:5") + wire.field_bytes(2, b"leader") +
                wire.field_varint(3, 7) + wire.field_bytes(4, b"10.0.0.1:5"))
        status = services.parse_status(body)
        self.assertEqual((status["role"], status["term"], status["leader"]),
                         ("leader", 7, "10.0.0.1:5"))


class NemesisTest(unittest.TestCase):
    def test_families_expand_and_unknown_names_are_refused(self):
        self.assertEqual(nemesis.parse_nemesis("kill", 3), nemesis.FAMILIES["kill"])
        self.assertNotIn("partition-ring", nemesis.parse_nemesis("partition", 3))
        self.assertIn("partition-ring", nemesis.parse_nemesis("all", 5))
        with self.assertRaisesRegex(ValueError, "unknown nemesis 'frobnicate'"):
            nemesis.parse_nemesis("kill,frobnicate", 3)
        with self.assertRaisesRegex(ValueError, "needs 5 nodes"):
            nemesis.parse_nemesis("partition-ring", 3)

    def test_the_same_seed_gives_the_same_schedule_within_the_time_limit(self):
        faults = nemesis.parse_nemesis("all", 5)
        first = nemesis.schedule(faults, 5, 42, 120)
        self.assertEqual(first, nemesis.schedule(faults, 5, 42, 120))
        self.assertNotEqual(first, nemesis.schedule(faults, 5, 43, 120))
        self.assertGreater(len(first), 5)
        for earlier, later in zip(first, first[1:]):
            self.assertLess(earlier.start_s + earlier.hold_s, later.start_s)  # One at a time.
        self.assertLessEqual(first[-1].start_s + first[-1].hold_s, 118)

    def test_a_ring_leaves_each_node_its_two_neighbours(self):
        ring = nemesis.Fault("partition-ring", 0, 1, [3, 1, 4, 5, 2],
                             [[1, 3], [1, 4], [4, 5], [2, 5], [2, 3]])
        cut = nemesis.blocked_pairs(ring, 5)
        for node in range(1, 6):
            reachable = [p for p in [(a, b) for a in range(1, 6) for b in range(a + 1, 6)]
                         if node in p and p not in cut]
            self.assertEqual(len(reachable), 2)

    def test_isolating_a_minority_cuts_exactly_the_pairs_across(self):
        halves = nemesis.Fault("partition-halves", 0, 1, [1, 2])
        self.assertEqual(sorted(nemesis.blocked_pairs(halves, 5)),
                         [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5)])


if __name__ == "__main__":
    unittest.main()
