"""A driver client: one process of the history, with its own connection, calling the leader.

Like the C++ clients (example/common/leader_client.h), a call follows EPERM leader hints, moves
on when a replica cannot be reached and backs off on EBUSY, until its timeout. What a failure
means for the history (example/common/service_protocol.h):

    ok    the answer arrived;
    fail  every attempt failed in a way that proves the operation had no effect (not sent,
          EPERM, EBUSY, EINVAL), or a cas found another value;
    info  an attempt was sent and then lost (timeout, connection closed) or answered EIO
          "outcome unknown". A read is retried instead (it changes nothing) and ends info only
          if no attempt was answered by the timeout.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from . import wire
from .services import Request

_MIN_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 0.2


def _hint(message: str) -> Optional[str]:
    at = message.find("leader_hint=")
    if at < 0:
        return None
    hint = message[at + len("leader_hint="):].split(" ")[0].split(";")[0].split(",")[0]
    return hint if ":" in hint else None


class Client:
    def __init__(self, endpoints: list[str], op_timeout_s: float,
                 pinned_to: Optional[str] = None):
        """With `pinned_to`, every call goes to that replica alone: hints and failures never
        move the client (a reader that keeps asking one replica, whatever it says)."""
        self.endpoints = [pinned_to] if pinned_to is not None else endpoints
        self.op_timeout_s = op_timeout_s
        self.target = self.endpoints[0]
        self.pinned = pinned_to is not None
        self.connections: dict[str, wire.Connection] = {}

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()

    def _connection(self, endpoint: str) -> wire.Connection:
        if endpoint not in self.connections:
            host, port = endpoint.rsplit(":", 1)
            self.connections[endpoint] = wire.Connection(host, int(port))
        return self.connections[endpoint]

    def _next_after(self, endpoint: str) -> str:
        i = self.endpoints.index(endpoint) if endpoint in self.endpoints else -1
        return self.endpoints[(i + 1) % len(self.endpoints)]

    def invoke(self, request: Request) -> tuple[str, Any, str]:
        """Runs `request`; returns (completion type, completion value, why) for the history."""
        deadline = time.monotonic() + self.op_timeout_s
        backoff = _MIN_BACKOFF_S
        sent_and_lost = False
        hints_in_a_row = 0  # Past one per replica, hints go round in circles (an election).
        why = "no attempt made"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # A replica that did not answer in time may be a leader cut off from its
                # peers: the next call tries another (which names the new leader, if any).
                self.target = self._next_after(self.target)
                return ("info" if sent_and_lost else "fail"), None, why
            endpoint = self.target
            try:
                body = self._connection(endpoint).call(request.method_id, request.body, remaining)
                kind, value = request.decode(body)
                return kind, value, ""
            except wire.NotSent as e:
                why = f"{endpoint}: not sent: {e}"
                self.target = self._next_after(endpoint)
            except wire.Lost as e:
                why = f"{endpoint}: lost: {e}"
                # The replica that lost the call (it timed out, or closed the connection) may
                # be a leader cut off from its peers or a dead one: the next call tries
                # another, which names the new leader, if any.
                self.target = self._next_after(endpoint)
                if not request.read_only:
                    return "info", None, why
                sent_and_lost = True
            except wire.RpcError as e:
                why = f"{endpoint}: {e}"
                if e.code == "EPERM":
                    hint = None if self.pinned else _hint(e.message)
                    fresh = hint is not None and hint != endpoint
                    self.target = hint if fresh else self._next_after(endpoint)
                    if fresh and hints_in_a_row < len(self.endpoints):
                        hints_in_a_row += 1
                        continue  # A fresh hint: no reason to wait.
                elif e.code == "EBUSY":
                    pass
                elif e.code in ("EINVAL", "ENOENT"):
                    return "fail", None, why
                elif not request.read_only:
                    return "info", None, why  # EIO "outcome unknown", and anything unexpected.
                else:
                    sent_and_lost = True
                    self.target = self._next_after(endpoint)
            hints_in_a_row = 0
            time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
