"""How a sandboxed Ansible reaches nodes that live behind network namespaces.

A local node is reachable only from its executor network namespace (``kge-...``), and each
node of a multi-node set has its own. The sandbox that runs ``ansible-playbook`` has no
network at all (bubblewrap ``--unshare-net``); instead, for each node this module listens
on a Unix socket inside the build folder and, per connection, opens a TCP connection to
the node's sshd *from the node's namespace* and copies bytes both ways.

Inside the sandbox, ssh's ``ProxyCommand`` is a ten-line script (``ansible/fdpass.py``)
that connects the Unix socket and hands the connected descriptor back to ssh
(``ProxyUseFdpass``), so no process sits in the middle of the ssh stream in the sandbox.
ssh still checks the node's host key end to end; the relay only moves bytes.

Why not ``ip netns exec <ns> bwrap ... ansible-playbook``: that works for one node, but a
node set spread over several namespaces cannot be reached from any single one, and the
sandbox would share the namespace's network instead of having none.

A socket belongs to the network namespace it was created in, so the TCP socket is made
by a short-lived thread that first joins the node's namespace with ``setns(2)`` (a
per-thread property on Linux); the rest of this process never changes namespace.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import selectors
import socket
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
_BUFFER = 65536


class RelayError(RuntimeError):
    """The relay could not reach the node; the message says what failed."""


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def socket_in_netns(netns: str | None) -> socket.socket:
    """A new TCP socket that lives in network namespace ``netns`` (None: this one)."""
    if netns is None:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            made.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        except BaseException as exc:  # reported to the caller's thread below
            failed.append(exc)

    # The thread ends right after, taking its namespace membership with it.
    thread = threading.Thread(target=work, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if failed:
        raise RelayError(f"cannot enter network namespace {netns}: {failed[0]}")
    return made[0]


class NodeRelay:
    """A Unix socket at ``path`` whose connections are forwarded to ``host:port``.

    ``start`` binds the socket (mode 0666, so a sandbox running as another user can
    connect) and serves it on a daemon thread; ``close`` stops listening and cuts every
    open connection. Both are idempotent.
    """

    def __init__(self, path: Path, host: str, port: int, netns: str | None,
                 connect_timeout: float = 10.0) -> None:
        self.path = path
        self.host = host
        self.port = port
        self.netns = netns
        self.connect_timeout = connect_timeout
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def start(self) -> None:
        if self._listener is not None:
            return
        if len(os.fsencode(self.path)) >= 108:  # sun_path
            raise RelayError(f"socket path {self.path} is too long for a Unix socket; "
                             "use a shorter build folder")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.path.unlink(missing_ok=True)
        listener.bind(str(self.path))
        os.chmod(self.path, 0o666)
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, name=f"relay-{self.path.name}",
                         daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            victims = list(self._open)
            self._open.clear()
        for sock in victims:
            _close(sock)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> NodeRelay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        listener = self._listener
        while listener is not None and not self._closed.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True,
                             name=f"relay-conn-{self.path.name}").start()

    def _track(self, *socks: socket.socket) -> bool:
        with self._lock:
            if self._closed.is_set():
                return False
            self._open.update(socks)
            return True

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            upstream = socket_in_netns(self.netns)
            if not self._track(client, upstream):
                return
            upstream.settimeout(self.connect_timeout)
            upstream.connect((self.host, self.port))
            upstream.settimeout(None)
            _pump(client, upstream)
        except (OSError, RelayError):
            pass  # ssh sees the connection close and reports the node unreachable
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    _close(sock)


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until both directions have ended."""
    peer = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in (a, b):
            selector.register(sock, selectors.EVENT_READ)
        open_reads = 2
        while open_reads:
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                data = source.recv(_BUFFER)
                if data:
                    peer[source].sendall(data)
                    continue
                # EOF one way: pass it on, keep the other direction running.
                selector.unregister(source)
                open_reads -= 1
                try:
                    peer[source].shutdown(socket.SHUT_WR)
                except OSError:
                    return


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
