"""The site's resources as values: reading, problems with file and line, plans, and writing
back. Pure: no store, no git."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keepgreen.domain import acl
from keepgreen.jobconf.yaml_loader import load
from keepgreen.services.siteconf.seeding import seed_files
from keepgreen.siteconf.model import GroupSpec, ProjectSpec, SiteState, parse, validate
from keepgreen.siteconf.plan import delete_markers, deletion_problems, plan
from keepgreen.siteconf.render import render

ACCOUNTS = {"admin", "alice", "bob", "keepgreen-ci"}


def read(files: dict[str, str]) -> tuple[SiteState, list[str]]:
    state, problems = parse({p: load(p, t) for p, t in files.items()})
    problems += validate(state, ACCOUNTS)
    return state, [str(p) for p in problems]


def seed() -> dict[str, str]:
    return {p: t for p, t in seed_files().items() if p.startswith("resources/")}


APP = """\
- project:
    name: org/app
    queue: integrated
    access:
      refs/heads/*:
        label-Code-Review:
          - {group: org/app-core, range: -2..+2}
- group:
    name: org/app-core
    owner: org/app-core
    members: [bob, alice]
"""


def test_the_seed_passes_its_own_validation_and_plans_nothing_against_itself() -> None:
    state, problems = read(seed())
    assert problems == []
    assert set(state.projects) == {"config"}
    assert state.groups["Administrators"].members == ("admin",)
    assert plan(state, state) == []


def test_the_seed_is_written_back_as_it_reads() -> None:
    state, _ = read(seed())
    assert render(state) == seed()


def test_a_new_project_with_its_core_group_plans_readable_lines() -> None:
    old, _ = read(seed())
    new, problems = read({**seed(), "resources/app.yaml": APP})
    assert problems == []
    assert plan(old, new) == [
        "create project `org/app` with group `org/app-core` (alice, bob)",
        "grant `label-Code-Review -2..+2` on `org/app` to `org/app-core`",
    ]
    assert new.projects["org/app"].queue == "integrated"


def test_an_unknown_group_is_named_with_file_and_line() -> None:
    broken = APP.replace("{group: org/app-core", "{group: org/ap-core")
    _, problems = read({**seed(), "resources/app.yaml": broken})
    assert problems == ["resources/app.yaml:7: group 'org/ap-core' in label-Code-Review "
                        "-2..+2 on refs/heads/* of project 'org/app' does not exist"]


def test_each_kind_of_mistake_says_where_and_what() -> None:
    text = """\
- project:
    name: org/x
    colour: blue
    access:
      ^refs/heads/(:
        read: [Registered Users]
      refs/heads/*:
        label-Verified:
          - {group: Administrators, range: -3..+1}
        label-Speed:
          - {group: Administrators, range: 0..+1}
- project:
    name: org/x
- group:
    name: g
    members: [nobody]
"""
    _, problems = read({**seed(), "resources/x.yaml": text})
    assert problems[:4] == [
        "resources/x.yaml:3: a project has unknown key 'colour'; known keys: name, "
        "description, default-branch, submit-type, required-approvals, anonymous-read, "
        "queue, access",
        "resources/x.yaml:5: ref pattern '^refs/heads/(' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 12",
        "resources/x.yaml:9: range -3..+1 of label-Verified on refs/heads/* is outside the "
        "label's values (-2..+2)",
        "resources/x.yaml:10: label-Speed on refs/heads/* names no label of this site "
        "(labels: Code-Review, Verified, Workflow)",
    ]
    assert "resources/x.yaml:16: account 'nobody' in group 'g' does not exist" in problems


def test_a_project_declared_twice_points_at_the_first() -> None:
    text = "- project:\n    name: org/x\n- project:\n    name: org/x\n"
    _, problems = read({**seed(), "resources/x.yaml": text})
    assert problems == ["resources/x.yaml:4: project 'org/x' is declared twice (first at "
                        "resources/x.yaml:2)"]


def test_emptying_administrators_locks_everyone_out_and_is_refused() -> None:
    files = seed()
    files["resources/groups.yaml"] = files["resources/groups.yaml"].replace(
        "    members:\n      - admin\n\n- group:\n    name: Service Users",
        "    members: []\n\n- group:\n    name: Service Users", 1)
    _, problems = read(files)
    assert problems == ["resources/groups.yaml:3: this would lock out every administrator: "
                        "group 'Administrators' needs at least one existing, active member"]


def test_blocking_administrators_on_config_is_a_lockout() -> None:
    files = seed()
    files["resources/projects.yaml"] += ("    access:\n      refs/*:\n        submit:\n"
                                         "          - {group: Administrators, action: block}\n")
    _, problems = read(files)
    assert len(problems) == 1 and "would lock out every administrator" in problems[0]


def test_deleting_a_project_needs_the_marker() -> None:
    old, _ = read({**seed(), "resources/app.yaml": APP})
    new, _ = read(seed())
    assert "delete project `org/app` (its repository is archived)" in plan(old, new)
    missing = deletion_problems(old, new, delete_markers("Retire app\n"))
    assert [p.message for p in missing] == [
        "this deletes project 'org/app'; add the line `allow-delete: org/app` to the commit "
        "message to confirm (its repository is archived, not destroyed)"]
    assert deletion_problems(old, new, delete_markers("Retire app\n\nallow-delete: org/app\n"
                                                      )) == []


names = st.from_regex(r"org/[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@st.composite
def states(draw: st.DrawFn) -> SiteState:
    group_names = draw(st.lists(names, max_size=4, unique=True))
    groups = {g: GroupSpec(g, draw(texts), draw(st.sampled_from(["Administrators", *group_names])),
                           tuple(sorted(draw(st.sets(st.sampled_from(sorted(ACCOUNTS)))))))
              for g in group_names}
    projects = {}
    for name in draw(st.lists(names, max_size=4, unique=True)):
        rules = tuple(dict.fromkeys(
            acl.Rule(draw(st.sampled_from(["refs/heads/*", "refs/for/*", "^refs/heads/.*"])),
                     "label-Code-Review", draw(st.sampled_from(["Administrators",
                                                               *group_names])),
                     lo, hi, draw(st.sampled_from(["allow", "block"])))
            for lo, hi in draw(st.lists(st.sampled_from([(-2, 2), (-1, 1), (0, 1)]),
                                        max_size=3))))
        projects[name] = ProjectSpec(name, draw(texts), "main",
                                     draw(st.sampled_from(["MERGE_IF_NECESSARY", "CHERRY_PICK"])),
                                     draw(st.integers(1, 10)), draw(st.booleans()),
                                     draw(st.one_of(st.none(), names)), rules)
    return SiteState(projects, groups)


@given(states())
def test_any_state_reads_back_from_what_is_written(state: SiteState) -> None:
    written = render(state)
    back, problems = parse({p: load(p, t) for p, t in written.items()})
    assert [str(p) for p in problems] == []
    assert back == state
    assert plan(state, back) == []
