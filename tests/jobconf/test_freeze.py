"""Freezing: from a layout, a project, a pipeline, a branch and the changed files to the exact
jobs that run, how they run, and why the others do not."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.jobconf.frozen import FrozenJob, JobGraph, Playbook
from keepgreen.jobconf.model import (
    Dependency,
    Layout,
    Matcher,
    Node,
    Nodeset,
    RequiredProject,
    RoleRepo,
    SecretUse,
    SourceContext,
    thaw,
)
from keepgreen.jobconf.source import ConfigError
from tests.jobconf.sample_site import (
    CONFIG_JOBS,
    CONFIG_PIPELINES,
    errors,
    project,
    site,
)

APP = "org/app"

APP_ZUUL = """\
- job:
    name: tox
    abstract: true
    description: Run one tox environment.
    pre-run: playbooks/tox/pre.yaml
    run: playbooks/tox/run.yaml
    post-run: playbooks/tox/post.yaml
    required-projects: [org/lib]
    vars:
      tox_env: py3
      logs:
        level: debug
- job:
    name: unit
    parent: tox
    vars:
      tox_env: py311
    dependencies: [lint]
- job:
    name: unit
    branches: ^stable/
    nodeset: debian-pair
    timeout: 600
- job:
    name: docs
    parent: tox
    run: playbooks/docs.yaml
    files: [^docs/.*, ^README]
- job:
    name: integration
    parent: tox
    run: playbooks/integration.yaml
    dependencies:
      - unit
      - name: docs
        soft: true
- project:
    templates: [python-jobs]
    vars:
      site: example.org
    check:
      jobs:
        - unit
        - docs
        - integration:
            voting: false
    gate:
      jobs:
        - unit
        - integration
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line of ``text`` containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def app_source(needle: str, nth: int = 1, column: int = 5) -> SourceContext:
    return SourceContext(APP, "main", ".zuul.yaml", line_of(APP_ZUUL, needle, nth), column)


def config_source(needle: str) -> SourceContext:
    return SourceContext("config", "main", "zuul.d/jobs.yaml", line_of(CONFIG_JOBS, needle),
                         5, trusted=True)


def layout_with(app_text: str = APP_ZUUL, **config: str) -> Layout:
    texts = {"zuul.d/pipelines.yaml": CONFIG_PIPELINES, "zuul.d/jobs.yaml": CONFIG_JOBS,
             **config}
    layout = site(project(APP, {".zuul.yaml": app_text}), config=texts)
    assert errors(layout) == []
    return layout


def freeze(layout: Layout, pipeline: str = "check", branch: str = "main",
           files: list[str] | None = None) -> JobGraph:
    return freeze_job_graph(layout, project=APP, branch=branch, pipeline=pipeline,
                            changed_files=["src/app.py"] if files is None else files)


