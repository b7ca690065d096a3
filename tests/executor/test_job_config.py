"""``run-job`` reads one job from a Zuul-style config; bad input gets a sentence, and a
node set that cannot be had ends the build with NODE_FAILURE."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from keepgreen.executor.cli_entry import JobConfigError, job_spec
from keepgreen.executor.model import (
    BuildRequest,
    Item,
    JobSpec,
    NodeSpec,
    Playbook,
    Project,
    Result,
)
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.nodes.fake import FakeProvider

CONFIG = """
- job:
    name: unit
    description: runs the unit tests
    pre-run: playbooks/pre.yaml
    run: playbooks/run.yaml
    post-run: [playbooks/post.yaml]
    nodeset:
      nodes:
        - name: controller
          label: local
      groups:
        - name: ctl
          nodes: [controller]
    vars: {greeting: hello}
    timeout: 90
    post-timeout: 30
    attempts: 2
- job:
    name: plain
    run: playbooks/run.yaml
    nodeset:
      - {name: node, label: local}
- project:
    check: {jobs: [unit]}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "playbooks").mkdir()
    for name in ("pre", "run", "post"):
        (tmp_path / "playbooks" / f"{name}.yaml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "zuul.d").mkdir()
    (tmp_path / "zuul.d" / "jobs.yaml").write_text(CONFIG)
    return tmp_path


def test_a_job_is_read_with_its_playbooks_nodes_and_limits(project: Path) -> None:
    job = job_spec(project, "unit")

    assert [p.path for p in (*job.pre_run, *job.run, *job.post_run)] == [
        "playbooks/pre.yaml", "playbooks/run.yaml", "playbooks/post.yaml"]
    assert all(p.source == project for p in job.run)
    assert job.nodes == (NodeSpec("controller", "local"),)
    assert job.groups[0].nodes == ("controller",)
    assert (job.vars, job.timeout, job.post_timeout, job.attempts) == (
        {"greeting": "hello"}, 90.0, 30.0, 2)
    # The config folder itself, or one of its files, works as well.
    assert job_spec(project / "zuul.d", "plain").nodes == (NodeSpec("node", "local"),)
    assert job_spec(project / "zuul.d" / "jobs.yaml", "plain").run == job.run


@pytest.mark.parametrize(("config", "message"), [
    ("- job:\n    name: other\n    run: playbooks/run.yaml\n",
     "no job named 'unit'"),
    ("- job:\n    name: unit\n    parent: base\n    run: playbooks/run.yaml\n",
     "job inheritance (parent) is not supported"),
    ("- job:\n    name: unit\n    run: playbooks/missing.yaml\n",
     "playbook playbooks/missing.yaml not found"),
    ("- job:\n    name: unit\n    run: playbooks/run.yaml\n    semaphore: x\n",
     "unsupported attribute(s) semaphore"),
    ("- job: [unit\n", "not valid YAML"),
])
def test_config_mistakes_are_explained(project: Path, config: str, message: str) -> None:
    (project / "zuul.d" / "jobs.yaml").write_text(config)
    with pytest.raises(JobConfigError) as error:
        job_spec(project, "unit")
    assert message in str(error.value)
    assert "jobs.yaml" in str(error.value) or "no job named" in str(error.value)


def test_no_config_in_the_folder(tmp_path: Path) -> None:
    with pytest.raises(JobConfigError, match="no zuul.yaml, zuul.d/"):
        job_spec(tmp_path, "unit")


def test_a_node_that_cannot_be_had_is_a_node_failure(tmp_path: Path) -> None:
    provider = FakeProvider()
    provider.fail_next = 1
    job = JobSpec(name="unit", run=(Playbook(tmp_path, "run.yaml"),),
                  nodes=(NodeSpec("a", "local"), NodeSpec("b", "local")))
    request = BuildRequest(uuid=uuid.uuid4().hex, job=job, item=Item(Project("org/x")))

    result = Executor(ExecutorSettings(tmp_path / "builds"), provider).run_build(request)

    assert result.result is Result.NODE_FAILURE
    assert result.reason.startswith("could not get node 'a' (label local): node ")
    assert "the test said so" in result.reason
    assert provider.nodes == {}  # nothing half-made is left

    provider.fail_next = 0
    job_b = JobSpec(name="unit", run=job.run, nodes=(NodeSpec("a", "local"),
                                                     NodeSpec("b", "other-label")))
    second = Executor(ExecutorSettings(tmp_path / "builds"), provider).run_build(
        BuildRequest(uuid=uuid.uuid4().hex, job=job_b, item=Item(Project("org/x"))))
    assert second.result is Result.NODE_FAILURE and "label other-label" in second.reason
    assert provider.nodes == {} and len(provider.deleted) == 1  # node a went back
