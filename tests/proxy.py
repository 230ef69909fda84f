"""A TCP proxy on 127.0.0.1 that goes away mid-transfer: a storage service lost while a client uploads."""

from __future__ import annotations

import contextlib
import socket
import threading


class VanishingProxy:
    """Forwards connections to `upstream` until `limit` bytes have gone upstream, then drops every connection
    and stops listening, as a server that went away; `start()` brings it back on the same port."""

    def __init__(self, upstream: tuple[str, int], limit: int) -> None:
        self.upstream, self.limit = upstream, limit
        self.port = 0
        self.forwarded = 0
        self.vanished = threading.Event()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, limit: int | None = None) -> None:
        """Listen (again, on the same port), forwarding up to `limit` bytes (default: the first limit)."""
        self.limit = self.limit if limit is None else limit
        self.forwarded = 0
        self.vanished.clear()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def vanish(self) -> None:
        """Stop listening and drop every open connection."""
        self.vanished.set()
        with self._lock:
            sockets, self._connections = [*self._connections], []
            if self._listener is not None:
                sockets.append(self._listener)
                self._listener = None
        for connection in sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self.vanished.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            if upstream:
                with self._lock:
                    self.forwarded += len(data)
                    over = self.forwarded > self.limit
                if over:
                    self.vanish()
                    return
            try:
                target.sendall(data)
            except OSError:
                return
