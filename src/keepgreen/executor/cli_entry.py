"""Run one job from a Zuul-style config against a folder: ``keepgreen run-job``.

    keepgreen run-job --config PATH --job NAME --src DIR

``PATH`` is a project folder (holding ``zuul.yaml``, ``zuul.d/``, ``.zuul.yaml`` or
``.zuul.d/``), such a folder itself, or one YAML file; playbook paths are relative to the
project folder, as in Zuul. ``DIR`` is the repository under test: it is copied to the
build's ``work/src/<hostname>/<name>``.

Until the full job-config language lands (``keepgreen.jobconf``), this reads a small subset
with PyYAML: ``- job:`` entries with ``name``, ``pre-run``, ``run``, ``post-run`` (a path
or a list), ``nodeset`` (a list of ``{name, label}``, or ``{nodes: [...], groups: [...]}``),
``vars``, ``host-vars``, ``group-vars``, ``timeout``, ``post-timeout``, ``attempts``,
``voting`` and ``description``. No inheritance: a ``parent`` is refused with a sentence.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from keepgreen.domain.node import Provider
from keepgreen.executor.ansible_process import LineSink
from keepgreen.executor.model import (
    BuildRequest,
    BuildResult,
    GroupSpec,
    Item,
    JobSpec,
    NodeSpec,
    Playbook,
    Project,
)
from keepgreen.executor.runner import Executor, ExecutorSettings

CONFIG_NAMES = ("zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d")
KNOWN_KEYS = {"name", "description", "pre-run", "run", "post-run", "nodeset", "vars",
              "host-vars", "group-vars", "timeout", "post-timeout", "attempts", "voting",
              "tags"}


class JobConfigError(ValueError):
    """The config cannot be read or has no such job; the message names file and job."""


def config_files(path: Path) -> tuple[Path, list[Path]]:
    """(project folder, YAML files in Zuul's reading order) for a ``--config`` path."""
    path = path.absolute()
    if path.is_file():
        root = path.parent.parent if path.parent.name in ("zuul.d", ".zuul.d") else path.parent
        return root, [path]
    if not path.is_dir():
        raise JobConfigError(f"{path} does not exist; give a project folder or a YAML file")
    if path.name in ("zuul.d", ".zuul.d"):
        return path.parent, sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
    for name in CONFIG_NAMES:  # Zuul reads the first of these that exists
        candidate = path / name
        if candidate.is_file():
            return path, [candidate]
        if candidate.is_dir():
            return path, sorted(p for p in candidate.rglob("*")
                                if p.suffix in (".yaml", ".yml"))
    raise JobConfigError(f"no zuul.yaml, zuul.d/, .zuul.yaml or .zuul.d/ in {path}")


def load_jobs(path: Path) -> tuple[Path, dict[str, tuple[Path, Mapping[str, Any]]]]:
    """(project folder, {job name: (file, job mapping)}) from a ``--config`` path."""
    root, files = config_files(path)
    jobs: dict[str, tuple[Path, Mapping[str, Any]]] = {}
    for file in files:
        try:
            documents = yaml.safe_load(file.read_text()) or []
        except yaml.YAMLError as exc:
            raise JobConfigError(f"{file}: not valid YAML: {exc}") from exc
        if not isinstance(documents, list):
            raise JobConfigError(f"{file}: expected a list of config objects (- job: ...)")
        for entry in documents:
            if not isinstance(entry, dict) or "job" not in entry:
                continue  # projects, nodesets... are read by the full parser, not here
            body = entry["job"]
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                raise JobConfigError(f"{file}: every job needs a name")
            jobs[body["name"]] = (file, body)
    return root, jobs


def _playbooks(value: Any, root: Path, where: str) -> tuple[Playbook, ...]:
    if value is None:
        return ()
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise JobConfigError(f"{where} must be a playbook path or a list of them")
    for path in paths:
        if not (root / path).is_file():
            raise JobConfigError(f"{where}: playbook {path} not found in {root}")
    return tuple(Playbook(root, p) for p in paths)


def _nodeset(value: Any, where: str) -> tuple[tuple[NodeSpec, ...], tuple[GroupSpec, ...]]:
    if value is None:
        return (), ()
    nodes_value = value.get("nodes", []) if isinstance(value, dict) else value
    groups_value = value.get("groups", []) if isinstance(value, dict) else []
    if not isinstance(nodes_value, list):
        raise JobConfigError(f"{where}: nodeset must be a list of {{name, label}}")
    nodes = []
    for node in nodes_value:
        if not isinstance(node, dict) or not {"name", "label"} <= node.keys():
            raise JobConfigError(f"{where}: every node needs a name and a label")
        names = node["name"] if isinstance(node["name"], list) else [node["name"]]
        nodes += [NodeSpec(str(name), str(node["label"])) for name in names]
    groups = []
    for group in groups_value:
        if not isinstance(group, dict) or "name" not in group:
            raise JobConfigError(f"{where}: every group needs a name and nodes")
        members = group.get("nodes", [])
        members = [members] if isinstance(members, str) else members
        groups.append(GroupSpec(str(group["name"]), tuple(str(m) for m in members)))
    return tuple(nodes), tuple(groups)


def job_spec(path: Path, name: str) -> JobSpec:
    """The job called ``name`` in the config at ``path``, ready to run."""
    root, jobs = load_jobs(path)
    if name not in jobs:
        known = ", ".join(sorted(jobs)) or "none"
        raise JobConfigError(f"no job named {name!r} in {path} (jobs there: {known})")
    file, body = jobs[name]
    where = f"{file}: job {name}"
    if "parent" in body:
        raise JobConfigError(f"{where}: job inheritance (parent) is not supported by "
                             "run-job yet; list the parent's playbooks in the job itself")
    unknown = sorted(set(body) - KNOWN_KEYS)
    if unknown:
        raise JobConfigError(f"{where}: unsupported attribute(s) {', '.join(unknown)}; "
                             f"run-job reads {', '.join(sorted(KNOWN_KEYS))}")
    nodes, groups = _nodeset(body.get("nodeset"), where)
    for key in ("vars", "host-vars", "group-vars"):
        if not isinstance(body.get(key, {}), dict):
            raise JobConfigError(f"{where}: {key} must be a mapping")
    try:
        return JobSpec(
            name=name,
            pre_run=_playbooks(body.get("pre-run"), root, f"{where} pre-run"),
            run=_playbooks(body.get("run"), root, f"{where} run"),
            post_run=_playbooks(body.get("post-run"), root, f"{where} post-run"),
            nodes=nodes, groups=groups, vars=dict(body.get("vars", {})),
            host_vars=dict(body.get("host-vars", {})),
            group_vars=dict(body.get("group-vars", {})),
            timeout=float(body["timeout"]) if "timeout" in body else 1800.0,
            post_timeout=float(body["post-timeout"]) if "post-timeout" in body else 1800.0,
            attempts=int(body.get("attempts", 3)), voting=bool(body.get("voting", True)),
            tags=tuple(str(t) for t in body.get("tags", [])))
    except JobConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise JobConfigError(f"{where}: {exc}") from exc


def run_job(config_dir: Path, job_name: str, src_dir: Path, provider: Provider,
            on_line: LineSink | None = None, *, builds_root: Path | None = None,
            project_name: str | None = None, hostname: str = "localhost",
            branch: str = "main", change: str | None = None,
            patchset: str | None = None) -> BuildResult:
    """Run ``job_name`` from the config at ``config_dir`` on fresh nodes from ``provider``,
    testing the repository at ``src_dir``; stream the log to ``on_line``.

    With ``change``/``patchset`` the build looks like a check of that change (``zuul.change``
    is set); without, like a run on the tip of ``branch``.
    """
    job = job_spec(Path(config_dir), job_name)
    source = Path(src_dir).absolute()
    if not source.is_dir():
        raise JobConfigError(f"source folder {source} does not exist")
    project = Project(name=project_name or source.name, canonical_hostname=hostname,
                      source=source)
    root = builds_root or Path(tempfile.mkdtemp(prefix="keepgreen-builds-"))
    if change is not None:
        item = Item(project, branch=branch, change=change, patchset=patchset or "1",
                    ref=f"refs/changes/{int(change) % 100:02d}/{change}/{patchset or '1'}"
                    if change.isdigit() else f"refs/changes/{change}")
    else:
        item = Item(project, branch=branch, ref=f"refs/heads/{branch}")
    request = BuildRequest(uuid=uuid.uuid4().hex, job=job, item=item,
                           pipeline="run-job", buildset=uuid.uuid4().hex)
    return Executor(ExecutorSettings(builds_root=root), provider).run_build(request, on_line)
