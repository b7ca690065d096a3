"""Schema-checked parsers for one configuration file and every object type in it.

``parse_file`` reads the list of objects of one file (``- job: ...``, ``- project: ...``),
applies the file's ``pragma``, parses each object with its own parser, and collects one
``ConfigError`` per broken object so a single typo does not hide the others. Objects that
only the trusted config project may define (pipelines, base jobs, queues) are refused
anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, TypeAlias

from keepgreen.jobconf import schema
from keepgreen.jobconf.jobparser import FileContext, parse_job, parse_nodeset
from keepgreen.jobconf.model import (
    Encrypted,
    Job,
    Matcher,
    Nodeset,
    Pipeline,
    ProjectConfig,
    ProjectPipeline,
    ProjectTemplate,
    Queue,
    Secret,
    Semaphore,
)
from keepgreen.jobconf.pipelineparser import parse_pipeline
from keepgreen.jobconf.source import (
    ENCRYPTED_TAG,
    ConfigError,
    Located,
    MappingNode,
    Position,
    ScalarNode,
    SequenceNode,
    describe,
    to_plain,
)

ConfigObject: TypeAlias = (Job | ProjectConfig | ProjectTemplate | Nodeset | Semaphore | Queue
                           | Secret | Pipeline)

OBJECT_TYPES = ("job", "project", "project-template", "nodeset", "semaphore", "queue",
                "secret", "pipeline", "pragma")
# keepgreen keeps these site-wide objects in the reviewed config project only: they are not
# applied speculatively, so an untrusted project could otherwise change them for everyone.
# Semaphores may be defined in any project, as in Zuul; names are unique across the site, so
# a project cannot redefine one the config project (read first) defines.
TRUSTED_ONLY = {"pipeline": "pipelines", "queue": "queues"}
MERGE_MODES = ("merge", "merge-resolve", "cherry-pick", "squash-merge", "rebase")


@dataclass(frozen=True)
class ParsedFile:
    """The objects of one file in order, the errors found, and the (kind, name) of each
    object that could not be parsed (so later checks do not report it missing too)."""

    objects: tuple[ConfigObject, ...] = ()
    errors: tuple[ConfigError, ...] = ()
    broken: frozenset[tuple[str, str]] = frozenset()


def parse_file(tree: Located | None, *, project: str, branch: str, path: str, trusted: bool,
               multi_branch: bool = False) -> ParsedFile:
    """Parse one configuration file of ``project`` on ``branch``.

    ``multi_branch`` says the (untrusted) project has more than one branch, which gives its
    jobs implied branch matchers as in Zuul.
    """
    if tree is None:
        return ParsedFile()
    if not isinstance(tree, SequenceNode):
        return ParsedFile(errors=(ConfigError.at(tree, 'a configuration file must be a list '
                                                       'of objects such as "- job:", not '
                                                       + describe(tree)),))
    errors: list[ConfigError] = []
    entries: list[tuple[str, ScalarNode, Located]] = []
    for item in tree.items:
        try:
            entries.append(_object_entry(item))
        except ConfigError as exc:
            errors.append(exc)
    try:
        ctx = _file_context([e for e in entries if e[0] == "pragma"], project, branch, path,
                            trusted, multi_branch)
    except ConfigError as exc:
        errors.append(exc)
        ctx = FileContext(project, branch, path, trusted)
    objects: list[ConfigObject] = []
    broken: set[tuple[str, str]] = set()
    for kind, key_node, body in entries:
        if kind == "pragma":
            continue
        try:
            if kind in TRUSTED_ONLY and not trusted:
                raise ConfigError.at(key_node, f"{TRUSTED_ONLY[kind]} may only be defined in "
                                               "the trusted config project, not in "
                                               f'"{project}"')
            objects.append(_PARSERS[kind](body, ctx))
        except ConfigError as exc:
            errors.append(exc)
            name = body.get("name") if isinstance(body, MappingNode) else None
            if isinstance(name, ScalarNode) and isinstance(name.value, str):
                broken.add((kind, name.value))
    return ParsedFile(tuple(objects), tuple(errors), frozenset(broken))


def _object_entry(item: Located) -> tuple[str, ScalarNode, Located]:
    if not isinstance(item, MappingNode) or len(item.entries) != 1:
        raise ConfigError.at(item, "each entry of a configuration file must be one object "
                                   'such as "- job:" with its attributes below it')
    key_node, body = item.entries[0]
    kind = key_node.value
    if not isinstance(kind, str) or kind not in OBJECT_TYPES:
        shown = f'"{kind}"' if isinstance(kind, str) else describe(key_node)
        raise ConfigError.at(key_node, f"unknown configuration object {shown}"
                                       + schema.did_you_mean(str(kind), OBJECT_TYPES))
    return kind, key_node, body


def _file_context(pragmas: list[tuple[str, ScalarNode, Located]], project: str, branch: str,
                  path: str, trusted: bool, multi_branch: bool) -> FileContext:
    enabled: bool | None = None
    implied: tuple[Matcher, ...] | None = None
    for _, _, node in pragmas:
        body = schema.mapping(node, "a pragma")
        schema.check_keys(body, "this pragma", ("implied-branch-matchers", "implied-branches"))
        for key_node, value in body.entries:
            if key_node.value == "implied-branch-matchers":
                flag = schema.boolean(value, "this pragma", "implied-branch-matchers")
                if enabled is not None and flag != enabled:
                    raise ConfigError.at(value, "a pragma may not change a setting an "
                                                "earlier pragma in this file made")
                enabled = flag
            else:
                implied = schema.matchers(value, "this pragma", "implied-branches")
    if enabled is False or (enabled is None and (trusted or not multi_branch)):
        branches = None
    else:
        branches = implied or (Matcher(branch, exact=True),)
    return FileContext(project, branch, path, trusted, branches)


PROJECT_ATTRIBUTES = ("name", "description", "templates", "queue", "merge-mode",
                      "default-branch", "vars", "branches")
TEMPLATE_ATTRIBUTES = ("name", "description", "queue", "vars")
PROJECT_PIPELINE_ATTRIBUTES = ("jobs", "debug", "fail-fast")


def parse_project(node: Located, ctx: FileContext) -> ProjectConfig:
    body = schema.mapping(node, "a project")
    name_node = body.get("name")
    name = ctx.project if name_node is None else schema.text(name_node, "this project", "name")
    what = f'project "{name}"'
    if not ctx.trusted and name != ctx.project:
        raise ConfigError.at(name_node or body, f'{what} cannot be configured from '
                                                f'"{ctx.project}"; an untrusted project may '
                                                "only configure itself")
    if name.startswith("^"):
        schema.compile_regex(name_node or body, name, what, "name")
    fields, pipelines = _stanza(body, what, ctx, PROJECT_ATTRIBUTES)
    if "branches" not in fields and not ctx.trusted:
        fields["branches"] = (Matcher(ctx.branch, exact=True),)
    elif "branches" not in fields:
        fields["branches"] = ctx.implied_branches
    return ProjectConfig(name=name, source=ctx.source(body.position), pipelines=pipelines,
                         **fields)


def parse_project_template(node: Located, ctx: FileContext) -> ProjectTemplate:
    body = schema.mapping(node, "a project-template")
    name = schema.name_of(body, "project-template")
    what = f'project-template "{name}"'
    for key in ("templates", "merge-mode", "default-branch", "branches"):
        key_node = body.key_node(key)
        if key_node is not None:
            raise ConfigError.at(key_node, f'{what} may not set "{key}"; only a project can')
    fields, pipelines = _stanza(body, what, ctx, TEMPLATE_ATTRIBUTES)
    return ProjectTemplate(name=name, source=ctx.source(body.position), pipelines=pipelines,
                           branches=ctx.implied_branches, **fields)


def _stanza(body: MappingNode, what: str, ctx: FileContext, attributes: tuple[str, ...]
            ) -> tuple[dict[str, Any], Mapping[str, ProjectPipeline]]:
    """The attributes of a project or template, and one entry per other key (a pipeline)."""
    fields: dict[str, Any] = {}  # attribute -> what its reader returned
    positions: dict[str, Position] = {}
    pipelines: dict[str, ProjectPipeline] = {}
    for key_node, value in body.entries:
        key = key_node.value
        if not isinstance(key, str):
            raise ConfigError.at(key_node, f"{what} has a key that is not text: "
                                           f"{describe(key_node)}")
        if key == "name":
            continue
        if key not in attributes:
            if not isinstance(value, MappingNode):
                hint = schema.did_you_mean(key, attributes)
                raise ConfigError.at(key_node, f'{what} has unknown key "{key}"{hint}' if hint
                                     else f'{what}: "{key}" is not a project attribute, so it '
                                          'names a pipeline and needs a mapping with "jobs", '
                                          f"not {describe(value)}")
            pipelines[key] = _project_pipeline(key, key_node, value, what, ctx)
            continue
        attr = key.replace("-", "_")
        positions[attr] = value.position
        if key == "templates":
            fields[attr] = schema.text_list(value, what, key)
        elif key == "vars":
            fields[attr] = schema.plain_mapping(value, what, key)
        elif key == "branches":
            fields[attr] = schema.matchers(value, what, key)
        elif key == "merge-mode":
            fields[attr] = schema.choice(value, what, key, MERGE_MODES)
        else:
            fields[attr] = schema.text(value, what, key)
    fields["positions"] = MappingProxyType(positions)
    return fields, MappingProxyType(pipelines)


def _project_pipeline(pipeline: str, key_node: ScalarNode, node: Located, what: str,
                      ctx: FileContext) -> ProjectPipeline:
    label = f'{what}, pipeline "{pipeline}"'
    body = schema.mapping(node, label)
    schema.check_keys(body, label, PROJECT_PIPELINE_ATTRIBUTES)
    jobs_node = body.get("jobs")
    if jobs_node is None:
        raise ConfigError.at(body, f'{label} needs "jobs"')
    jobs: list[Job] = []
    if not (isinstance(jobs_node, ScalarNode) and jobs_node.value is None):
        for item in schema.items(jobs_node, label, "jobs"):
            if isinstance(item, ScalarNode) and isinstance(item.value, str) and item.value:
                jobs.append(Job(item.value, ctx.source(item.position)))
            elif (isinstance(item, MappingNode) and len(item.entries) == 1
                    and isinstance(item.entries[0][0].value, str)):
                job_key, variant = item.entries[0]
                job = parse_job(variant, ctx, variant_of=str(job_key.value))
                jobs.append(replace(job, source=ctx.source(job_key.position)))
            else:
                raise ConfigError.at(item, f'{label}: each entry of "jobs" must be a job name '
                                           "or one job name with its attributes below it")
    debug = body.get("debug")
    fail_fast = body.get("fail-fast")
    return ProjectPipeline(
        pipeline, tuple(jobs),
        debug=False if debug is None else schema.boolean(debug, label, "debug"),
        fail_fast=None if fail_fast is None else schema.boolean(fail_fast, label, "fail-fast"),
        position=key_node.position)


def parse_semaphore(node: Located, ctx: FileContext) -> Semaphore:
    body = schema.mapping(node, "a semaphore")
    name = schema.name_of(body, "semaphore")
    what = f'semaphore "{name}"'
    schema.check_keys(body, what, ("name", "max"))
    limit = body.get("max")
    return Semaphore(name, 1 if limit is None else schema.integer(
        limit, what, "max", 1, "a whole number, at least 1"), ctx.source(body.position))


def parse_queue(node: Located, ctx: FileContext) -> Queue:
    body = schema.mapping(node, "a queue")
    name = schema.name_of(body, "queue")
    what = f'queue "{name}"'
    keys = ("per-branch", "allow-circular-dependencies", "dependencies-by-topic")
    schema.check_keys(body, what, ("name", *keys), ("type",))
    flags = {}
    for key in keys:
        value = body.get(key)
        flags[key] = False if value is None else schema.boolean(value, what, key)
    if flags["dependencies-by-topic"] and not flags["allow-circular-dependencies"]:
        raise ConfigError.at(body.get("dependencies-by-topic") or body,
                             f'{what}: "dependencies-by-topic" needs '
                             '"allow-circular-dependencies: true" as well')
    return Queue(name, flags["per-branch"], flags["allow-circular-dependencies"],
                 flags["dependencies-by-topic"], ctx.source(body.position))


def parse_secret(node: Located, ctx: FileContext) -> Secret:
    body = schema.mapping(node, "a secret")
    name = schema.name_of(body, "secret")
    what = f'secret "{name}"'
    schema.check_keys(body, what, ("name", "data"), ("oidc",))
    data = body.get("data")
    if data is None:
        raise ConfigError.at(body, f'{what} needs "data"')
    if not isinstance(data, MappingNode):
        raise schema.wrong(data, what, "data", "a mapping")
    value = _secret_value(data, what)
    assert isinstance(value, Mapping)
    return Secret(name, value, ctx.source(body.position))


def _secret_value(node: Located, what: str) -> object:
    if node.tag == ENCRYPTED_TAG:
        chunks = node.items if isinstance(node, SequenceNode) else (replace(node, tag=None),)
        texts = [c.value for c in chunks if isinstance(c, ScalarNode) and c.tag is None]
        if not chunks or len(texts) != len(chunks) or not all(isinstance(t, str) and t
                                                               for t in texts):
            raise ConfigError.at(node, f'{what}: an "{ENCRYPTED_TAG}" value must be base64 '
                                       "text or a list of base64 texts")
        return Encrypted(tuple(str(t) for t in texts))
    if isinstance(node, MappingNode) and node.tag is None:
        return MappingProxyType({str(k.value): _secret_value(v, what) for k, v in node.entries})
    if isinstance(node, SequenceNode) and node.tag is None:
        return tuple(_secret_value(item, what) for item in node.items)
    return to_plain(node, f'{what} "data"')


_PARSERS: dict[str, Callable[[Located, FileContext], ConfigObject]] = {
    "job": parse_job,
    "project": parse_project,
    "project-template": parse_project_template,
    "nodeset": parse_nodeset,
    "semaphore": parse_semaphore,
    "queue": parse_queue,
    "secret": parse_secret,
    "pipeline": parse_pipeline,
}
