"""The Pontoon RPC wire format, client side, for the driver's clients.

A frame (raft-rpc/include/raft/rpc/frame.h) is a 24-byte big-endian header and a protobuf body:

    magic "PNTN" | version 1 | kind (1 request, 2 response) | flags (bit 0: error) | 0 |
    method_id:u32 | request_id:u64 | body_length:u32 | body

An error response's body is a pontoon.rpc.RpcError {code = 1 (enum), message = 2 (bytes)}.
The services' messages need only a few protobuf field types, encoded by hand here: varint
(int64, bool, enum), zigzag varint (sint64) and length-delimited (bytes, string).
"""

from __future__ import annotations

import socket
import struct
from typing import Optional

MAGIC = b"PNTN"
VERSION = 1
REQUEST = 1
RESPONSE = 2
FLAG_ERROR = 0x01
HEADER = struct.Struct(">4sBBBBIQI")
MAX_BODY_BYTES = 16 << 20

# pontoon.rpc.ErrorCode -> the errno-style name (raft-rpc/proto/rpc.proto).
ERROR_NAMES = {1: "EPERM", 2: "EBUSY", 3: "ESTALE", 4: "ETIMEDOUT", 5: "EINVAL", 6: "EIO",
               7: "ESHUTDOWN", 8: "ECORRUPTION", 9: "ENOENT", 10: "EHOSTDOWN"}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # Negative int64s are ten bytes of two's complement.
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def field_sint64(number: int, value: int) -> bytes:
    return field_varint(number, _zigzag(value))


def field_bytes(number: int, value: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(value)) + value if value else b""


def decode_message(body: bytes) -> dict[int, object]:
    """Field number -> raw value (int for varints, bytes for length-delimited); the last wins."""
    fields: dict[int, object] = {}
    pos = 0

    def read_varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            if pos >= len(body):
                raise ValueError("truncated varint")
            byte = body[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(body):
        key = read_varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            fields[number] = read_varint()
        elif wire_type == 2:
            length = read_varint()
            fields[number] = body[pos:pos + length]
            pos += length
        elif wire_type == 1:
            fields[number] = int.from_bytes(body[pos:pos + 8], "little")
            pos += 8
        elif wire_type == 5:
            fields[number] = int.from_bytes(body[pos:pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    return fields


def get_int64(fields: dict, number: int) -> int:
    return _signed64(int(fields.get(number, 0)))


def get_sint64(fields: dict, number: int) -> int:
    return _unzigzag(int(fields.get(number, 0)))


def get_string(fields: dict, number: int) -> str:
    return bytes(fields.get(number, b"")).decode("utf-8", "replace")


class RpcError(Exception):
    """The server answered with an RpcError: `code` is its errno-style name."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class NotSent(Exception):
    """The request was never written to a socket (cannot connect): it had no effect."""


class Lost(Exception):
    """The request may have reached the server, but no answer came (timeout, connection lost)."""


class Connection:
    """One TCP connection to one replica, one call at a time. Not thread-safe: one per client.

    After a Lost the connection is closed, so a late answer can never be taken for the next
    call's; the next call reconnects.
    """

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._sock: Optional[socket.socket] = None
        self._next_id = 1

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def call(self, method_id: int, body: bytes, timeout_s: float) -> bytes:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                self.close()
                raise NotSent(f"cannot connect to {self.host}:{self.port}: {e}") from None
        request_id = self._next_id
        self._next_id += 1
        frame = HEADER.pack(MAGIC, VERSION, REQUEST, 0, 0, method_id, request_id, len(body)) + body
        try:
            self._sock.settimeout(timeout_s)
            self._sock.sendall(frame)
            flags, response = self._read_response(request_id)
        except (OSError, ValueError) as e:
            self.close()
            raise Lost(f"{self.host}:{self.port}: {e or type(e).__name__}") from None
        if flags & FLAG_ERROR:
            fields = decode_message(response)
            code = ERROR_NAMES.get(int(fields.get(1, 0)), f"code {fields.get(1)}")
            raise RpcError(code, get_string(fields, 2))
        return response

    def _read_exactly(self, count: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < count:
            chunk = self._sock.recv(count - len(chunks))
            if not chunk:
                raise ValueError("connection closed by the server")
            chunks += chunk
        return bytes(chunks)

    def _read_response(self, request_id: int) -> tuple[int, bytes]:
        while True:
            magic, version, kind, flags, _, _, got_id, length = HEADER.unpack(
                self._read_exactly(HEADER.size))
            if magic != MAGIC or version != VERSION or kind != RESPONSE:
                raise ValueError("not a Pontoon response frame")
            if length > MAX_BODY_BYTES:
                raise ValueError(f"response body of {length} bytes")
            body = self._read_exactly(length)
            if got_id == request_id:
                return flags, body
