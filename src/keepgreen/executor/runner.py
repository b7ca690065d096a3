"""The executor: run one build of a job on short-lived nodes and say how it ended.

``Executor.run_build`` gets nodes from a provider for each attempt, runs the attempt and
deletes the nodes (always, even when the attempt blows up), retrying as Zuul's rules say.
``Executor.run_attempt`` runs the playbooks of one attempt on nodes it is given; a
scheduler that does its own retries, or a benchmark that boots nodes first, calls it
directly.

One attempt: prepare the build folder (``jobdir``), copy the repositories under test to
``work/src``, write the inventory with the ``zuul`` variables, start one relay per node,
place the sources on the nodes (``node_files``), run the pre-run, run and post-run
playbooks, each in its own sandboxed ``ansible-playbook``, and bring the nodes' logs back.
``timeout`` bounds pre-run and run together (each pre-run playbook also ``pre_timeout``
when set); each post-run playbook gets ``post_timeout``; post-run playbooks see
``zuul_success``.

Early failure (Zuul's): the executor follows the ``keepgreen_events`` file of each run
playbook while it runs; the first task that fails for good (not ignored, not in a block
that rescues it) calls the build's ``on_early_failure`` once with a one-line reason, so a
gate can reset the items behind before the build ends. The build itself goes on (post-run
included) and reports its final result as usual; pre-run and post-run failures never
signal (a pre-run failure is retried, a post-run one comes after the run's verdict).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from keepgreen.domain.node import Node, Provider
from keepgreen.executor import ansible_process, node_files, secrets, verdict, zuulvars
from keepgreen.executor import dry_run as dry_run_mod
from keepgreen.executor.ansible_process import LineSink, OutputLog
from keepgreen.executor.early_failure import EarlyFailureSink, OnlyFirst, failure_watch
from keepgreen.executor.jobdir import JobDir, JobDirError
from keepgreen.executor.model import AttemptRecord, BuildRequest, BuildResult, Playbook, Result
from keepgreen.executor.node_files import NodeLink
from keepgreen.executor.node_source import NodeSource, NodeUnavailable, ProviderNodes
from keepgreen.executor.relay import NodeRelay
from keepgreen.executor.sandbox import PLUGINS, RELAY, Sandbox, python_roots
from keepgreen.executor.secrets import KeySource
from keepgreen.executor.verdict import PlaybookRun, Status, Verdict


class Limits(NamedTuple):
    """How long one playbook may take: ``seconds`` left, the ``whole`` limit a timeout
    message names, and that limit's ``name``."""

    seconds: float | None
    whole: float | None
    name: str = "timeout"


def default_ansible_playbook() -> Path:
    """The ``ansible-playbook`` of the Python running keepgreen (its virtualenv's)."""
    return Path(sys.executable).parent / "ansible-playbook"


@dataclass(frozen=True)
class ExecutorSettings:
    """``builds_root`` keeps one folder per build attempt (``<uuid>/<attempt>``) with its
    logs; ``node_python`` is the nodes' ``ansible_python_interpreter``."""

    builds_root: Path
    sandbox: Sandbox = field(default_factory=Sandbox)
    ansible_playbook: Path = field(default_factory=default_ansible_playbook)
    node_python: str = "auto_silent"
    forks: int = 10


@dataclass(frozen=True)
class AttemptOutcome:
    verdict: Verdict
    jobdir: Path
    started: float
    ended: float
    zuul_return: Mapping[str, Any]
    runs: tuple[PlaybookRun, ...] = ()
    node_seconds: float = 0.0  # how long the attempt waited for its nodes

    def stages(self) -> tuple[tuple[str, float], ...]:
        phases = {"pre": "pre-run", "run": "run", "post": "post-run"}
        played = [(f"{phases.get(r.phase, r.phase)} {r.playbook}", r.seconds)
                  for r in self.runs]
        setup = max(self.ended - self.started - sum(s for _, s in played), 0.0)
        return (("nodes", self.node_seconds), ("setup", setup), *played)


