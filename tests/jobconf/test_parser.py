"""One parser per object: what a well-formed object becomes, and for every kind of mistake
the exact file:line:column and sentence a user sees."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from keepgreen.jobconf.model import (
    Dependency,
    Encrypted,
    Group,
    Job,
    Matcher,
    Node,
    Nodeset,
    Pipeline,
    ProjectConfig,
    ProjectTemplate,
    Queue,
    RequiredProject,
    Secret,
    SecretUse,
    Semaphore,
    SourceContext,
    Window,
    thaw,
)
from keepgreen.jobconf.parser import ConfigObject, ParsedFile, parse_file
from keepgreen.jobconf.yaml_loader import load

APP = "org/app"


def parse(text: str, *, path: str = ".zuul.yaml", trusted: bool = False,
          project: str = APP, branch: str = "main", multi_branch: bool = False) -> ParsedFile:
    return parse_file(load(path, text), project=project, branch=branch, path=path,
                      trusted=trusted, multi_branch=multi_branch)


def only(text: str, **kwargs: object) -> ConfigObject:
    parsed = parse(text, **kwargs)  # type: ignore[arg-type]
    assert [str(e) for e in parsed.errors] == []
    (obj,) = parsed.objects
    return obj


def problems(text: str, **kwargs: object) -> list[str]:
    parsed = parse(text, **kwargs)  # type: ignore[arg-type]
    return [str(e) for e in parsed.errors]


def src(line: int, column: int = 5, *, trusted: bool = False, project: str = APP,
        path: str = ".zuul.yaml") -> SourceContext:
    return SourceContext(project, "main", path, line, column, trusted)


# --- jobs ------------------------------------------------------------------------------


def test_a_job_keeps_exactly_what_was_written() -> None:
    job = only("""\
- job:
    name: unit
    parent: tox
    description: Unit tests.
    nodeset: debian-small
    pre-run: playbooks/pre.yaml
    run: [playbooks/unit.yaml]
    post-run:
      - name: playbooks/post.yaml
    vars: !override
      tox_env: py311
      nested: {a: [1, 2]}
    required-projects:
      - org/lib
      - name: org/other
        override-checkout: stable/2
    timeout: 900
    attempts: 2
    voting: false
    files: [^src/.*, {regex: ^docs/, negate: true}]
    irrelevant-files: !inherit ^releasenotes/.*
    branches: main
    dependencies:
      - lint
      - name: build
        soft: true
    semaphore: publish
    secrets:
      - site_token
      - name: creds
        secret: upload-creds
        pass-to-parent: true
    tags: [python]
""")
    assert isinstance(job, Job)
    assert job == Job(
        name="unit", source=src(2), parent="tox", description="Unit tests.",
        nodeset="debian-small", pre_run=("playbooks/pre.yaml",), run=("playbooks/unit.yaml",),
        post_run=("playbooks/post.yaml",),
        vars=MappingProxyType({"tox_env": "py311", "nested": MappingProxyType({"a": (1, 2)})}),
        required_projects=(RequiredProject("org/lib"), RequiredProject("org/other",
                                                                        "stable/2")),
        timeout=900, attempts=2, voting=False,
        files=(Matcher("^src/.*"), Matcher("^docs/", negate=True)),
        irrelevant_files=(Matcher("^releasenotes/.*"),), branches=(Matcher("main"),),
        dependencies=(Dependency("lint"), Dependency("build", soft=True)),
        semaphores=("publish",),
        secrets=(SecretUse("site_token", "site_token"),
                 SecretUse("creds", "upload-creds", pass_to_parent=True)),
        tags=("python",), override=frozenset({"vars"}),
        inherit=frozenset({"irrelevant_files"}))
    assert thaw(job.vars) == {"tox_env": "py311", "nested": {"a": [1, 2]}}
    assert str(job.where("timeout")) == ".zuul.yaml:17:14"
    assert job.dependencies is not None and str(job.dependencies[1].position) == ".zuul.yaml:25:9"


def test_a_base_job_in_the_config_project() -> None:
    job = only("- job:\n    name: base\n    parent: null\n    run: base.yaml\n",
               trusted=True, project="config", path="zuul.yaml")
    assert isinstance(job, Job) and job.base and job.parent is None


def test_an_inline_nodeset() -> None:
    job = only("""\
