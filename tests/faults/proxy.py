"""A TCP proxy the test controls: forward, cut (a partition), restore.

A core reaches PostgreSQL through it, so that a test can partition the two
without touching either. ``cut`` closes every forwarded connection and refuses
new ones (the listener closes: a connect gets ECONNREFUSED); ``restore`` listens
again on the same port. Threads, not asyncio: the test's own thread drives it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.faults.services import free_port

# Bytes read per recv: a PostgreSQL COPY batch passes in a few reads.
chunk_bytes = 65536
# How long ``restore`` may try to bind the port again.
rebind_timeout_s = 10.0


class Proxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self.restore()

    def restore(self) -> None:
        """Listen (again) on the same port and forward every new connection."""
        with self._lock:
            assert self._listener is None, "already forwarding"
            self._listener = self._bind()
            listener = self._listener
        self._accepting = threading.Thread(
            target=self._accept, args=(listener,), name="proxy-accept", daemon=True
        )
        self._accepting.start()

    def cut(self) -> None:
        """Partition: close every forwarded connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, set()
            self.cuts += 1
        assert listener is not None, "already cut"
        _close(listener)
        for sock in doomed:
            _close(sock)
        if self._accepting is not None:
            self._accepting.join(5.0)

    @property
    def connections(self) -> int:
        """How many sockets (both ends) are forwarded now."""
        with self._lock:
            return len(self._sockets)

    def close(self) -> None:
        """Stop forwarding for good."""
        with contextlib.suppress(AssertionError):
            self.cut()

    def _bind(self) -> socket.socket:
        deadline = time.monotonic() + rebind_timeout_s
        while True:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(("127.0.0.1", self.port))
            except OSError:
                listener.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            listener.listen(64)
            return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut: the listener closed
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5.0)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            # PostgreSQL's protocol is many small messages: without this, Nagle's algorithm
            # and delayed ACKs hold each one back for tens of milliseconds.
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(server)
                    return
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), name="proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(chunk_bytes)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._sockets -= {source, sink}
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