class _Stop:
    """Set to stop one build; ``reason`` says why (a cancel) or is empty (an abort)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""


class Executor:
    """Runs builds; safe to use from one thread per build. ``abort`` stops them all,
    ``cancel`` one."""

    def __init__(self, settings: ExecutorSettings, provider: Provider | None = None, *,
                 nodes: NodeSource | None = None, secret_keys: KeySource | None = None) -> None:
        self.settings = settings
        self.secret_keys = secret_keys  # private keys of projects, for their secrets
        self.provider = provider
        self.nodes = nodes if nodes is not None else (
            ProviderNodes(provider) if provider is not None else None)
        self._abort = threading.Event()
        self._stops: dict[str, _Stop] = {}  # running builds by uuid
        self._lock = threading.Lock()
        self._local = threading.local()  # the stop of the build this thread runs

    def abort(self) -> None:
        self._abort.set()
        with self._lock:
            for stop in self._stops.values():
                stop.event.set()

    def cancel(self, uuid: str, reason: str) -> bool:
        """Stop build ``uuid`` at once (its playbook is killed, its nodes go back; a build
        still waiting for nodes stops waiting). Returns whether it was running here."""
        with self._lock:
            stop = self._stops.get(uuid)
        if stop is None:
            return False
        stop.reason = reason
        stop.event.set()
        cancel_wait = getattr(self.nodes, "cancel", None)
        if callable(cancel_wait):
            cancel_wait(uuid)
        return True

    def _stopping(self) -> threading.Event:
        """The stop event of the build the calling thread runs (the abort outside one)."""
        stop = getattr(self._local, "stop", None)
        return stop.event if stop is not None else self._abort

    # --- a whole build, with its nodes and retries ------------------------------------

    def run_build(self, request: BuildRequest, on_line: LineSink | None = None, *,
                  on_early_failure: EarlyFailureSink | None = None) -> BuildResult:
        """Run every attempt the build needs. ``on_early_failure`` is called (at most once,
        from this thread) as soon as a task of a run playbook fails for good."""
        stop = _Stop()
        with self._lock:
            self._stops[request.uuid] = stop
            if self._abort.is_set():
                stop.event.set()
        self._local.stop = stop
        try:
            result = self._run_build(request, on_line, on_early_failure)
        finally:
            self._local.stop = None
            with self._lock:
                self._stops.pop(request.uuid, None)
        if stop.reason and result.result in (Result.ABORTED, Result.NODE_FAILURE):
            result = dataclasses.replace(result, result=Result.ABORTED,
                                         reason=f"cancelled: {stop.reason}")
        return result

    def _run_build(self, request: BuildRequest, on_line: LineSink | None,
                   on_early_failure: EarlyFailureSink | None) -> BuildResult:
        started = time.time()
        early = OnlyFirst(on_early_failure) if on_early_failure is not None else None
        records: list[AttemptRecord] = []
        job = request.job
        last: AttemptOutcome | None = None
        tries = max(1, job.attempts)
        # A build handed out again after its executor was lost starts at its next attempt,
        # and still gets no more than the job's attempts in all (the last one at least).
        final = max(request.attempt, tries)
        for number in range(request.attempt, final + 1):
            attempt = dataclasses.replace(request, attempt=number)
            if self._stopping().is_set():
                return self._result(request, Result.ABORTED, "aborted before the attempt "
                                    f"{number} started", started, records, last)
            booting = time.monotonic()
            preamble: list[str] = []
            waiting = _Recorder(preamble, on_line)
            nodes, problem = self._acquire(attempt, waiting)
            waited = time.monotonic() - booting
            if nodes:
                waiting(f"[executor] attempt {number}: {len(nodes)} node(s) ready in "
                        f"{waited:.2f} s")
            if problem is not None:
                records.append(AttemptRecord(number, Result.NODE_FAILURE, problem))
                return self._result(request, Result.NODE_FAILURE, problem, started, records,
                                    last)
            ended: Result | None = None
            try:
                last = replace(self.run_attempt(attempt, nodes, on_line, preamble=preamble,
                                                on_early_failure=early),
                               node_seconds=waited)
                last = self._check_nodes(last, nodes, on_line)
                ended = last.verdict.result
            finally:
                for line in self._release(attempt, nodes, ended):
                    self._append(last, line, on_line)
            outcome = last.verdict
            records.append(AttemptRecord(number, outcome.result, outcome.reason,
                                         last.jobdir / "work" / "logs"))
            if not outcome.retry:
                assert outcome.result is not None
                return self._result(request, outcome.result, outcome.reason, started, records,
                                    last)
            if on_line is not None and number < final:
                on_line(f"[executor] attempt {number} will be retried: {outcome.reason}")
        assert last is not None
        limit = verdict.retry_limit(tries, last.verdict.reason)
        assert limit.result is not None
        return self._result(request, limit.result, limit.reason, started, records, last)

    def _result(self, request: BuildRequest, result: Result, reason: str, started: float,
                records: list[AttemptRecord], last: AttemptOutcome | None) -> BuildResult:
        return BuildResult(
            uuid=request.uuid, job=request.job.name, result=result, reason=reason,
            started=started, ended=time.time(),
            log_dir=last.jobdir / "work" / "logs" if last else None,
            zuul_return=last.zuul_return if last else {}, attempts=tuple(records),
            voting=request.job.voting,
            dry_run=dry_run_mod.summary(JobDir(last.jobdir).events("run", index)
                                        for index in range(len(request.job.run)))
            if last and request.job.dry_run else None,
            stages=last.stages() if last else ())

    def _acquire(self, request: BuildRequest,
                 on_line: LineSink) -> tuple[dict[str, Node], str | None]:
        if not request.job.nodes:
            return {}, None
        if self.nodes is None:
            return {}, "the job needs nodes but the executor has no node provider"
        try:
            return self.nodes.acquire(request, on_line), None
        except NodeUnavailable as exc:
            return {}, verdict.one_line(str(exc))

    def _release(self, request: BuildRequest, nodes: Mapping[str, Node],
                 result: Result | None) -> list[str]:
        """Hand the nodes back; returns lines for the build's log (for example a hold)."""
        if self.nodes is None or not nodes:
            return []
        try:
            return self.nodes.release(request, nodes, result)
        except Exception as exc:
            # The node pool's sweep deletes what a failed release left behind.
            return [f"[executor] could not return the nodes: {exc}"]

    def _check_nodes(self, outcome: AttemptOutcome, nodes: Mapping[str, Node],
                     on_line: LineSink | None) -> AttemptOutcome:
        """A failed attempt whose node ran out of memory or disk fails with that reason."""
        trouble = getattr(self.nodes, "trouble", None)
        if outcome.verdict.result is Result.SUCCESS or not callable(trouble):
            return outcome
        reason = trouble(nodes)
        if not reason:
            return outcome
        self._append(outcome, f"[executor] result: FAILURE: {reason}", on_line)
        return dataclasses.replace(outcome, verdict=Verdict(Result.FAILURE, str(reason)))

    @staticmethod
    def _append(outcome: AttemptOutcome | None, line: str, on_line: LineSink | None) -> None:
        if on_line is not None:
            on_line(line)
        if outcome is not None:
            path = outcome.jobdir / "work" / "logs" / "job-output.txt"
            stamp = datetime.datetime.now().isoformat(sep=" ", timespec="milliseconds")
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"{stamp} | {line}\n")

    # --- one attempt on given nodes ---------------------------------------------------

    def run_attempt(self, request: BuildRequest, nodes: Mapping[str, Node],
                    on_line: LineSink | None = None, *,
                    preamble: Sequence[str] = (),
                    on_early_failure: EarlyFailureSink | None = None) -> AttemptOutcome:
        """Run the playbooks of one attempt on ``nodes`` (keyed by node-set name).

        Whatever goes wrong on the executor's side ends the attempt with ERROR and the
        exception's sentence as the reason; it never escapes as an exception.
        """
        started = time.time()
        jobdir = JobDir(self.settings.builds_root / request.uuid / str(request.attempt))
        log = OutputLog(jobdir.job_output, on_line)
        relays: list[NodeRelay] = []
        runs: list[PlaybookRun] = []
        returned: dict[str, Any] = {}
        try:
            jobdir.create(self.settings.sandbox)
            log.open()
            log.line(f"[executor] build {request.uuid} of job {request.job.name}, "
                     f"attempt {request.attempt} of {request.job.attempts}")
            log.on_line = None  # the live log has seen the waiting lines already
            for line in preamble:
                log.line(line)
            log.on_line = on_line
            links = self._prepare(request, nodes, jobdir, log, relays)
            runs.extend(self._phases(request, jobdir, log, links, on_early_failure))
            returned = jobdir.zuul_return()
        except Exception as exc:
            what = str(exc) or type(exc).__name__
            runs.append(PlaybookRun("setup", "(executor)", Status.ERROR,
                                    f"the executor failed: {what}"))
        finally:
            for relay in relays:
                relay.close()
            jobdir.close()
        no_retry = (returned.get("zuul") or {}).get("retry") is False
        outcome = verdict.decide(runs, no_retry=no_retry)
        if log.redactor:
            outcome = replace(outcome, reason=log.redactor(outcome.reason))
            runs = [replace(run, detail=log.redactor(run.detail)) for run in runs]
            returned = json.loads(log.redactor(json.dumps(returned)))  # JSON forms masked
        shown = outcome.result.value if outcome.result else "RETRY"
        log.line(f"[executor] result: {shown}: {outcome.reason}")
        log.close()
        return AttemptOutcome(outcome, jobdir.root, started, time.time(), returned,
                              tuple(runs))

    def _prepare(self, request: BuildRequest, nodes: Mapping[str, Node], jobdir: JobDir,
                 log: OutputLog, relays: list[NodeRelay]) -> list[NodeLink]:
        """Copy sources, write keys, inventory, vars and config; start ``relays``. How
        the executor itself reaches each node."""
        sandbox = self.settings.sandbox
        jobdir.copy_sources(request.projects, sandbox)
        jobdir.copy_roles(request.job.roles)
        hosts: list[zuulvars.Host] = []
        known: list[str] = []
        links: list[NodeLink] = []
        for index, spec in enumerate(request.job.nodes):
            node = nodes.get(spec.name)
            if node is None:
                raise JobDirError(f"no node was given for {spec.name!r}")
            if node.connection_type != "ssh":
                # Kubernetes: no relay, key or sources copy; the inventory and
                # zuul.resources say how to reach it.
                hosts.append(zuulvars.Host(spec.name, node))
                log.line(f"[executor] node {spec.name}: {node.id} ({node.label}, "
                         f"{node.provider}) {node.connection_type} in namespace "
                         f"{node.attribute('namespace')}")
                continue
            host_path, sandbox_path = jobdir.relay_socket(index)
            relays.append(NodeRelay(host_path, node.host, node.port, _reach_netns(node)))
            if node.private_key is None:
                raise JobDirError(f"node {node.id} has no login key")
            key = jobdir.add_key(spec.name, node.private_key, sandbox)
            route = zuulvars.SshRoute(
                proxy_command=node_files.relay_proxy(sandbox_path, f"{PLUGINS}/fdpass.py"),
                known_hosts=str(jobdir.known_hosts), host_key_alias=spec.name,
                private_key=str(key))
            known.append(route.known_hosts_line(node))
            hosts.append(zuulvars.Host(spec.name, node, route))
            links.append(NodeLink(spec.name, node, route.proxy_command, route.private_key,
                                  route.known_hosts, self._node_step_sandbox(jobdir),
                                  self._sandbox_env(jobdir)))
            log.line(f"[executor] node {spec.name}: {node.id} ({node.label}, "
                     f"{node.provider}) at {node.host}:{node.port}")
        jobdir.known_hosts.write_text("".join(line + "\n" for line in known))
        paths = zuulvars.ExecutorPaths(
            hostname=socket.gethostname(), work_root=str(jobdir.work),
            src_root=str(jobdir.src), log_root=str(jobdir.logs),
            inventory_file=str(jobdir.inventory), result_data_file=str(jobdir.results))
        zuul = zuulvars.zuul_vars(request, paths, _ansible_version())
        resources = zuulvars.resources_vars({h.name: h.node for h in hosts})
        if resources:
            zuul["resources"] = resources
        jobdir.write_zuul_vars(zuul)
        jobdir.write_inventory(zuulvars.inventory(request, hosts, self.settings.node_python))
        jobdir.write_config(forks=self.settings.forks)
        for relay in relays:
            relay.start()
        return links

    def _node_step_sandbox(self, jobdir: JobDir) -> Callable[[list[str]], list[str]]:
        """How the executor's own ssh to the nodes runs: in the build's sandbox, as the
        build user, seeing only the keys, known_hosts and relays."""

        def wrap(command: list[str]) -> list[str]:
            assert jobdir.relay is not None
            return self.settings.sandbox.argv(
                read_only=[jobdir.ansible], read_write=[],
                binds={"/etc/passwd": jobdir.passwd, "/etc/group": jobdir.group,
                       RELAY: jobdir.relay},
                chdir=Path("/tmp"), command=command)

        return wrap

    def _sandbox_env(self, jobdir: JobDir) -> dict[str, str]:
        return {"PATH": f"{self.settings.ansible_playbook.parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(jobdir.home), "USER": "keepgreen", "LOGNAME": "keepgreen",
                "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp"}

    def _phases(self, request: BuildRequest, jobdir: JobDir, log: OutputLog,
                links: Sequence[NodeLink] = (),
                early: EarlyFailureSink | None = None) -> list[PlaybookRun]:
        job = request.job
        runs: list[PlaybookRun] = []
        begun = time.monotonic()

        def remaining() -> float | None:
            return None if job.timeout is None else job.timeout - (time.monotonic() - begun)

        def pre_limits() -> Limits:
            left = remaining()
            if job.pre_timeout is None or (left is not None and left <= job.pre_timeout):
                return Limits(left, job.timeout)
            return Limits(job.pre_timeout, job.pre_timeout, "pre-timeout")

        achieved: int | None = None  # deepest nesting level whose pre-run started
        failed = False
        # The executor's own steps: sources onto the nodes first, logs back last (not in a
        # dry run, whose playbooks change nothing either).
        steps = list(links) if not job.dry_run else []
        if steps and not self._stopping().is_set():
            placed = node_files.place_sources(steps, jobdir.src, log.line, remaining())
            runs.append(placed)
            if placed.status is not Status.OK:
                return runs  # nothing of the job ran on the nodes: no post-run either
        for index, playbook in enumerate(job.pre_run):
            achieved = playbook.nesting_level if achieved is None else max(
                achieved, playbook.nesting_level)
            run = self._playbook(jobdir, log, "pre", index, playbook,
                                 pre_limits(), {}, dry_run=job.dry_run,
                                 mask=job.mask_secrets)
            runs.append(run)
            if run.status is not Status.OK:
                failed = True
                break
        if not failed:
            achieved = None  # every level's pre-run ran: all post-run playbooks run
            for index, playbook in enumerate(job.run):
                run = self._playbook(jobdir, log, "run", index, playbook,
                                     Limits(remaining(), job.timeout), {}, early,
                                     dry_run=job.dry_run, mask=job.mask_secrets)
                runs.append(run)
                if run.status is not Status.OK:
                    break
        if any(r.status in (Status.ABORTED, Status.ERROR) for r in runs):
            return runs
        success = not failed and all(r.status is Status.OK for r in runs)
        will_retry = verdict.decide(runs).retry and request.attempt < job.attempts
        extra = {"zuul_success": success, "zuul_will_retry": will_retry}
        for index, playbook in enumerate(job.post_run):
            if achieved is not None and playbook.nesting_level > achieved:
                log.line(f"[executor] skipping post-run {playbook.label}: its pre-run "
                         "did not run")
                continue
            run = self._playbook(jobdir, log, "post", index, playbook,
                                 Limits(job.post_timeout, job.post_timeout, "post-timeout"),
                                 extra, dry_run=job.dry_run, mask=job.mask_secrets)
            runs.append(run)
            if run.status is Status.ABORTED:
                return runs
        if steps and not self._stopping().is_set():
            runs.append(node_files.collect_logs(steps, jobdir.logs, log.line,
                                                job.post_timeout))
        return runs

    def _ansible_root(self) -> list[Path]:
        """The virtualenv of ``ansible-playbook`` when it is not the one running here
        (its base Python must then be this one's, or live under /usr)."""
        venv = self.settings.ansible_playbook.absolute().parent.parent
        if _covered(venv, [Path("/usr"), *python_roots()]):
            return []
        return [venv]

    def _playbook(self, jobdir: JobDir, log: OutputLog, phase: str, index: int,
                  playbook: Playbook, limits: Limits,
                  extra: Mapping[str, Any],
                  early: EarlyFailureSink | None = None, *, dry_run: bool = False,
                  mask: bool = False) -> PlaybookRun:
        """Run one playbook within ``limits``.
        ``early`` is told of the first failed task while the playbook runs; ``dry_run``
        runs it in check mode, and ``mask`` gives it the mask for each secret value."""
        timeout = limits.seconds
        label = playbook.label
        if self._stopping().is_set():
            return PlaybookRun(phase, label, Status.ABORTED, "the build was aborted")
        if timeout is not None and timeout <= 0:
            return PlaybookRun(phase, label, Status.TIMED_OUT,
                               "no time left of the job's timeout")
        source = playbook.source.resolve()
        path = (source / playbook.path).resolve()
        if not path.is_file():
            return PlaybookRun(phase, label, Status.ERROR,
                               f"playbook {playbook.path} not found in {playbook.source}")
        assert jobdir.relay is not None
        command = [str(self.settings.ansible_playbook), "-e", f"@{jobdir.zuul_vars}", str(path)]
        if extra:
            command += ["-e", json.dumps(dict(extra))]
        if dry_run:
            command += dry_run_mod.CHECK_ARGS
        secret_vars = jobdir.ansible / f"secrets-{phase}-{index}.yaml"
        if playbook.secrets and mask:
            try:  # opened only to mask them: a host's files may hold them already
                log.redactor.add(secrets.open_bindings(playbook.secrets, self.secret_keys))
            except secrets.SecretsError:
                pass  # the playbook gets the mask either way
            secrets.write_vars(secret_vars, dry_run_mod.placeholders(playbook.secrets),
                               (self.settings.sandbox.uid, self.settings.sandbox.gid))
            command += ["-e", f"@{secret_vars}"]
        elif playbook.secrets:
            try:
                values = secrets.open_bindings(playbook.secrets, self.secret_keys)
            except secrets.SecretsError as exc:
                return PlaybookRun(phase, label, Status.ERROR, str(exc))
            log.redactor.add(values)
            secrets.write_vars(secret_vars, values,
                               (self.settings.sandbox.uid, self.settings.sandbox.gid))
            command += ["-e", f"@{secret_vars}"]
        try:
            return self._sandboxed(jobdir, log, phase, index, playbook, limits, command, early,
                                   diffs=dry_run and phase == "run")
        finally:
            secret_vars.unlink(missing_ok=True)
            events = jobdir.events(phase, index)
            if log.redactor and events.exists():  # task results stay with the build
                events.write_text(log.redactor(events.read_text(errors="replace")))

    def _sandboxed(self, jobdir: JobDir, log: OutputLog, phase: str, index: int,
                   playbook: Playbook, limits: Limits,
                   command: list[str], early: EarlyFailureSink | None, *,
                   diffs: bool = False) -> PlaybookRun:
        timeout = limits.seconds
        label = playbook.label
        source = playbook.source.resolve()
        events = jobdir.events(phase, index)
        sandbox = self.settings.sandbox
        argv = sandbox.argv(
            read_only=[jobdir.ansible, source, *self._ansible_root()],
            read_write=[jobdir.work, jobdir.home, jobdir.state],
            binds={"/etc/passwd": jobdir.passwd, "/etc/group": jobdir.group,
                   RELAY: jobdir.relay},
            chdir=jobdir.work, command=command)
        env = {**self._sandbox_env(jobdir), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "ANSIBLE_CONFIG": str(jobdir.config), "KEEPGREEN_EVENTS": str(events),
               "KEEPGREEN_RESULTS": str(jobdir.results)}
        if diffs:
            env[dry_run_mod.ENV] = "1"
        where = {"pre": "pre-run", "run": "run", "post": "post-run"}[phase]
        log.line(f"[executor] {where} playbook {label} starting")
        outcome = ansible_process.run(argv, env, log, timeout=timeout, abort=self._stopping(),
                                      watch=failure_watch(events, early, log))
        run = replace(ansible_process.classify(phase, label, outcome,
                                               ansible_process.read_events(events),
                                               limits.whole, limits.name),
                      seconds=outcome.seconds)
        log.line(f"[executor] {where} playbook {label}: {run.status.value} "
                 f"({outcome.seconds:.2f} s)")
        return run


@dataclass
class _Recorder:
    """Keeps lines said before the attempt's log exists, passing them on live as well."""

    lines: list[str]
    on_line: LineSink | None

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _reach_netns(node: Node) -> str | None:
    """The network namespace a node is reached from: the last one a node names (the local
    provider's executor side, or the namespace a static host sits behind); nodes that
    name none are reached directly."""
    return node.netns[-1] if node.netns else None


def _ansible_version() -> str:
    try:
        return metadata.version("ansible-core")
    except metadata.PackageNotFoundError:
        return ""