- job:
    name: multi
    nodeset:
      nodes:
        - {name: controller, label: debian-12}
        - {name: compute, label: debian-12}
      groups:
        - {name: workers, nodes: [compute]}
""")
    assert isinstance(job, Job)
    assert job.nodeset == Nodeset(None, (Node("controller", "debian-12"),
                                         Node("compute", "debian-12")),
                                  (Group("workers", ("compute",)),))


def test_implied_branch_matchers_for_untrusted_projects_with_branches() -> None:
    job = only("- job:\n    name: unit\n", branch="stable/1", multi_branch=True)
    assert isinstance(job, Job) and job.branches == (Matcher("stable/1", exact=True),)
    single = only("- job:\n    name: unit\n", branch="stable/1")
    assert isinstance(single, Job) and single.branches is None
    explicit = only("- job:\n    name: unit\n    branches: ^stable/\n", multi_branch=True)
    assert isinstance(explicit, Job) and explicit.branches == (Matcher("^stable/"),)


def test_pragma_controls_implied_branches_for_the_whole_file() -> None:
    text = "- job:\n    name: unit\n- pragma:\n    implied-branch-matchers: false\n"
    job = only(text, branch="stable/1", multi_branch=True)
    assert isinstance(job, Job) and job.branches is None
    text = "- pragma:\n    implied-branches: [stable/a, stable/b]\n- job:\n    name: unit\n"
    job = only(text, branch="stable/a", multi_branch=True)
    assert isinstance(job, Job) and job.branches == (Matcher("stable/a"), Matcher("stable/b"))
    text = "- pragma:\n    implied-branch-matchers: true\n- job:\n    name: unit\n"
    job = only(text, trusted=True, project="config")
    assert isinstance(job, Job) and job.branches == (Matcher("main", exact=True),)


@pytest.mark.parametrize(("text", "message"), [
    ("- job:\n    name: unit\n    nodset: small\n",
     '.zuul.yaml:3:5: job "unit" has unknown key "nodset"; did you mean "nodeset"?'),
    ("- job:\n    name: unit\n    colour: blue\n",
     '.zuul.yaml:3:5: job "unit" has unknown key "colour"'),
    ("- job:\n    name: unit\n    roles: [{galaxy: geerlingguy.pip}]\n",
     '.zuul.yaml:3:14: job "unit": an entry of "roles" uses "galaxy", which keepgreen does '
     'not support yet'),
    ("- job:\n    name: unit\n    roles: [org/roles]\n",
     '.zuul.yaml:3:13: job "unit": "roles" must be a list of "{zuul: org/repo}" entries, not '
     'text "org/roles"'),
    ("- job:\n    name: unit\n    roles: [{name: x}]\n",
     '.zuul.yaml:3:13: job "unit": an entry of "roles" needs "zuul"'),
    ("- job:\n    run: unit.yaml\n",
     '.zuul.yaml:2:5: this job has no "name"; add one'),
    ("- job:\n    name: ''\n",
     '.zuul.yaml:2:11: this job: "name" must be non-empty text, not text ""'),
    ("- job:\n    name: unit\n    timeout: ten\n",
     '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
     'not text "ten"'),
    ("- job:\n    name: unit\n    timeout: -5\n",
     '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
     "not the number -5"),
    ("- job:\n    name: unit\n    timeout: 0\n",
     '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
     "not the number 0"),
    ("- job:\n    name: unit\n    timeout: 1.5\n",
     '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
     "not the number 1.5"),
    ("- job:\n    name: unit\n    timeout: true\n",
     '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
     "not true"),
    ("- job:\n    name: unit\n    attempts: 0\n",
     '.zuul.yaml:3:15: job "unit": "attempts" must be a whole number of attempts, at least 1, '
     "not the number 0"),
    ("- job:\n    name: unit\n    voting: 'no'\n",
     '.zuul.yaml:3:13: job "unit": "voting" must be true or false, not text "no"'),
    ("- job:\n    name: unit\n    vars: [a, b]\n",
     '.zuul.yaml:3:11: job "unit": "vars" must be a mapping, not a list'),
    ("- job:\n    name: unit\n    files:\n      - docs/(\n",
     '.zuul.yaml:4:9: job "unit": "files" has an invalid regular expression "docs/(": '
     "missing ), unterminated subpattern at position 5"),
    ("- job:\n    name: unit\n    irrelevant-files: '*.rst'\n",
     '.zuul.yaml:3:23: job "unit": "irrelevant-files" has an invalid regular expression '
     '"*.rst": nothing to repeat at position 0'),
    ("- job:\n    name: unit\n    branches: [stable/(]\n",
     '.zuul.yaml:3:16: job "unit": "branches" has an invalid regular expression "stable/(": '
     "missing ), unterminated subpattern at position 7"),
    ("- job:\n    name: unit\n    branches: {regex: '['}\n",
     '.zuul.yaml:3:23: job "unit": "branches" has an invalid regular expression "[": '
     "unterminated character set at position 0"),
    ("- job:\n    name: unit\n    branches: {pattern: main}\n",
     '.zuul.yaml:3:16: job "unit": a regular expression in "branches" has unknown key '
     '"pattern"'),
    ("- job:\n    name: unit\n    timeout: !override 5\n",
     '.zuul.yaml:3:14: job "unit": "timeout" does not take the tag "!override"; only '
     "dependencies, extra-vars, files, group-vars, host-vars, irrelevant-files, "
     "required-projects, tags, vars do"),
    ("- job:\n    name: unit\n    vars: !encrypted/pkcs1-oaep QUJD\n",
     '.zuul.yaml:3:11: job "unit": "vars" does not take the tag "!encrypted/pkcs1-oaep"; '
     "only secrets hold encrypted values"),
    ("- job:\n    name: unit\n    vars:\n      a: !override {b: 1}\n",
     '.zuul.yaml:4:10: job "unit" "vars" uses the tag "!override" inside a value; tags may '
     "only be put on a whole attribute"),
    ("- job:\n    name: unit\n    dependencies: [{name: lint, soft: maybe}]\n",
     '.zuul.yaml:3:39: job "unit": "dependencies.soft" must be true or false, not text '
     '"maybe"'),
    ("- job:\n    name: unit\n    dependencies: [{soft: true}]\n",
     '.zuul.yaml:3:20: job "unit": an entry of "dependencies" needs "name"'),
    ("- job:\n    name: unit\n    semaphore: a\n    semaphores: [b]\n",
     '.zuul.yaml:3:5: job "unit" has both "semaphore" and "semaphores"; keep only '
     '"semaphores"'),
    ("- job:\n    name: unit\n    run: {name: a.yaml, cleanup: true}\n",
     '.zuul.yaml:3:25: job "unit": a playbook in "run" uses "cleanup", which keepgreen does '
     "not support yet"),
    ("- job:\n    name: unit\n    nodeset:\n      nodes:\n        - {name: a, label: x}\n"
     "        - {name: a, label: y}\n",
     '.zuul.yaml:6:11: job "unit": the inline nodeset has two nodes named "a"'),
    ("- job:\n    name: unit\n    nodeset:\n      nodes: [{name: a, label: x}]\n"
     "      groups: [{name: g, nodes: [b]}]\n",
     '.zuul.yaml:5:33: job "unit": the inline nodeset: group "g" names node "b", which the '
     "nodeset does not have"),
])
def test_job_mistakes(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_base_jobs_only_in_the_config_project() -> None:
    assert problems("- job:\n    name: my-base\n    parent: null\n") == [
        '.zuul.yaml:3:13: job "my-base" is a base job ("parent: null"); only the config '
        "project may define base jobs"]


# --- projects and templates -------------------------------------------------------------


def test_a_project_stanza() -> None:
    project = only("""\
