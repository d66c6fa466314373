"""membership.py: raft-cli's exit codes and the read-back after a failed or unknown change, and
the end-of-run check that the configuration is whole again."""

import time
import unittest

from pontoon_jepsen import membership
from pontoon_jepsen.membership import CliResult, Peers

A, B, C = "10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"


class ScriptedCli:
    """Answers raft-cli calls from a script: {command: [CliResult, ...]} consumed in order."""

    def __init__(self, script):
        self.script = {k: list(v) for k, v in script.items()}
        self.calls = []

    def __call__(self, argv, timeout_s):
        command = argv[1]
        self.calls.append(command)
        return self.script[command].pop(0)


def cli_for(script):
    runner = ScriptedCli(script)
    return membership.RaftCli("raft-cli", "g", f"{A},{B},{C}", runner=runner,
                              sleep=lambda s: None), runner


class PeersTest(unittest.TestCase):
    def test_list_peers_output_is_parsed_into_voters_and_learners(self):
        peers = Peers.parse(f"{A},{B},{C}/learner\n")
        self.assertEqual(peers.voters, {A, B})
        self.assertEqual(peers.learners, {C})
        self.assertEqual(peers.describe(), f"{A},{B},{C}/learner")
        self.assertEqual(Peers.parse(""), Peers(frozenset(), frozenset()))


class RaftCliTest(unittest.TestCase):
    def test_exit_0_is_done_without_reading_back(self):
        cli, runner = cli_for({"remove-peer": [CliResult(0, "remove-peer: OK (at x)")]})
        self.assertTrue(cli.remove_peer(A, time.monotonic() + 10))
        self.assertEqual(runner.calls, ["remove-peer"])

    def test_an_unknown_outcome_that_took_effect_is_not_sent_again(self):
        cli, runner = cli_for({"remove-peer": [CliResult(3, "OUTCOME UNKNOWN")],
                               "list-peers": [CliResult(0, f"{B},{C}")]})
        self.assertTrue(cli.remove_peer(A, time.monotonic() + 10))
        self.assertEqual(runner.calls, ["remove-peer", "list-peers"])

    def test_a_failed_change_is_retried_until_the_configuration_shows_it(self):
        cli, runner = cli_for({"add-peer": [CliResult(1, "EBUSY"), CliResult(3, "ETIMEDOUT"),
                                            CliResult(0, "add-peer: OK")],
                               "list-peers": [CliResult(0, f"{B},{C}"),
                                              CliResult(0, f"{B},{C},{A}/learner")]})
        self.assertTrue(cli.add_peer(A, time.monotonic() + 10))
        self.assertEqual(runner.calls,
                         ["add-peer", "list-peers", "add-peer", "list-peers", "add-peer"])
        self.assertEqual(len(cli.transcript), 5)

    def test_a_learner_is_not_an_added_peer_and_a_deadline_ends_the_retries(self):
        cli, runner = cli_for({"add-peer": [CliResult(1, "ECATCHUP")],
                               "list-peers": [CliResult(0, f"{B},{C},{A}/learner")]})
        self.assertFalse(cli.add_peer(A, time.monotonic() - 1))
        self.assertEqual(runner.calls, ["add-peer", "list-peers"])

    def test_a_removal_is_not_done_while_the_peer_is_still_a_learner(self):
        cli, _ = cli_for({"remove-peer": [CliResult(1, "x")],
                          "list-peers": [CliResult(0, f"{B},{C},{A}/learner")]})
        self.assertFalse(cli.remove_peer(A, time.monotonic() - 1))

    def test_a_usage_error_is_the_drivers_bug_and_raises(self):
        cli, _ = cli_for({"add-peer": [CliResult(2, "raft-cli: bad peer")]})
        with self.assertRaises(ValueError):
            cli.add_peer("nonsense", time.monotonic() + 10)


class MembershipRestoredTest(unittest.TestCase):
    def test_the_full_set_of_voters_and_no_learner_passes(self):
        check = membership.check_membership_restored([A, B, C], Peers.parse(f"{C},{A},{B}"))
        self.assertTrue(check["ok"], check)
        self.assertEqual(check["check"], "membership-restored")

    def test_a_missing_voter_a_leftover_learner_or_no_answer_fails(self):
        missing = membership.check_membership_restored([A, B, C], Peers.parse(f"{A},{B}"))
        self.assertFalse(missing["ok"])
        self.assertIn("expected", missing["detail"])
        learner = membership.check_membership_restored([A, B, C],
                                                       Peers.parse(f"{A},{B},{C},x:1/learner"))
        self.assertFalse(learner["ok"])
        self.assertFalse(membership.check_membership_restored([A, B, C], None)["ok"])


if __name__ == "__main__":
    unittest.main()
