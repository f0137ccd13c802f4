"""A TCP forwarder between a client and a server that a test can cut, as a failing network does."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self


class TcpProxy:
    """Listens on 127.0.0.1 (a free port) and forwards each connection to ``target``.

    :meth:`cut` closes every forwarded connection and the listener: clients see their
    connection drop, and a reconnect is refused. With ``drop_after``, the forwarded
    connections are dropped once, when clients have sent that many bytes in all (mid-way
    through a publish), and the proxy goes on accepting: a reconnect gets through.
    """

    def __init__(self, target: tuple[str, int], *, drop_after: int | None = None) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._drop_after = drop_after
        self._sent = 0
        self.dropped = False

    def __enter__(self) -> Self:
        self._accepting.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()

    def cut(self) -> None:
        """Drop every connection and stop listening."""
        self._close(listener=True)

    def _close(self, *, listener: bool) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets] if listener else sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._forward, args=(client, server, True), daemon=True).start()
            threading.Thread(
                target=self._forward, args=(server, client, False), daemon=True
            ).start()

    def _forward(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
                if counted:
                    self._count(len(data))
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _count(self, size: int) -> None:
        with self._lock:
            self._sent += size
            drop = (
                not self.dropped and self._drop_after is not None and self._sent >= self._drop_after
            )
            self.dropped = self.dropped or drop
        if drop:
            self._close(listener=False)
