"""Writing a ``SiteState`` back as ``resources/`` files, for admin operations made as commits.

Each project and group stays in the file it was read from (new ones go to
``resources/projects.yaml`` and ``resources/groups.yaml``), in the order they were written.
The text is canonical: every key written out, so a file read back gives the same state.
Pure.
"""

from __future__ import annotations

import json
import re

from keepgreen.siteconf.model import GroupSpec, ProjectSpec, SiteState, format_range

HEADER = "# Part of the site's configuration; see README.md for the layout and rules.\n"
_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./@ -]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as the same string."""
    if (_PLAIN.match(text) and text == text.strip() and text.lower() not in _RESERVED
            and not re.match(r"^[0-9._+-]+$", text) and ": " not in text and " #" not in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _project(spec: ProjectSpec) -> str:
    lines = ["- project:",
             f"    name: {scalar(spec.name)}",
             f"    description: {scalar(spec.description)}",
             f"    default-branch: {scalar(spec.default_branch)}",
             f"    submit-type: {spec.submit_type}",
             f"    required-approvals: {spec.required_approvals}",
             f"    anonymous-read: {'true' if spec.anonymous_read else 'false'}"]
    if spec.queue is not None:
        lines.append(f"    queue: {scalar(spec.queue)}")
    if spec.access:
        lines.append("    access:")
        refs: dict[str, dict[str, list[str]]] = {}
        for rule in spec.access:
            parts = [f"group: {scalar(rule.group)}"]
            if rule.permission.startswith("label-"):
                parts.append(f"range: {format_range(rule.min_value, rule.max_value)}")
            if rule.action != "allow":
                parts.append(f"action: {rule.action}")
            refs.setdefault(rule.ref, {}).setdefault(rule.permission, []).append(
                "{" + ", ".join(parts) + "}")
        for ref, permissions in refs.items():
            lines.append(f"      {scalar(ref)}:")
            for permission, rules in permissions.items():
                lines.append(f"        {permission}:")
                lines += [f"          - {rule}" for rule in rules]
    return "\n".join(lines) + "\n"


def _group(spec: GroupSpec) -> str:
    lines = ["- group:",
             f"    name: {scalar(spec.name)}",
             f"    description: {scalar(spec.description)}",
             f"    owner: {scalar(spec.owner)}"]
    if spec.members:
        lines.append("    members:")
        lines += [f"      - {scalar(m)}" for m in spec.members]
    else:
        lines.append("    members: []")
    if not spec.visible_to_all:
        lines.append("    visible-to-all: false")
    if spec.includes:
        lines.append("    includes:")
        lines += [f"      - {scalar(g)}" for g in spec.includes]
    return "\n".join(lines) + "\n"


def render(state: SiteState, paths: set[str] | None = None) -> dict[str, str]:
    """The text of every resources file ``state`` lives in (or only of ``paths``)."""
    entries: dict[str, list[tuple[int, int, str]]] = {}
    texts = [("project", name, 0, _project(spec)) for name, spec in state.projects.items()]
    texts += [("group", name, 1, _group(spec)) for name, spec in state.groups.items()]
    for kind, name, order, text in texts:
        where = state.place(kind, name)
        # New entries (line 0) go after the file's existing ones, by name.
        entries.setdefault(where.path, []).append((where.line or 10**9, order, text))
    files = {}
    for path, items in entries.items():
        if paths is not None and path not in paths:
            continue
        files[path] = HEADER + "\n".join(text for _, _, text in sorted(items))
    for path in paths or ():
        files.setdefault(path, HEADER)
    return files
