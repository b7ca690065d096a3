"""Whatever a configuration file holds, the parsers, the layout and freezing answer with
ConfigError (or a result), never with a crash: a user's typo must never become a traceback."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.jobconf.jobparser import JOB_ATTRIBUTES, UNSUPPORTED_JOB_ATTRIBUTES
from keepgreen.jobconf.layout import ProjectFiles, build_layout
from keepgreen.jobconf.parser import OBJECT_TYPES, PROJECT_ATTRIBUTES, parse_file
from keepgreen.jobconf.pipelineparser import PIPELINE_ATTRIBUTES
from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
)
from keepgreen.jobconf.yaml_loader import load
from tests.jobconf.sample_site import config_project

PATH = ".zuul.yaml"
CONFIG_PROJECT = config_project()  # loaded once: the YAML of the sample site does not vary
KNOWN_KEYS = sorted({*JOB_ATTRIBUTES, *UNSUPPORTED_JOB_ATTRIBUTES, *PROJECT_ATTRIBUTES,
                     *PIPELINE_ATTRIBUTES, "nodes", "label", "groups", "alternatives", "max",
                     "data", "jobs", "check", "gate", "soft", "regex", "negate", "secret",
                     "per-branch", "implied-branch-matchers", "implied-branches"})
WORDS = ["^docs/", "(", "[", "*", "main", "base", "lint", "tox", "debian-small", "check",
         "gate", "org/app", "python-jobs", "playbooks/run.yaml", "", "null"]

positions = st.tuples(st.integers(1, 500), st.integers(1, 80))
tags = st.sampled_from([None, None, None, None, "!override", "!inherit",
                        "!encrypted/pkcs1-oaep"])
scalar_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 4000),
                          st.floats(allow_nan=False, allow_infinity=False),
                          st.sampled_from(WORDS), st.text(max_size=8))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=10),
                 st.integers(0, 3), st.none())


@st.composite
def scalar_nodes(draw: st.DrawFn) -> Located:
    line, column = draw(positions)
    return ScalarNode(draw(scalar_values), PATH, line, column, draw(tags))


def _sequence(children: st.SearchStrategy[Located]) -> st.SearchStrategy[Located]:
    return st.builds(lambda items, pos, tag: SequenceNode(tuple(items), PATH, *pos, tag),
                     st.lists(children, max_size=4), positions, tags)


def _mapping(children: st.SearchStrategy[Located]) -> st.SearchStrategy[Located]:
    def build(pairs: dict[object, Located], pos: tuple[int, int],
              tag: str | None) -> Located:
        entries = tuple((ScalarNode(k, PATH, pos[0], pos[1]), v)  # type: ignore[arg-type]
                        for k, v in pairs.items())
        return MappingNode(entries, PATH, *pos, tag)
    return st.builds(build, st.dictionaries(keys, children, max_size=6), positions, tags)


located = st.recursive(scalar_nodes(), lambda c: st.one_of(_sequence(c), _mapping(c)),
                       max_leaves=25)
bodies = _mapping(located)


def file_of(kind: str, body: Located) -> SequenceNode:
    entry = MappingNode(((ScalarNode(kind, PATH, 1, 3), body),), PATH, 1, 3)
    return SequenceNode((entry,), PATH, 1, 1)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(OBJECT_TYPES), body=bodies, trusted=st.booleans(),
       multi_branch=st.booleans())
def test_any_object_parses_or_gives_config_errors(kind: str, body: Located, trusted: bool,
                                                  multi_branch: bool) -> None:
    parsed = parse_file(file_of(kind, body), project="org/app", branch="main", path=PATH,
                        trusted=trusted, multi_branch=multi_branch)
    for error in parsed.errors:
        assert isinstance(error, ConfigError)
        assert str(error).startswith(f"{PATH}:{error.line}:{error.column}: ")


ATTRIBUTES_OF = {
    "job": sorted(JOB_ATTRIBUTES),
    "project": [*PROJECT_ATTRIBUTES, "check", "gate"],
    "pipeline": sorted(PIPELINE_ATTRIBUTES),
    "nodeset": ["name", "nodes", "groups", "alternatives"],
    "secret": ["name", "data"],
    "pragma": ["implied-branch-matchers", "implied-branches"],
}


@st.composite
def known_bodies(draw: st.DrawFn, kind: str) -> Located:
    pairs = draw(st.dictionaries(st.sampled_from(ATTRIBUTES_OF[kind]), located, max_size=8))
    line, column = draw(positions)
    return MappingNode(tuple((ScalarNode(k, PATH, line, column), v) for k, v in pairs.items()),
                       PATH, line, column)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(ATTRIBUTES_OF)), trusted=st.booleans())
def test_known_attributes_with_any_values_give_config_errors(data: st.DataObject, kind: str,
                                                             trusted: bool) -> None:
    body = data.draw(known_bodies(kind))
    parsed = parse_file(file_of(kind, body), project="org/app", branch="main", path=PATH,
                        trusted=trusted, multi_branch=True)
    assert all(isinstance(error, ConfigError) for error in parsed.errors)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(unknown=st.dictionaries(st.text(min_size=1, max_size=12).filter(
           lambda k: k not in KNOWN_KEYS), located, min_size=1, max_size=5),
       kind=st.sampled_from(["job", "nodeset", "semaphore", "queue", "secret", "pipeline"]))
def test_unknown_keys_are_config_errors_at_the_key(unknown: dict[str, Located],
                                                   kind: str) -> None:
    entries = ((ScalarNode("name", PATH, 2, 5), ScalarNode("x", PATH, 2, 11)),
               *((ScalarNode(k, PATH, 3 + n, 5), v) for n, (k, v) in enumerate(
                   unknown.items())))
    parsed = parse_file(file_of(kind, MappingNode(entries, PATH, 2, 5)), project="config",
                        branch="main", path=PATH, trusted=True)
    assert parsed.objects == ()
    (error,) = parsed.errors
    assert isinstance(error, ConfigError)
    # Required attributes are reported first where they are missing; otherwise the first
    # unknown key is named at its own line.
    assert "unknown key" in error.message or "needs" in error.message
    if "unknown key" in error.message:
        first = next(iter(unknown))
        assert (error.line, error.column) == (3, 5) and f'"{first}"' in error.message


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=st.lists(bodies, min_size=1, max_size=4), pipelines=_mapping(located))
def test_layout_and_freeze_give_only_config_errors(jobs: list[Located],
                                                   pipelines: Located) -> None:
    named = []
    for n, body in enumerate(jobs):
        assert isinstance(body, MappingNode)
        name = (ScalarNode("name", PATH, 1, 1), ScalarNode(["lint", "unit", "tox", "x"][n],
                                                           PATH, 1, 1))
        named.append(MappingNode((name, *body.entries), PATH, n + 2, 5))
    assert isinstance(pipelines, MappingNode)
    items = [*(file_of("job", b).items[0] for b in named), file_of("project", pipelines).items[0]]
    tree = SequenceNode(tuple(items), PATH, 1, 1)
    layout = build_layout([CONFIG_PROJECT,
                           ProjectFiles("org/app", "main", {PATH: tree})])
    assert all(isinstance(e, ConfigError) for e in layout.errors)
    for pipeline in layout.pipelines:
        try:
            freeze_job_graph(layout, project="org/app", branch="main", pipeline=pipeline,
                             changed_files=["docs/a.rst"])
        except ConfigError:
            pass


@settings(max_examples=300)
@given(text=st.text(alphabet=st.sampled_from(list("-: \n[]{}&*!<>'\"#|?,ab01")),
                    max_size=60))
def test_any_text_loads_or_gives_a_config_error(text: str) -> None:
    try:
        load(PATH, text)
    except ConfigError as error:
        assert str(error).startswith(f"{PATH}:")
