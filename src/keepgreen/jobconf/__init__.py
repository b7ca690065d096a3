"""Zuul-style job configuration: parse, validate and freeze, with line-accurate errors.

The pure core (standard library only) takes located YAML trees and returns values:

- ``parse_file`` (``parser``) turns one file into configuration objects (``model``);
- ``build_layout`` (``layout``) reads the files of every project branch in Zuul's order and
  cross-checks names and references into a ``Layout`` (with ``errors``);
- ``freeze_job_graph`` (``freeze``) decides which jobs an item runs in a pipeline, and how,
  as a ``JobGraph`` of ``FrozenJob`` values with a reason for every job left out.

``keepgreen.jobconf.yaml_loader.load`` is the adapter that reads YAML text (PyYAML) into the
located trees; it is not imported here so the core stays free of third-party imports.
"""

from __future__ import annotations

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.jobconf.frozen import FrozenJob, JobGraph, Playbook
from keepgreen.jobconf.layout import ProjectFiles, build_layout, config_paths, config_roots
from keepgreen.jobconf.model import Layout, project_name_candidates, thaw
from keepgreen.jobconf.parser import parse_file
from keepgreen.jobconf.source import ConfigError, Position

__all__ = [
    "ConfigError",
    "FrozenJob",
    "JobGraph",
    "Layout",
    "Playbook",
    "Position",
    "ProjectFiles",
    "build_layout",
    "config_paths",
    "config_roots",
    "freeze_job_graph",
    "parse_file",
    "project_name_candidates",
    "thaw",
]
