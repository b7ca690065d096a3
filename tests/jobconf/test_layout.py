"""Building a layout: which files are read and in what order, which names may repeat, and
every broken reference reported at the place that makes it."""

from __future__ import annotations

from keepgreen.jobconf.layout import ProjectFiles, build_layout, config_paths, config_roots
from tests.jobconf.sample_site import config_project, errors, files, project, site

APP = "org/app"


def test_config_files_are_read_in_zuul_order() -> None:
    assert config_paths([
        "zuul.d/b.yaml", "zuul.d/a/z.yaml", "zuul.d/a.yaml", "zuul.d/readme.md",
        "zuul.d/playbooks/.zuul.ignore", "zuul.d/playbooks/run.yaml", "README.md",
        "playbooks/unit.yaml"]) == ["zuul.d/a.yaml", "zuul.d/a/z.yaml", "zuul.d/b.yaml"]
    assert config_paths([".zuul.yaml", "src/zuul.yaml"]) == [".zuul.yaml"]
    assert config_paths(["README.md"]) == []
    assert config_roots(["zuul.yaml", ".zuul.d/x.yaml", ".zuul.d/a/y.yaml"]) == {
        "zuul.yaml": ["zuul.yaml"], ".zuul.d": [".zuul.d/a/y.yaml", ".zuul.d/x.yaml"]}


def test_variants_are_kept_in_reading_order_with_the_config_project_first() -> None:
    app = project(APP, {
        ".zuul.d/02-variants.yaml": "- job:\n    name: unit\n    branches: stable/.*\n",
        ".zuul.d/01-jobs.yaml": "- job:\n    name: unit\n    run: unit.yaml\n",
    })
    layout = build_layout([app, config_project()])  # the config project still goes first
    assert errors(layout) == []
    assert [(j.source.path, j.source.line) for j in layout.jobs["unit"]] == [
        (".zuul.d/01-jobs.yaml", 2), (".zuul.d/02-variants.yaml", 2)]
    assert list(layout.jobs)[:3] == ["noop", "base", "lint"]  # the built-in job comes first


def test_a_project_may_keep_its_configuration_in_one_place_only() -> None:
    app = project(APP, {"zuul.yaml": "- job:\n    name: unit\n    run: u.yaml\n",
                        ".zuul.d/jobs.yaml": "- job:\n    name: docs\n    run: d.yaml\n"})
    layout = site(app)
    assert errors(layout) == [
        '.zuul.d/jobs.yaml:1:1: project "org/app" has job configuration in both "zuul.yaml" '
        'and ".zuul.d"; keep it in one place (only "zuul.yaml" is read)']
    assert "unit" in layout.jobs and "docs" not in layout.jobs
    assert (layout.errors[0].project, layout.errors[0].branch) == (APP, "main")


