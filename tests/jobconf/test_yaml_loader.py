"""YAML text becomes located trees: every value knows its file, line and column, Zuul's tags
are kept, and anything malformed is a ConfigError that names the place."""

from __future__ import annotations

import pytest

from keepgreen.jobconf.source import (
    ConfigError,
    MappingNode,
    ScalarNode,
    SequenceNode,
    to_plain,
)
from keepgreen.jobconf.yaml_loader import load


def error_of(text: str, path: str = "zuul.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        load(path, text)
    return str(caught.value)


def test_every_node_carries_its_position_and_typed_value() -> None:
    tree = load("zuul.d/jobs.yaml", "- job:\n    name: unit\n    timeout: 600\n"
                                    "    voting: false\n    vars: {a: null}\n")
    assert isinstance(tree, SequenceNode)
    (item,) = tree.items
    assert isinstance(item, MappingNode)
    job = item.get("job")
    assert isinstance(job, MappingNode)
    assert (job.path, job.line, job.column) == ("zuul.d/jobs.yaml", 2, 5)
    name = job.get("name")
    assert name == ScalarNode("unit", "zuul.d/jobs.yaml", 2, 11)
    key = job.key_node("timeout")
    assert key is not None and (key.line, key.column) == (3, 5)
    assert job.get("timeout") == ScalarNode(600, "zuul.d/jobs.yaml", 3, 14)
    assert job.get("voting") == ScalarNode(False, "zuul.d/jobs.yaml", 4, 13)
    assert to_plain(job, "job") == {"name": "unit", "timeout": 600, "voting": False,
                                    "vars": {"a": None}}


def test_override_and_inherit_tags_stay_on_the_node() -> None:
    tree = load(".zuul.yaml", "vars: !override\n  a: 1\nfiles: !inherit [^docs/]\n"
                              "tags: !override solo\n")
    assert isinstance(tree, MappingNode)
    variables, files, tags = tree.get("vars"), tree.get("files"), tree.get("tags")
    assert isinstance(variables, MappingNode) and variables.tag == "!override"
    assert isinstance(files, SequenceNode) and files.tag == "!inherit"
    assert tags == ScalarNode("solo", ".zuul.yaml", 4, 7, tag="!override")


def test_a_tagged_plain_scalar_is_typed_as_without_the_tag() -> None:
    tree = load("a.yaml", "a: !override 5\nb: !override '5'\n")
    assert isinstance(tree, MappingNode)
    assert tree.get("a") == ScalarNode(5, "a.yaml", 1, 4, tag="!override")
    assert tree.get("b") == ScalarNode("5", "a.yaml", 2, 4, tag="!override")


def test_encrypted_values_keep_their_text() -> None:
    tree = load("zuul.yaml", "password: !encrypted/pkcs1-oaep\n  - AAAA\n  - BBBB\n")
    assert isinstance(tree, MappingNode)
    value = tree.get("password")
    assert isinstance(value, SequenceNode) and value.tag == "!encrypted/pkcs1-oaep"
    assert [item.value for item in value.items if isinstance(item, ScalarNode)] == ["AAAA",
                                                                                     "BBBB"]


def test_dates_are_kept_as_written() -> None:
    tree = load("a.yaml", "when: 2024-01-31\n")
    assert isinstance(tree, MappingNode)
    assert tree.get("when") == ScalarNode("2024-01-31", "a.yaml", 1, 7)


def test_merge_keys_apply_and_local_keys_win() -> None:
    tree = load("a.yaml", "common: &c {timeout: 60, voting: true}\n"
                          "job: {<<: *c, voting: false}\n")
    assert isinstance(tree, MappingNode)
    assert to_plain(tree, "x")["job"] == {"timeout": 60, "voting": False}  # type: ignore[index]


def test_an_empty_file_has_no_tree() -> None:
    assert load("zuul.yaml", "") is None
    assert load("zuul.yaml", "# only a comment\n") is None


def test_syntax_errors_name_file_line_and_column() -> None:
    assert error_of("- job:\n    name: [unit\n") == (
        "zuul.yaml:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>'")
    assert error_of("- job:\n  name: a\n   x: b\n") == (
        "zuul.yaml:3:5: YAML syntax error: mapping values are not allowed here")


def test_duplicate_keys_are_refused() -> None:
    assert error_of("- job:\n    name: a\n    name: b\n", ".zuul.yaml") == (
        '.zuul.yaml:3:5: key "name" appears twice in this mapping (first on line 2)')


def test_unknown_tags_are_refused() -> None:
    assert error_of("- job:\n    name: !secret a\n") == (
        'zuul.yaml:2:11: unknown YAML tag "!secret"; the tags understood here are '
        '"!encrypted/pkcs1-oaep", "!inherit", "!override"')


def test_complex_keys_are_refused() -> None:
    assert error_of("? [a, b]\n: c\n") == (
        "zuul.yaml:1:3: a mapping key must be a plain value, not a list or mapping")


def test_recursive_aliases_are_refused() -> None:
    assert error_of("a: &x [1, *x]\n") == (
        "zuul.yaml:1:4: an alias refers to the value that contains it; "
        "recursive values are not allowed")


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 8):
        refs = ", ".join([f"*a{n - 1}"] * 10)
        lines.append(f"a{n}: &a{n} [{refs}]")
    message = error_of("\n".join(lines) + "\n")
    assert message.startswith("zuul.yaml:1:1: this file's aliases expand to more than")


def test_two_documents_are_a_syntax_error() -> None:
    assert error_of("a: 1\n---\nb: 2\n") == (
        "zuul.yaml:2:1: YAML syntax error: but found another document")


@pytest.mark.parametrize(("text", "message"), [
    ("!!0\n", 'zuul.yaml:1:1: unsupported YAML tag "!!0"'),
    ("- !!python/none x\n", 'zuul.yaml:1:3: unsupported YAML tag "!!python/none"'),
    ("timeout: !!int soon\n",
     'zuul.yaml:1:10: invalid YAML value: "soon" is not a valid value'),
    ("a: {<<: 1}\n", "zuul.yaml:1:9: invalid YAML merge: expected a mapping or list of "
                     "mappings for merging, but found scalar"),
])
def test_values_pyyaml_cannot_build_are_config_errors(text: str, message: str) -> None:
    assert error_of(text) == message
