"""git's ``proc-receive`` hook: hands pushed ref updates to the keepgreen server.

git runs this program inside ``receive-pack`` for every ref matched by
``receive.procReceiveRefs``. It speaks git's pkt-line protocol on stdin/stdout, forwards
the commands and push options over a Unix socket to the server that started the push
(found through ``KEEPGREEN_HOOK_SOCKET`` and ``KEEPGREEN_HOOK_TOKEN``), and relays the
server's verdicts back to git and its messages to the pushing client (as ``remote:``
lines).

It runs once per push, so its start-up is part of every push's latency: it is started with
``python -IS`` and imports only built-in modules (``_socket`` rather than ``socket`` and a
line protocol rather than JSON), which keeps it to a few milliseconds.

The line protocol, one UTF-8 line each way per item, ending with ``end``:
  hook -> server: ``token T``, ``command OLD NEW REF``, ``option TEXT``, ``end``
  server -> hook: ``message TEXT``, ``result ok REF`` or ``result ng REF REASON``,
                  ``option KEY [VALUE]`` (for the preceding result), ``end``
"""

import _socket
import os
import sys


def read_pkt(stream):
    """One pkt-line payload as bytes, or None for a flush packet."""
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("git closed the protocol stream early")
    size = int(head, 16)
    if size == 0:
        return None
    data = stream.read(size - 4)
    return data[:-1] if data.endswith(b"\n") else data


def write_pkt(stream, text):
    data = text.encode() + b"\n"
    stream.write(b"%04x" % (len(data) + 4) + data)


def flush(stream):
    stream.write(b"0000")
    stream.flush()


def read_section(stream):
    lines = []
    while True:
        pkt = read_pkt(stream)
        if pkt is None:
            return lines
        lines.append(pkt)


def ask_server(token, commands, options):
    request = ["token " + token]
    request += ["command " + " ".join(c) for c in commands]
    request += ["option " + o.replace("\n", " ") for o in options]
    request.append("end")
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.connect(os.environ.get("KEEPGREEN_HOOK_SOCKET", ""))
        conn.sendall(("\n".join(request) + "\n").encode())
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        conn.close()
    return b"".join(chunks).decode().split("\n")


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    version = read_section(stdin)
    offered = version[0].split(b"\0", 1)[1].split() if version and b"\0" in version[0] else []
    use_options = b"push-options" in offered
    write_pkt(stdout, "version=1\0push-options" if use_options else "version=1")
    flush(stdout)
    commands = [line.decode().split(" ", 2) for line in read_section(stdin)]
    options = [o.decode() for o in read_section(stdin)] if use_options else []
    try:
        answer = ask_server(os.environ.get("KEEPGREEN_HOOK_TOKEN", ""), commands, options)
    except OSError as exc:
        answer = [f"message keepgreen: the server did not answer the push ({exc})"]
        answer += [f"result ng {c[2]} server unavailable, try again" for c in commands]
    for line in answer:
        kind, _, rest = line.partition(" ")
        if kind == "message":
            sys.stderr.write(rest + "\n")
        elif kind == "result":
            status, _, ref_reason = rest.partition(" ")
            write_pkt(stdout, f"{status} {ref_reason}")
        elif kind == "option":
            write_pkt(stdout, f"option {rest}")
    sys.stderr.flush()
    flush(stdout)


if __name__ == "__main__":
    main()
    # Everything is flushed; skipping the interpreter's clean-up saves a millisecond on
    # every push.
    os._exit(0)