- project:
    templates: [python-jobs]
    queue: integrated
    merge-mode: squash-merge
    vars: {site: example}
    check:
      jobs:
        - unit
        - docs:
            voting: false
            dependencies: [unit]
    gate:
      fail-fast: true
      jobs: [unit]
""")
    assert isinstance(project, ProjectConfig)
    assert (project.name, project.templates, project.queue, project.merge_mode) == (
        APP, ("python-jobs",), "integrated", "squash-merge")
    assert project.branches == (Matcher("main", exact=True),)
    assert thaw(project.vars) == {"site": "example"}
    check = project.pipelines["check"]
    assert [j.name for j in check.jobs] == ["unit", "docs"]
    assert check.jobs[0] == Job("unit", src(8, 11))
    assert check.jobs[1] == Job("docs", src(9, 11), voting=False,
                                dependencies=(Dependency("unit"),))
    assert project.pipelines["gate"].fail_fast is True


def test_a_config_project_may_configure_any_project_on_every_branch() -> None:
    project = only("- project:\n    name: org/app\n    check: {jobs: [lint]}\n",
                   trusted=True, project="config", path="zuul.yaml")
    assert isinstance(project, ProjectConfig) and project.branches is None
    assert project.matches(APP, "stable/9")


def test_a_template() -> None:
    template = only("- project-template:\n    name: docs\n    queue: q\n"
                    "    check:\n      jobs: [build-docs]\n", multi_branch=True)
    assert isinstance(template, ProjectTemplate)
    assert template.queue == "q" and template.branches == (Matcher("main", exact=True),)
    assert [j.name for j in template.pipelines["check"].jobs] == ["build-docs"]


@pytest.mark.parametrize(("text", "message"), [
    ("- project:\n    name: org/other\n",
     '.zuul.yaml:2:11: project "org/other" cannot be configured from "org/app"; an untrusted '
     "project may only configure itself"),
    ("- project:\n    merge-mode: octopus\n",
     '.zuul.yaml:2:17: project "org/app": "merge-mode" must be one of "cherry-pick", "merge", '
     '"merge-resolve", "rebase", "squash-merge", not "octopus"'),
    ("- project:\n    check:\n      jobz: [unit]\n",
     '.zuul.yaml:3:7: project "org/app", pipeline "check" has unknown key "jobz"; did you '
     'mean "jobs"?'),
    ("- project:\n    check:\n      jobs:\n        - unit: {timeout: x}\n",
     '.zuul.yaml:4:27: job "unit" in this project pipeline: "timeout" must be a positive '
     'whole number of seconds, not text "x"'),
    ("- project:\n    check:\n      jobs:\n        - unit:\n            parent: other\n",
     '.zuul.yaml:5:13: job "unit" in this project pipeline may not set "parent"; set it where '
     'the job is defined'),
    ("- project:\n    check:\n      jobs:\n        - [unit]\n",
     '.zuul.yaml:4:11: project "org/app", pipeline "check": each entry of "jobs" must be a '
     "job name or one job name with its attributes below it"),
    ("- project:\n    tempaltes: [python-jobs]\n",
     '.zuul.yaml:2:5: project "org/app" has unknown key "tempaltes"; did you mean '
     '"templates"?'),
    ("- project:\n    check: [unit]\n",
     '.zuul.yaml:2:5: project "org/app": "check" is not a project attribute, so it names a '
     'pipeline and needs a mapping with "jobs", not a list'),
    ("- project-template:\n    name: t\n    merge-mode: merge\n",
     '.zuul.yaml:3:5: project-template "t" may not set "merge-mode"; only a project can'),
])
def test_project_mistakes(text: str, message: str) -> None:
    assert problems(text) == [message]


# --- nodesets, semaphores, queues, secrets, pipelines -----------------------------------


def test_nodesets_semaphores_queues_and_secrets() -> None:
    parsed = parse("""\
