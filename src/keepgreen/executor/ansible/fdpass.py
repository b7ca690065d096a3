"""ssh ProxyCommand inside the build sandbox: connect to a node's relay socket.

Run as ``python3 fdpass.py SOCKET`` with ssh's ``ProxyUseFdpass=yes``: it connects the
Unix socket the executor serves for the node and passes the connected descriptor back to
ssh over its standard output, then exits, so nothing stays between ssh and the relay.
Standard library only; it runs with ``python3 -I -S`` for a fast start.
"""

import socket
import sys


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: fdpass.py SOCKET\n")
        return 2
    relay = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        relay.connect(sys.argv[1])
    except OSError as exc:
        sys.stderr.write(f"cannot reach the node relay {sys.argv[1]}: {exc}\n")
        return 255
    to_ssh = socket.socket(fileno=sys.stdout.fileno())
    socket.send_fds(to_ssh, [b"\0"], [relay.fileno()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