def freeze_error(layout: Layout, pipeline: str = "check", branch: str = "main",
                 files: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        freeze(layout, pipeline, branch, files)
    return str(caught.value)


def app_book(path: str) -> Playbook:
    return Playbook(path, APP, "main", False)


def config_book(path: str) -> Playbook:
    return Playbook(path, "config", "main", True)


# --- the whole freeze of one job ---------------------------------------------------------


def test_unit_is_frozen_through_base_and_tox_exactly() -> None:
    graph = freeze(layout_with())
    assert graph.names == ("lint", "unit", "integration")
    assert graph.reasons == {"docs": 'job "docs" did not run: no changed file matches its '
                                     '"files" (^docs/.*, ^README)'}
    base_at = config_source("name: base")
    unit = graph.job("unit")
    assert unit == FrozenJob(
        name="unit", source=app_source("name: unit"), parent="tox",
        inheritance=(
            f"base ({base_at})",
            f"tox ({app_source('name: tox')})",
            f"unit ({app_source('name: unit')})",
            f"unit ({app_source('        - unit', 1, 11)})"),
        description=None,
        nodeset=Nodeset("debian-small", (Node("primary", "debian-12"),)),
        pre_run=(config_book("playbooks/base/pre.yaml"), app_book("playbooks/tox/pre.yaml")),
        run=(app_book("playbooks/tox/run.yaml"),),
        post_run=(app_book("playbooks/tox/post.yaml"),
                  config_book("playbooks/base/post-logs.yaml")),
        vars=MappingProxyType({"logs": MappingProxyType({"level": "debug", "upload": True}),
                               "tox_env": "py311"}),
        project_vars=MappingProxyType({"site": "example.org"}),
        required_projects=(RequiredProject("org/lib"),),
        timeout=1800, attempts=3, voting=True,
        dependencies=(Dependency("lint"),),
        # Each definition offers its own project's roles, as Zuul's implicit roles.
        roles=(RoleRepo("config", "config", implicit=True),
               RoleRepo(APP, "app", implicit=True)))
    assert [p.path for p in unit.playbooks] == [
        "playbooks/base/pre.yaml", "playbooks/tox/pre.yaml", "playbooks/tox/run.yaml",
        "playbooks/tox/post.yaml", "playbooks/base/post-logs.yaml"]
    assert thaw(unit.vars) == {"logs": {"level": "debug", "upload": True}, "tox_env": "py311"}


def test_project_pipeline_variants_and_soft_dependencies() -> None:
    graph = freeze(layout_with())
    integration = graph.job("integration")
    assert integration.voting is False
    assert integration.run == (app_book("playbooks/integration.yaml"),)
    assert integration.dependencies == (Dependency("unit"),)  # docs did not run: soft, dropped
    assert graph.dependents("unit") == ("integration",)
    assert [j.name for j in graph.ordered()] == ["lint", "unit", "integration"]

    with_docs = freeze(layout_with(), files=["docs/index.rst", "src/app.py"])
    assert with_docs.names == ("lint", "unit", "docs", "integration")
    assert with_docs.job("integration").dependencies == (Dependency("unit"),
                                                         Dependency("docs", soft=True))
    assert [j.name for j in with_docs.ordered()] == ["lint", "unit", "docs", "integration"]


def test_template_jobs_come_first_and_irrelevant_files_skip_them() -> None:
    soft = APP_ZUUL.replace("    dependencies: [lint]\n",
                            "    dependencies: [{name: lint, soft: true}]\n")
    graph = freeze(layout_with(soft), files=["docs/index.rst", "/COMMIT_MSG"])
    assert graph.names == ("unit", "docs", "integration")
    assert graph.reasons == {"lint": 'job "lint" did not run: every changed file matches its '
                                     '"irrelevant-files" (^docs/.*$)'}
    assert graph.job("unit").dependencies == ()
    # With a hard dependency on lint the same change cannot be tested at all:
    assert freeze_error(layout_with(), files=["docs/index.rst"]) == (
        f'.zuul.yaml:{line_of(APP_ZUUL, "dependencies: [lint]")}:20: job "unit" depends on '
        'job "lint", which does not run for this change (job "lint" did not run: every '
        'changed file matches its "irrelevant-files" (^docs/.*$)); make the dependency '
        '"soft: true" or run that job too')


def test_without_changed_files_file_matchers_do_not_apply() -> None:
    for files in ([], ["/COMMIT_MSG"]):
        graph = freeze(layout_with(), files=files)
        assert graph.names == ("lint", "unit", "docs", "integration")
    graph = freeze_job_graph(layout_with(), project=APP, branch="main", pipeline="check")
    assert graph.names == ("lint", "unit", "docs", "integration")


def test_a_change_to_the_job_configuration_runs_file_matched_jobs() -> None:
    graph = freeze(layout_with(), files=[".zuul.yaml"])
    assert "docs" in graph.names
    graph = freeze(layout_with(), files=["playbooks/docs.yaml"])
    assert "docs" in graph.names
    opted_out = APP_ZUUL.replace("    files: [^docs/.*, ^README]\n",
                                 "    files: [^docs/.*, ^README]\n"
                                 "    match-on-config-updates: false\n")
    graph = freeze(layout_with(opted_out), files=[".zuul.yaml"])
    assert "docs" not in graph.names


# --- branches -----------------------------------------------------------------------------


def test_variants_apply_in_order_on_matching_branches() -> None:
    central = "- project:\n    name: org/app\n    check:\n      jobs: [lint, unit]\n"
    layout = layout_with(APP_ZUUL.split("- project:")[0], **{"zuul.d/projects.yaml": central})
    main = freeze(layout).job("unit")
    stable = freeze(layout, branch="stable/2.0").job("unit")
    assert (main.timeout, main.nodeset.name) == (1800, "debian-small")
    assert (stable.timeout, stable.nodeset.name) == (600, "debian-pair")
    assert stable.inheritance[-2:] == (
        f"unit ({app_source('name: unit', 2)})",
        "unit (zuul.d/projects.yaml:4:20 in config (main))")
    assert stable.dependencies == (Dependency("lint"),)


def test_implied_branch_matchers_keep_each_branch_to_its_own_jobs() -> None:
    main_text = "- job:\n    name: unit\n    run: main.yaml\n- project:\n    check:\n" \
                "      jobs: [unit]\n"
    stable_text = main_text.replace("main.yaml", "stable.yaml")
    layout = site(project(APP, {".zuul.yaml": main_text}, "main", multi_branch=True),
                  project(APP, {".zuul.yaml": stable_text}, "stable/1", multi_branch=True))
    assert errors(layout) == []
    assert [p.path for p in freeze(layout).job("unit").run] == ["main.yaml"]
    stable = freeze(layout, branch="stable/1").job("unit")
    assert stable.run == (Playbook("stable.yaml", APP, "stable/1", False),)
    assert freeze(layout, branch="feature/x").names == ()


def test_reasons_for_jobs_without_a_matching_variant() -> None:
    text = """\
- job:
    name: only-stable
    branches: ^stable/
    run: x.yaml
- job:
    name: needs-stable-parent
    parent: only-stable
- job:
    name: pinned
    run: x.yaml
"""
    central = """\
- project:
    name: org/app
    check:
      jobs:
        - only-stable
        - needs-stable-parent
        - pinned:
            branches: ^feature/
"""
    layout = layout_with(text, **{"zuul.d/projects.yaml": central})
    graph = freeze(layout)
    assert graph.names == ()
    assert graph.reasons == {
        "only-stable": 'no variant of job "only-stable" applies to branch "main"',
        "needs-stable-parent": 'job "needs-stable-parent" cannot run on branch "main": no '
                               'variant of job "only-stable" applies to branch "main"',
        "pinned": 'the project lists job "pinned" in "check" only for branches other than '
                  '"main"'}


# --- !override and !inherit -----------------------------------------------------------------


def test_override_and_inherit_tags_change_how_attributes_combine() -> None:
    text = """\
- job:
    name: parent-job
    run: p.yaml
    vars: {a: 1, nested: {x: 1, y: 1}}
    required-projects: [org/lib, org/tools]
    files: [^src/]
    dependencies: [lint]
    tags: [python]
- job:
    name: child
    parent: parent-job
    vars: !override {nested: {y: 2}}
    required-projects: !override [org/other]
    files: !inherit [^tests/]
    dependencies: !inherit [{name: docs, soft: true}]
    tags: [slow]
- job:
    name: merged
    parent: parent-job
    vars: {nested: {y: 2}}
    required-projects: [{name: org/lib, override-checkout: stable}]
    files: [^tests/]
- job:
    name: docs
    run: d.yaml
- project:
    check:
      jobs: [child, merged, lint]
"""
    graph = freeze(layout_with(text), files=["tests/test_a.py"])
    child, merged = graph.job("child"), graph.job("merged")
    assert thaw(child.vars) == {"nested": {"y": 2}}
    assert child.required_projects == (RequiredProject("org/other"),)
    assert child.files == (Matcher("^src/"), Matcher("^tests/"))
    assert child.dependencies == (Dependency("lint"),)  # soft "docs" is not in the graph
    assert child.tags == ("python", "slow")
    assert thaw(merged.vars) == {"logs": {"level": "info", "upload": True}, "a": 1,
                                 "nested": {"x": 1, "y": 2}}
    assert merged.required_projects == (RequiredProject("org/tools"),
                                        RequiredProject("org/lib", "stable"))
    assert merged.files == (Matcher("^tests/"),)
    assert merged.dependencies == (Dependency("lint"),)


# --- secrets --------------------------------------------------------------------------------


SECRET_JOBS = """\
- secret:
    name: pypi
    data:
      token: !encrypted/pkcs1-oaep QUJD
- job:
    name: upload-base
    run: playbooks/upload.yaml
- job:
    name: upload
    parent: upload-base
    post-run: playbooks/upload-post.yaml
    secrets:
      - name: pypi_token
        secret: pypi
        pass-to-parent: true
- project:
    gate:
      jobs: [upload]
    check:
      jobs: [upload]
"""


def test_secrets_bind_to_playbooks_and_make_untrusted_jobs_post_review() -> None:
    layout = layout_with(SECRET_JOBS)
    upload = freeze(layout, pipeline="gate").job("upload")
    use = SecretUse("pypi_token", "pypi", pass_to_parent=True)
    assert upload.post_review is True
    assert upload.run == (Playbook("playbooks/upload.yaml", APP, "main", False, (use,)),)
    assert upload.post_run[0] == Playbook("playbooks/upload-post.yaml", APP, "main", False,
                                          (use,))
    # pass-to-parent: the parent's playbooks (here the base job's) get the secret too
    assert upload.pre_run == (Playbook("playbooks/base/pre.yaml", "config", "main", True,
                                       (use,)),)
    assert set(upload.secrets) == {"pypi"}
    assert freeze_error(layout, pipeline="check") == (
        f'.zuul.yaml:{line_of(SECRET_JOBS, "jobs: [upload]", 2)}:14: job "upload" may only '
        'run in post-review pipelines (it uses secrets or sets "post-review"), and "check" is '
        "not one")


def test_an_encrypted_secret_in_a_post_review_pipeline_raises_no_warning() -> None:
    assert freeze(layout_with(SECRET_JOBS), pipeline="gate").warnings == ()


def test_a_plain_text_credential_in_a_secret_is_warned_about_with_its_place() -> None:
    text = SECRET_JOBS.replace("      token: !encrypted/pkcs1-oaep QUJD\n",
                               "      user: uploader\n      api_token: pypi-AgEN1234\n")
    (warning,) = freeze(layout_with(text), pipeline="gate").warnings
    assert warning == (
        f'.zuul.yaml:{line_of(text, "name: pypi")}: secret "pypi" holds "api_token" in plain '
        "text; anyone who can read the repository can read it: encrypt it with "
        "`keepgreen encrypt`")


def test_a_trusted_job_with_a_secret_in_check_is_warned_about() -> None:
    config = CONFIG_JOBS + SECRET_JOBS.split("- project:")[0].replace("upload", "site-upload")
    app = "- project:\n    check:\n      jobs: [site-upload]\n"
    graph = freeze(layout_with(app, **{"zuul.d/jobs.yaml": config}), pipeline="check")
    assert graph.job("site-upload").secrets  # it runs: trusted jobs may use secrets anywhere
    assert graph.warnings == (
        'job "site-upload" uses secret "pypi" in pipeline "check", which is not post-review: '
        "its playbooks hold the secret while they test changes that nobody has reviewed yet",)


# --- configurations that cannot run ----------------------------------------------------------


def test_an_abstract_job_cannot_run_directly() -> None:
    text = APP_ZUUL.replace("        - unit\n        - docs\n", "        - tox\n        - docs\n")
    assert freeze_error(layout_with(text)) == (
        f'.zuul.yaml:{line_of(text, "- tox")}:11: job "tox" is abstract and cannot run '
        "directly; run a job that inherits from it")


def test_a_final_job_only_takes_context_changes_from_a_project() -> None:
    config = CONFIG_JOBS + "- job:\n    name: release\n    final: true\n    run: r.yaml\n"
    ok = "- project:\n    gate:\n      jobs:\n        - release:\n            voting: false\n"
    graph = freeze(layout_with(ok, **{"zuul.d/jobs.yaml": config}), pipeline="gate")
    assert graph.job("release").voting is False and graph.job("release").final
    bad = ok.replace("voting: false", "timeout: 60")
    assert freeze_error(layout_with(bad, **{"zuul.d/jobs.yaml": config}), "gate") == (
        '.zuul.yaml:5:22: project "org/app" (pipeline "gate") may not change "timeout" of job '
        f'"release", which is final (zuul.d/jobs.yaml:{line_of(config, "name: release")}:5); '
        "only voting, branches, files, irrelevant-files, dependencies and tags may change")


def test_a_protected_job_takes_no_execution_changes_from_other_projects() -> None:
    config = CONFIG_JOBS + "- job:\n    name: deploy\n    protected: true\n    run: d.yaml\n"
    bad = "- project:\n    gate:\n      jobs:\n        - deploy:\n            vars: {x: 1}\n"
    assert freeze_error(layout_with(bad, **{"zuul.d/jobs.yaml": config}), "gate") == (
        '.zuul.yaml:5:19: project "org/app" (pipeline "gate") may not change "vars" of job '
        '"deploy", which is protected: only project "config" may')


def test_a_job_needs_a_run_playbook() -> None:
    text = "- job:\n    name: empty\n- project:\n    check:\n      jobs: [empty]\n"
    assert freeze_error(layout_with(text)) == (
        '.zuul.yaml:5:14: job "empty" has no "run" playbook; set "run" on the job or one of '
        "its parents")


def test_a_hard_dependency_on_a_job_that_does_not_run_is_an_error() -> None:
    text = APP_ZUUL.replace("      - name: docs\n        soft: true\n", "      - docs\n")
    assert freeze_error(layout_with(text)) == (
        f'.zuul.yaml:{line_of(text, "      - docs")}:9: job "integration" depends on job '
        '"docs", which does not run for this change (job "docs" did not run: no changed file '
        'matches its "files" (^docs/.*, ^README)); make the dependency "soft: true" or run '
        "that job too")
    unlisted = text.replace("        - docs\n", "")
    message = freeze_error(layout_with(unlisted), files=["docs/a.rst", "src/a.py"])
    assert message.endswith('depends on job "docs", which does not run for this change (the '
                            'project does not list it in "check"); make the dependency '
                            '"soft: true" or run that job too')


def test_dependency_cycles_are_refused() -> None:
    text = """\
- job:
    name: a
    run: a.yaml
    dependencies: [b]
- job:
    name: b
    run: b.yaml
    dependencies: [a]
- project:
    check:
      jobs: [a, b]
"""
    assert freeze_error(layout_with(text)) == (
        ".zuul.yaml:8:20: jobs depend on each other in a cycle: a -> b -> a")


def test_an_unknown_pipeline_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match='unknown pipeline "promote"'):
        freeze(layout_with(), pipeline="promote")