- nodeset:
    name: fast-or-slow
    alternatives: [fast, {nodes: [{name: n, label: slow}]}]
- semaphore:
    name: publish
- queue:
    name: integrated
    allow-circular-dependencies: true
- secret:
    name: creds
    data:
      user: bot
      password: !encrypted/pkcs1-oaep
        - QUFB
        - QkJC
""", trusted=True, project="config", path="zuul.yaml")
    assert [str(e) for e in parsed.errors] == []
    nodeset, semaphore, queue, secret = parsed.objects
    assert nodeset == Nodeset("fast-or-slow", alternatives=(
        "fast", Nodeset(None, (Node("n", "slow"),))))
    assert semaphore == Semaphore("publish", 1)
    assert queue == Queue("integrated", allow_circular_dependencies=True)
    assert isinstance(secret, Secret)
    assert secret.data == {"user": "bot", "password": Encrypted(("QUFB", "QkJC"))}
    assert "QUFB" not in repr(secret)


def test_a_pipeline_is_parsed_into_plain_values() -> None:
    pipeline = only("""\
- pipeline:
    name: gate
    manager: dependent
    precedence: high
    post-review: true
    trigger:
      gerrit:
        - event: comment-added
          approval: [{Workflow: 1}]
    require:
      gerrit: {open: true, current-patchset: true}
    success:
      gerrit: {Verified: 2, submit: true}
    failure:
      gerrit: {Verified: -2}
    merge-conflict:
    success-message: Build succeeded (gate pipeline).
    window: 10
    window-floor: 2
    window-ceiling: 30
    window-decrease-type: linear