def test_yaml_errors_become_layout_errors_with_their_project() -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: [unit\n"}))
    assert errors(layout) == [
        ".zuul.yaml:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"]
    assert layout.errors[0].project == APP


def test_a_second_definition_of_a_name_is_an_error_naming_both_places() -> None:
    extra = ("- nodeset:\n    name: debian-small\n    nodes: [{name: n, label: other}]\n"
             "- semaphore:\n    name: publish\n    max: 2\n"
             "- pipeline:\n    name: check\n    manager: independent\n    trigger: {}\n"
             "- queue:\n    name: integrated\n")
    layout = site(config={"zuul.d/jobs.yaml": _config_jobs(), "zuul.d/pipelines.yaml":
                          _config_pipelines(), "zuul.d/zz-extra.yaml": extra})
    assert errors(layout) == [
        'zuul.d/zz-extra.yaml:2:5: nodeset "debian-small" is already defined at '
        'zuul.d/jobs.yaml:2:5 (project "config", branch "main"); rename one of them',
        'zuul.d/zz-extra.yaml:5:5: semaphore "publish" is already defined at '
        'zuul.d/jobs.yaml:17:5 (project "config", branch "main"); rename one of them',
        'zuul.d/zz-extra.yaml:8:5: pipeline "check" is already defined at '
        'zuul.d/pipelines.yaml:2:5 (project "config", branch "main"); rename one of them',
        'zuul.d/zz-extra.yaml:12:5: queue "integrated" is already defined at '
        'zuul.d/jobs.yaml:20:5 (project "config", branch "main"); rename one of them']
    assert layout.semaphores["publish"].max == 1  # the first definition stays


def test_the_same_nodeset_may_repeat_on_another_branch_of_its_project() -> None:
    nodeset = "- nodeset:\n    name: app-node\n    nodes: [{name: n, label: l}]\n"
    changed = "- nodeset:\n    name: app-node\n    nodes: [{name: n, label: other}]\n"
    same = site(project(APP, {".zuul.yaml": nodeset}, "main", True),
                project(APP, {".zuul.yaml": nodeset}, "stable/1", True))
    assert errors(same) == []
    different = site(project(APP, {".zuul.yaml": nodeset}, "main", True),
                     project(APP, {".zuul.yaml": changed}, "stable/1", True))
    assert errors(different) == [
        '.zuul.yaml:2:5: nodeset "app-node" is already defined at .zuul.yaml:2:5 (project '
        '"org/app", branch "main"); rename one of them']


def test_job_variants_must_stay_in_one_project() -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: lint\n    voting: false\n"}))
    assert errors(layout) == [
        '.zuul.yaml:2:5: job "lint" is already defined in project "config" at '
        "zuul.d/jobs.yaml:36:5; all variants of a job must be in one project"]
    assert all(j.source.project == "config" for j in layout.jobs["lint"])


def test_broken_references_are_reported_where_they_are_made() -> None:
    app = project(APP, {".zuul.yaml": """\
- job:
    name: unit
    parent: bse
    nodeset: debian-smal
    dependencies: [lnt]
    secrets: [missing]
- job:
    name: docs
    run: docs.yaml
- project:
    templates: [python-job]
    chek:
      jobs: [unit]
    check:
      jobs: [unti, docs]
"""})
    assert errors(site(app)) == [
        '.zuul.yaml:3:13: job "unit" inherits from unknown job "bse"; did you mean "base"?',
        '.zuul.yaml:4:14: job "unit" uses unknown nodeset "debian-smal"; did you mean '
        '"debian-small"?',
        '.zuul.yaml:6:15: job "unit" uses unknown secret "missing"',
        '.zuul.yaml:5:20: job "unit" depends on unknown job "lnt"; did you mean "lint"?',
        '.zuul.yaml:11:16: project "org/app" uses unknown project-template "python-job"; did '
        'you mean "python-jobs"?',
        '.zuul.yaml:12:5: project "org/app" has unknown key "chek", which is neither a project '
        'attribute nor a pipeline; did you mean "check"?',
        '.zuul.yaml:15:14: project "org/app", pipeline "check", runs unknown job "unti"; did '
        'you mean "unit"?']


def test_an_object_that_failed_to_parse_is_not_reported_missing_again() -> None:
    app = project(APP, {".zuul.yaml": "- job:\n    name: unit\n    timeout: soon\n"
                                      "- project:\n    check:\n      jobs: [unit]\n"})
    assert errors(site(app)) == [
        '.zuul.yaml:3:14: job "unit": "timeout" must be a positive whole number of seconds, '
        'not text "soon"']


def test_the_default_parent_must_exist_and_the_base_job_must_say_so() -> None:
    layout = build_layout([ProjectFiles("config", "main", files({"zuul.yaml": (
        "- job:\n    name: base\n    run: x.yaml\n- job:\n    name: unit\n")}), trusted=True)])
    assert errors(layout) == [
        'zuul.yaml:2:5: job "base" has no "parent"; the base job must say "parent: null"']
    layout = build_layout([ProjectFiles("config", "main", files({"zuul.yaml": (
        "- job:\n    name: unit\n")}), trusted=True)], default_parent="site-base")
    assert errors(layout) == [
        'zuul.yaml:2:5: job "unit" inherits from unknown job "site-base" (the default parent, '
        'as "parent" is not set)']


def test_no_job_inherits_from_a_final_job() -> None:
    config = _config_jobs() + "- job:\n    name: publish\n    final: true\n    run: p.yaml\n"
    app = project(APP, {".zuul.yaml": "- job:\n    name: my-publish\n    parent: publish\n"})
    layout = site(app, config={"zuul.d/jobs.yaml": config,
                               "zuul.d/pipelines.yaml": _config_pipelines()})
    assert errors(layout) == [
        '.zuul.yaml:3:13: job "my-publish" may not inherit from job "publish" because it is '
        "final (zuul.d/jobs.yaml:49:5)"]


def test_protected_jobs_are_inherited_only_within_their_project() -> None:
    lib = project("org/lib", {".zuul.yaml": "- job:\n    name: lib-deploy\n    protected: true"
                                            "\n    run: deploy.yaml\n- job:\n    name: "
                                            "lib-deploy-prod\n    parent: lib-deploy\n"})
    app = project(APP, {".zuul.yaml": "- job:\n    name: app-deploy\n    parent: lib-deploy\n"})
    assert errors(site(lib, app)) == [
        '.zuul.yaml:3:13: job "app-deploy" may not inherit from job "lib-deploy": it is '
        'protected, so only jobs in project "org/lib" may']


def test_jobs_may_only_use_secrets_of_their_own_project() -> None:
    lib = project("org/lib", {".zuul.yaml": "- secret:\n    name: lib-token\n    data: "
                                            "{token: x}\n"})
    app = project(APP, {".zuul.yaml": "- job:\n    name: upload\n    secrets: [lib-token]\n"})
    assert errors(site(lib, app)) == [
        '.zuul.yaml:3:15: job "upload" may not use secret "lib-token" of project "org/lib"; a '
        "job may only use secrets defined in its own project"]


def test_inheritance_cycles_are_refused() -> None:
    app = project(APP, {".zuul.yaml": "- job:\n    name: a\n    parent: b\n"
                                      "- job:\n    name: b\n    parent: a\n"})
    assert errors(site(app)) == [
        ".zuul.yaml:6:13: jobs inherit from each other in a cycle: a -> b -> a"]


def test_nodeset_alternatives_must_exist_and_not_loop() -> None:
    app = project(APP, {".zuul.yaml": "- nodeset:\n    name: a\n    alternatives: [b, c]\n"
                                      "- nodeset:\n    name: b\n    alternatives: [a]\n"})
    assert errors(site(app)) == [
        '.zuul.yaml:2:5: nodeset "a" is an alternative of itself: a -> b -> a',
        '.zuul.yaml:2:5: nodeset "a" lists unknown nodeset "c" as an alternative']


def test_merge_mode_is_the_first_one_set() -> None:
    central = ("- project:\n    name: org/app\n    merge-mode: cherry-pick\n")
    config = {"zuul.d/jobs.yaml": _config_jobs(), "zuul.d/pipelines.yaml": _config_pipelines(),
              "zuul.d/projects.yaml": central}
    app = project(APP, {".zuul.yaml": "- project:\n    merge-mode: rebase\n"})
    layout = site(app, config=config)
    assert errors(layout) == []
    assert layout.merge_mode(APP) == "cherry-pick"
    assert layout.merge_mode("org/other") is None


def _config_jobs() -> str:
    from tests.jobconf.sample_site import CONFIG_JOBS
    return CONFIG_JOBS


def _config_pipelines() -> str:
    from tests.jobconf.sample_site import CONFIG_PIPELINES
    return CONFIG_PIPELINES
