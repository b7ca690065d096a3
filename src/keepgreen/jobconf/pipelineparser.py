"""The schema-checked parser for ``pipeline`` (config project only).

Triggers, requirements and reporters are kept as plain frozen values keyed by connection
name; their driver-specific meaning is checked where pipelines are run. Manager, precedence
and the dependent manager's window settings are validated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from keepgreen.jobconf import schema
from keepgreen.jobconf.jobparser import FileContext
from keepgreen.jobconf.model import Pipeline, Window, freeze_mapping, freeze_value
from keepgreen.jobconf.source import ConfigError, Located, ScalarNode, to_plain

PIPELINE_MANAGERS = ("independent", "dependent", "serial", "supercedent")
REPORTER_OUTCOMES = ("enqueue", "start", "success", "failure", "merge-conflict",
                     "config-error", "no-jobs", "disabled", "dequeue")
PIPELINE_MESSAGES = ("success-message", "failure-message", "start-message", "enqueue-message",
                     "merge-conflict-message", "no-jobs-message", "dequeue-message",
                     "footer-message")
_WINDOW_KEYS = ("window", "window-floor", "window-ceiling", "window-increase-type",
                "window-increase-factor", "window-decrease-type", "window-decrease-factor")
PIPELINE_ATTRIBUTES = ("name", "manager", "description", "trigger", "require", "reject",
                       "precedence", "post-review", "supercedes", "dequeue-on-new-patchset",
                       "ignore-dependencies", "allow-other-connections", *REPORTER_OUTCOMES,
                       *PIPELINE_MESSAGES, *_WINDOW_KEYS)


def parse_pipeline(node: Located, ctx: FileContext) -> Pipeline:
    body = schema.mapping(node, "a pipeline")
    name = schema.name_of(body, "pipeline")
    what = f'pipeline "{name}"'
    schema.check_keys(body, what, PIPELINE_ATTRIBUTES,
                      ("disable-after-consecutive-failures",
                       "variant-description"))
    manager = body.get("manager")
    if manager is None:
        raise ConfigError.at(body, f'{what} needs a "manager": one of '
                                   + ", ".join(PIPELINE_MANAGERS))
    trigger = body.get("trigger")
    if trigger is None:
        raise ConfigError.at(body, f'{what} needs a "trigger"')

    def get(key: str) -> Located | None:
        return body.get(key)

    def flag(key: str, default: bool) -> bool:
        value = get(key)
        return default if value is None else schema.boolean(value, what, key)

    def number(key: str, default: int, minimum: int, expected: str) -> int:
        value = get(key)
        return default if value is None else schema.integer(value, what, key, minimum, expected)

    reporters = {k: _plain_section(v, what, k) for k in REPORTER_OUTCOMES
                 if (v := get(k)) is not None}
    messages = {k: schema.text(v, what, k) for k in PIPELINE_MESSAGES if (v := get(k))}
    ceiling_node = get("window-ceiling")
    floor = number("window-floor", 3, 1, "a whole number, at least 1")
    ceiling = None
    if ceiling_node is not None and not (isinstance(ceiling_node, ScalarNode)
                                         and ceiling_node.value is None):
        ceiling = schema.integer(ceiling_node, what, "window-ceiling", floor,
                                 f"a whole number no smaller than the floor ({floor})")
    kinds = ("linear", "exponential")
    window = Window(
        size=number("window", 20, 0, "a whole number, 0 or more"), floor=floor,
        ceiling=ceiling,
        increase_type=schema.choice(v, what, "window-increase-type", kinds)
        if (v := get("window-increase-type")) else "linear",
        increase_factor=number("window-increase-factor", 1, 1, "a whole number, at least 1"),
        decrease_type=schema.choice(v, what, "window-decrease-type", kinds)
        if (v := get("window-decrease-type")) else "exponential",
        decrease_factor=number("window-decrease-factor", 2, 1, "a whole number, at least 1"))
    precedence = get("precedence")
    supercedes = get("supercedes")
    description = get("description")
    return Pipeline(
        name=name, manager=schema.choice(manager, what, "manager", PIPELINE_MANAGERS),
        trigger=_plain_section(trigger, what, "trigger"),
        require=_plain_section(r, what, "require") if (r := get("require")) else
        freeze_mapping({}),
        reject=_plain_section(r, what, "reject") if (r := get("reject")) else
        freeze_mapping({}),
        precedence="normal" if precedence is None else schema.choice(
            precedence, what, "precedence", ("high", "normal", "low")),
        post_review=flag("post-review", False),
        description=None if description is None else schema.text(description, what,
                                                                  "description"),
        reporters=MappingProxyType(reporters), messages=MappingProxyType(messages),
        window=window,
        supercedes=() if supercedes is None else schema.text_list(supercedes, what,
                                                                  "supercedes"),
        dequeue_on_new_patchset=flag("dequeue-on-new-patchset", True),
        ignore_dependencies=flag("ignore-dependencies", False),
        allow_other_connections=flag("allow-other-connections", True),
        source=ctx.source(body.position))


def _plain_section(node: Located, what: str, key: str) -> Mapping[str, object]:
    """A trigger, requirement or reporter section: connection name -> driver settings."""
    if isinstance(node, ScalarNode) and node.value is None:
        return freeze_mapping({})
    value = freeze_value(to_plain(schema.mapping(node, what, key), f'{what} "{key}"'))
    assert isinstance(value, Mapping)
    return value