""", trusted=True, project="config", path="zuul.yaml")
    assert isinstance(pipeline, Pipeline)
    assert pipeline == Pipeline(
        name="gate", manager="dependent",
        trigger=pipeline.trigger, require=pipeline.require, precedence="high",
        post_review=True, reporters=pipeline.reporters, messages=pipeline.messages,
        window=Window(size=10, floor=2, ceiling=30, decrease_type="linear"))
    assert thaw(pipeline.trigger) == {"gerrit": [{"event": "comment-added",
                                                  "approval": [{"Workflow": 1}]}]}
    assert thaw(pipeline.require) == {"gerrit": {"open": True, "current-patchset": True}}
    assert thaw(pipeline.reporters) == {"success": {"gerrit": {"Verified": 2, "submit": True}},
                                        "failure": {"gerrit": {"Verified": -2}},
                                        "merge-conflict": {}}
    assert dict(pipeline.messages) == {"success-message": "Build succeeded (gate pipeline)."}


@pytest.mark.parametrize(("text", "message"), [
    ("- pipeline:\n    name: check\n    trigger: {gerrit: []}\n",
     'zuul.yaml:2:5: pipeline "check" needs a "manager": one of independent, dependent, '
     "serial, supercedent"),
    ("- pipeline:\n    name: check\n    manager: independant\n    trigger: {}\n",
     'zuul.yaml:3:14: pipeline "check": "manager" must be one of "dependent", "independent", '
     '"serial", "supercedent", not "independant"; did you mean "independent"?'),
    ("- pipeline:\n    name: check\n    manager: independent\n",
     'zuul.yaml:2:5: pipeline "check" needs a "trigger"'),
    ("- pipeline:\n    name: gate\n    manager: dependent\n    trigger: {}\n"
     "    window-floor: 5\n    window-ceiling: 4\n",
     'zuul.yaml:6:21: pipeline "gate": "window-ceiling" must be a whole number no smaller '
     "than the floor (5), not the number 4"),
    ("- pipeline:\n    name: gate\n    manager: dependent\n    trigger: {}\n"
     "    precedence: urgent\n",
     'zuul.yaml:5:17: pipeline "gate": "precedence" must be one of "high", "low", "normal", '
     'not "urgent"'),
    ("- pipeline:\n    name: gate\n    manager: dependent\n    trigger: {}\n"
     "    sucess: {}\n",
     'zuul.yaml:5:5: pipeline "gate" has unknown key "sucess"; did you mean "success"?'),
    ("- semaphore:\n    name: s\n    max: 0\n",
     'zuul.yaml:3:10: semaphore "s": "max" must be a whole number, at least 1, not the '
     "number 0"),
    ("- queue:\n    name: q\n    dependencies-by-topic: true\n",
     'zuul.yaml:3:28: queue "q": "dependencies-by-topic" needs '
     '"allow-circular-dependencies: true" as well'),
    ("- secret:\n    name: s\n",
     'zuul.yaml:2:5: secret "s" needs "data"'),
    ("- secret:\n    name: s\n    data:\n      k: !encrypted/pkcs1-oaep {a: b}\n",
     'zuul.yaml:4:10: secret "s": an "!encrypted/pkcs1-oaep" value must be base64 text or a '
     "list of base64 texts"),
    ("- nodeset:\n    name: n\n    alternatives: [a]\n    nodes: []\n",
     'zuul.yaml:3:19: nodeset "n" has "alternatives" and also "nodes" or "groups"; use one '
     "or the other"),
])
def test_site_object_mistakes(text: str, message: str) -> None:
    assert problems(text, trusted=True, project="config", path="zuul.yaml") == [message]


@pytest.mark.parametrize(("kind", "plural"), [("pipeline", "pipelines"),
                                              ("queue", "queues")])
def test_site_wide_objects_only_in_the_config_project(kind: str, plural: str) -> None:
    assert problems(f"- {kind}:\n    name: x\n") == [
        f'.zuul.yaml:1:3: {plural} may only be defined in the trusted config project, not in '
        '"org/app"']


# --- the file itself --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("job:\n  name: unit\n",
     '.zuul.yaml:1:1: a configuration file must be a list of objects such as "- job:", not a '
     "mapping"),
    ("- jobs:\n    name: unit\n",
     '.zuul.yaml:1:3: unknown configuration object "jobs"; did you mean "job"?'),
    ("- job:\n    name: a\n  project: {}\n",
     '.zuul.yaml:1:3: each entry of a configuration file must be one object such as "- job:" '
     "with its attributes below it"),
    ("- job: unit\n",
     ".zuul.yaml:1:8: a job must be a mapping of attributes, not text \"unit\""),
    ("- pragma:\n    implied-branch-matchers: true\n- pragma:\n"
     "    implied-branch-matchers: false\n",
     ".zuul.yaml:4:30: a pragma may not change a setting an earlier pragma in this file made"),
])
def test_file_mistakes(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_each_broken_object_is_reported_and_the_others_still_parse() -> None:
    parsed = parse("- job:\n    name: a\n    timeout: x\n- job:\n    name: b\n"
                   "- job:\n    name: c\n    votin: false\n")
    assert [str(e) for e in parsed.errors] == [
        '.zuul.yaml:3:14: job "a": "timeout" must be a positive whole number of seconds, not '
        'text "x"',
        '.zuul.yaml:8:5: job "c" has unknown key "votin"; did you mean "voting"?']
    assert [o.name for o in parsed.objects] == ["b"]
    assert parsed.broken == {("job", "a"), ("job", "c")}


def test_the_error_format_names_file_line_and_column() -> None:
    text = "".join(f"- job:\n    name: job-{n}\n    run: r.yaml\n" for n in range(3))
    text += "- job:\n    name: unit\n    nodset: debian-small\n"
    assert problems(text, path="zuul.d/jobs.yaml", project="config", trusted=True) == [
        'zuul.d/jobs.yaml:12:5: job "unit" has unknown key "nodset"; did you mean "nodeset"?']
