"""The history format: what parse_history accepts, and how it names a malformed line."""

import json
import unittest

from pontoon_jepsen.history import FAIL, INFO, MISSING, OK, HistoryError, parse_history


def line(**fields):
    event = {"process": 0, "type": "invoke", "f": "read", "key": "x", "time": 0, "index": 0}
    event.update(fields)
    return json.dumps({k: v for k, v in event.items() if v is not DROP})


DROP = object()


class PairingTest(unittest.TestCase):
    def test_an_invoke_and_its_completion_form_one_operation(self):
        history = parse_history([
            line(index=0),
            line(process=1, f="write", value=3, index=1),
            line(process=1, f="write", type="ok", value=3, index=2),
            line(type="ok", value=3, index=3),
        ])
        read, write = history.operations
        self.assertEqual((read.f, read.status, read.result), ("read", OK, 3))
        self.assertEqual((read.invoke_position, read.complete_position), (0, 3))
        self.assertEqual((write.f, write.value, write.status), ("write", 3, OK))
        self.assertEqual((write.invoke_line, write.complete_line), (2, 3))
        self.assertEqual(history.event_count, 4)

    def test_fail_and_info_completions_keep_their_status(self):
        history = parse_history([
            line(f="write", value=1, index=0),
            line(f="write", type="fail", index=1),
            line(f="write", value=2, index=2),
            line(f="write", type="info", index=3),
        ])
        self.assertEqual([op.status for op in history.operations], [FAIL, INFO])
        self.assertIs(history.operations[1].result, MISSING)

    def test_an_invoke_never_completed_counts_as_info(self):
        history = parse_history([line(f="write", value=1)])
        (op,) = history.operations
        self.assertEqual(op.status, INFO)
        self.assertIsNone(op.complete_position)

    def test_a_process_may_invoke_again_after_an_info(self):
        history = parse_history([
            line(index=0), line(type="info", index=1), line(index=2), line(type="ok", value=None,
                                                                           index=3)])
        self.assertEqual([op.status for op in history.operations], [INFO, OK])

    def test_blank_lines_are_skipped_but_still_counted(self):
        history = parse_history([line(index=0), "", line(type="ok", value=1, index=5)])
        self.assertEqual(history.operations[0].complete_line, 3)


class MalformedTest(unittest.TestCase):
    def assertMalformed(self, lines, line_number, fragment):
        with self.assertRaises(HistoryError) as raised:
            parse_history(lines)
        self.assertEqual(raised.exception.line, line_number)
        self.assertIn(fragment, str(raised.exception))
        self.assertTrue(str(raised.exception).startswith(f"line {line_number}: "))

    def test_a_line_that_is_not_json(self):
        self.assertMalformed([line(), "{not json"], 2, "not JSON")

    def test_a_line_that_is_not_an_object(self):
        self.assertMalformed(["[1, 2]"], 1, "JSON object")

    def test_each_required_field(self):
        for field in ("process", "type", "f", "time", "index"):
            with self.subTest(field=field):
                self.assertMalformed([line(**{field: DROP})], 1, f'missing field "{field}"')

    def test_mistyped_fields(self):
        cases = {"process": "1", "type": "done", "f": "", "time": 1.5, "index": True,
                 "key": 7}
        for field, bad in cases.items():
            with self.subTest(field=field):
                self.assertMalformed([line(**{field: bad})], 1, f'field "{field}"')

    def test_an_unhashable_type_is_reported_not_crashed_on(self):
        self.assertMalformed([line(type=["ok"])], 1, 'field "type"')

    def test_an_index_that_does_not_grow(self):
        self.assertMalformed([line(index=4), line(type="ok", value=1, index=4)], 2,
                             "does not grow")

    def test_a_completion_without_an_invoke(self):
        self.assertMalformed([line(type="ok", value=1)], 1, "no operation outstanding")

    def test_a_second_invoke_while_one_is_outstanding(self):
        self.assertMalformed([line(index=0), line(index=1)], 2, "is outstanding")

    def test_a_completion_of_another_function(self):
        self.assertMalformed([line(index=0), line(type="ok", f="write", index=1)], 2,
                             'invoked "read"')

    def test_a_completion_of_another_key(self):
        self.assertMalformed([line(index=0), line(type="ok", key="y", value=1, index=1)], 2,
                             "has key")


if __name__ == "__main__":
    unittest.main()
