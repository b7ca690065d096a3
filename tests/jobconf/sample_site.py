"""A realistic site for the job-configuration tests: the config project's YAML and a way to
build layouts from YAML text the way the scheduler will (load each file, then build)."""

from __future__ import annotations

from collections.abc import Mapping

from keepgreen.jobconf.layout import ProjectFiles, build_layout
from keepgreen.jobconf.model import Layout
from keepgreen.jobconf.source import ConfigError, Located
from keepgreen.jobconf.yaml_loader import load

CONFIG_PIPELINES = """\
- pipeline:
    name: check
    manager: independent
    trigger:
      gerrit:
        - event: patchset-created
        - event: comment-added
          comment: (?i)^\\s*recheck\\s*$
    success:
      gerrit:
        Verified: 1
    failure:
      gerrit:
        Verified: -1
- pipeline:
    name: gate
    manager: dependent
    precedence: high
    post-review: true
    trigger:
      gerrit:
        - event: comment-added
          approval:
            - Workflow: 1
    start:
      gerrit:
        Verified: 0
    success:
      gerrit:
        Verified: 2
        submit: true
    failure:
      gerrit:
        Verified: -2
    window-floor: 2
- pipeline:
    name: post
    manager: supercedent
    post-review: true
    trigger:
      gerrit:
        - event: ref-updated
          ref: ^refs/heads/.*$
"""

CONFIG_JOBS = """\
- nodeset:
    name: debian-small
    nodes:
      - name: primary
        label: debian-12
- nodeset:
    name: debian-pair
    nodes:
      - name: controller
        label: debian-12
      - name: compute
        label: debian-12
    groups:
      - name: workers
        nodes: [compute]
- semaphore:
    name: publish
    max: 1
- queue:
    name: integrated
    per-branch: true
- job:
    name: base
    parent: null
    description: Every job inherits from this one.
    pre-run: playbooks/base/pre.yaml
    post-run: playbooks/base/post-logs.yaml
    nodeset: debian-small
    timeout: 1800
    attempts: 3
    vars:
      logs:
        level: info
        upload: true
- job:
    name: lint
    run: playbooks/lint.yaml
    irrelevant-files:
      - ^docs/.*$
- project-template:
    name: python-jobs
    check:
      jobs:
        - lint
    gate:
      jobs:
        - lint
"""


def files(texts: Mapping[str, str]) -> dict[str, Located | ConfigError | None]:
    """Load YAML texts keyed by repository path, keeping load errors for the layout."""
    loaded: dict[str, Located | ConfigError | None] = {}
    for path, text in texts.items():
        try:
            loaded[path] = load(path, text)
        except ConfigError as exc:
            loaded[path] = exc
    return loaded


def config_project(texts: Mapping[str, str] | None = None) -> ProjectFiles:
    texts = texts if texts is not None else {"zuul.d/pipelines.yaml": CONFIG_PIPELINES,
                                             "zuul.d/jobs.yaml": CONFIG_JOBS}
    return ProjectFiles("config", "main", files(texts), trusted=True)


def project(name: str, texts: Mapping[str, str], branch: str = "main",
            multi_branch: bool = False) -> ProjectFiles:
    return ProjectFiles(name, branch, files(texts), multi_branch=multi_branch)


def site(*projects: ProjectFiles, config: Mapping[str, str] | None = None) -> Layout:
    return build_layout([config_project(config), *projects])


def errors(layout: Layout) -> list[str]:
    return [str(e) for e in layout.errors]
