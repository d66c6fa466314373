"""Hand-written histories for the tests, one event per call."""

import json

from pontoon_jepsen.history import parse_history

_NO_VALUE = object()


class HistoryBuilder:
    """Appends events in call order; index and time grow by one step per event.

        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1); h.ok(0)
        h.invoke(1, "read", "x");     h.ok(1, 1)
    """

    def __init__(self):
        self.events = []
        self._open = {}  # process -> (f, key, value)

    def invoke(self, process, f, key=None, value=_NO_VALUE):
        self._open[process] = (f, key, value)
        return self._event(process, "invoke", f, key, value)

    def ok(self, process, value=_NO_VALUE):
        f, key, invoked = self._open.pop(process)
        if value is _NO_VALUE and f not in ("read", "get", "incr"):
            value = invoked
        return self._event(process, "ok", f, key, value)

    def fail(self, process):
        f, key, _ = self._open.pop(process)
        return self._event(process, "fail", f, key, _NO_VALUE)

    def info(self, process):
        f, key, _ = self._open.pop(process)
        return self._event(process, "info", f, key, _NO_VALUE)

    def _event(self, process, kind, f, key, value):
        event = {"process": process, "type": kind, "f": f}
        if key is not None:
            event["key"] = key
        if value is not _NO_VALUE:
            event["value"] = value
        event["time"] = 1000 * len(self.events)
        event["index"] = len(self.events)
        self.events.append(event)
        return self

    def lines(self):
        return [json.dumps(e) for e in self.events]

    def history(self):
        return parse_history(self.lines())
