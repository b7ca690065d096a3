"""git's ``proc-receive`` hook: hands pushed ref updates to the keepgreen server.

git runs this program inside ``receive-pack`` for every ref matched by
``receive.procReceiveRefs``. It speaks git's pkt-line protocol on stdin/stdout, forwards
the commands and push options over a Unix socket to the server that started the push
(found through ``KEEPGREEN_HOOK_SOCKET`` and ``KEEPGREEN_HOOK_TOKEN``), and relays the
server's verdicts back to git and its messages to the pushing client (as ``remote:``
lines). It imports only the standard library and is started with ``python -I -S``, so
it adds little to the time of a push.
"""

import json
import os
import socket
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


def ask_server(request):
    path = os.environ.get("KEEPGREEN_HOOK_SOCKET", "")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    try:
        conn.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        conn.close()
    return json.loads(b"".join(chunks))


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
        answer = ask_server({"token": os.environ.get("KEEPGREEN_HOOK_TOKEN", ""),
                             "commands": commands, "options": options})
    except (OSError, ValueError) as exc:
        answer = {"messages": [f"keepgreen: the server did not answer the push ({exc})"],
                  "results": [[c[2], "ng", "server unavailable, try again", {}]
                              for c in commands]}
    for line in answer.get("messages", []):
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
    for ref, status, reason, opts in answer["results"]:
        write_pkt(stdout, f"ok {ref}" if status == "ok" else f"ng {ref} {reason}")
        for key, value in opts.items():
            write_pkt(stdout, f"option {key} {value}" if value else f"option {key}")
    flush(stdout)


if __name__ == "__main__":
    main()