def test_a_project_without_jobs_in_a_pipeline_gets_an_empty_graph() -> None:
    graph = freeze(layout_with(), pipeline="post")
    assert graph == JobGraph(APP, "main", "post")


def test_central_stanzas_by_regex_queue_and_project_variables() -> None:
    central = """\
- project:
    name: ^org/.*$
    queue: integrated
    vars:
      site: central
      mirror: {url: https://mirror.example.org}
    check:
      jobs: [lint]
"""
    template = """\
- project-template:
    name: docs-jobs
    vars:
      mirror: {region: eu}
    check:
      jobs: [build-docs]
"""
    app = """\
- job:
    name: build-docs
    run: docs.yaml
- project:
    templates: [docs-jobs]
    vars:
      site: app
    check:
      jobs: [build-docs]
"""
    layout = layout_with(app, **{"zuul.d/projects.yaml": central,
                                 "zuul.d/templates.yaml": template})
    graph = freeze(layout)
    assert graph.names == ("lint", "build-docs")
    assert graph.queue == "integrated"
    assert thaw(graph.job("lint").project_vars) == {
        "site": "app", "mirror": {"url": "https://mirror.example.org", "region": "eu"}}
    assert len([i for i in graph.job("build-docs").inheritance if "build-docs" in i]) == 3
    other = freeze_job_graph(layout, project="org/other", branch="main", pipeline="check")
    assert other.names == ("lint",)
    assert freeze_job_graph(layout, project="elsewhere/x", branch="main",
                            pipeline="check").names == ()
