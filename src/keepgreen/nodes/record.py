"""``node.json``: what a local node's state folder says about it.

The record outlives the launcher that wrote it: after a crash, a restarted launcher reads
it to reach or delete the node, and the leak sweep uses the process references in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from keepgreen.domain.node import Node, NodeState
from keepgreen.nodes.process import ProcessRef
from keepgreen.nodes.userns import IdRange

FILENAME = "node.json"


@dataclass(frozen=True)
class Record:
    node: Node
    slot: int  # the node's /30 in 198.18.0.0/15 (see network.Link)
    supervisor: ProcessRef | None = None  # the ``unshare`` process outside the node
    pid1: ProcessRef | None = None  # the node's PID 1, as the host sees it
    ids: IdRange | None = None  # the host uids and gids the node's ids are


def save(record: Record) -> None:
    node = record.node
    assert node.state_dir is not None
    data = {"id": node.id, "label": node.label, "provider": node.provider,
            "state": node.state.value, "host": node.host, "port": node.port,
            "username": node.username, "host_key": node.host_key,
            "private_key": str(node.private_key) if node.private_key else None,
            "pid": node.pid, "netns": list(node.netns), "state_dir": str(node.state_dir),
            "created_at": node.created_at, "ready_at": node.ready_at, "slot": record.slot,
            "supervisor": str(record.supervisor) if record.supervisor else None,
            "pid1": str(record.pid1) if record.pid1 else None,
            "ids": ({"base": record.ids.base, "count": record.ids.count}
                    if record.ids else None)}
    path = node.state_dir / FILENAME
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(path)  # readers never see half a record


def load(state_dir: Path) -> Record | None:
    """The record in this state folder, or None if it is missing or unreadable."""
    try:
        data = json.loads((state_dir / FILENAME).read_text())
        return _parse(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_all(state_root: Path) -> list[Record]:
    if not state_root.is_dir():
        return []
    found = (load(path.parent) for path in sorted(state_root.glob(f"*/{FILENAME}")))
    return [record for record in found if record is not None]


def _parse(data: dict[str, object]) -> Record:
    def text(key: str) -> str:
        value = data.get(key)
        return "" if value is None else str(value)

    def number(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def ref(key: str) -> ProcessRef | None:
        value = data.get(key)
        return ProcessRef.parse(value) if isinstance(value, str) else None

    pid, port, slot, netns = data.get("pid"), data.get("port"), data["slot"], data.get("netns")
    node = Node(id=text("id"), label=text("label"), provider=text("provider"),
                state=NodeState(text("state")), host=text("host"),
                port=port if isinstance(port, int) else 22,
                username=text("username") or "root", host_key=text("host_key"),
                private_key=Path(text("private_key")) if data.get("private_key") else None,
                pid=pid if isinstance(pid, int) else None,
                netns=tuple(str(n) for n in netns) if isinstance(netns, list) else (),
                state_dir=Path(text("state_dir")), created_at=number("created_at") or 0.0,
                ready_at=number("ready_at"))
    if not isinstance(slot, int):
        raise TypeError("slot must be an integer")
    ids = data.get("ids")
    found = (IdRange(int(ids["base"]), int(ids["count"]))
             if isinstance(ids, dict) else None)
    return Record(node=node, slot=slot, supervisor=ref("supervisor"), pid1=ref("pid1"),
                  ids=found)
