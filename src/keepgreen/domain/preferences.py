"""Account preferences as Gerrit names them: the fields of each kind (general, diff, edit),
their types and allowed values, the built-in defaults, and the check of what a caller sends.

A preference that was never set takes the site's default, and the site's default that was
never set takes the built-in one. Boolean fields that are false are left out of what is
shown, as Gerrit leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENERAL = "general"
DIFF = "diff"
EDIT = "edit"
KINDS = (GENERAL, DIFF, EDIT)

MAX_TEXT = 255  # characters in one text preference
MAX_MENU_ITEMS = 50  # entries in the "my" menu and in change_table
MAX_URL = 2000


class PreferenceError(ValueError):
    """One sentence naming the field that is wrong and what it should be."""


@dataclass(frozen=True)
class Field:
    kind: str  # "bool", "int", "choice", "text", "menu", "columns"
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 0


def _flag() -> Field:
    return Field("bool")


def _number(low: int, high: int) -> Field:
    return Field("int", low=low, high=high)


def _choice(*values: str) -> Field:
    return Field("choice", values)


GENERAL_FIELDS: dict[str, Field] = {
    "changes_per_page": Field("choice", ("10", "25", "50", "100")),
    "theme": _choice("AUTO", "DARK", "LIGHT"),
    "expand_inline_diffs": _flag(),
    "download_scheme": Field("text"),
    "date_format": _choice("STD", "US", "ISO", "EURO", "UK"),
    "time_format": _choice("HHMM_12", "HHMM_24"),
    "relative_date_in_change_table": _flag(),
    "diff_view": _choice("SIDE_BY_SIDE", "UNIFIED_DIFF"),
    "size_bar_in_change_table": _flag(),
    "legacycid_in_change_table": _flag(),
    "mute_common_path_prefixes": _flag(),
    "signed_off_by": _flag(),
    "allow_browser_notifications": _flag(),
    "allow_suggest_code_while_commenting": _flag(),
    "allow_autocompleting_comments": _flag(),
    "diff_page_sidebar": Field("text"),
    "my": Field("menu"),
    "change_table": Field("columns"),
    "email_strategy": _choice("ENABLED", "CC_ON_OWN_COMMENTS", "ATTENTION_SET_ONLY",
                              "DISABLED"),
    "email_format": _choice("PLAINTEXT", "HTML_PLAINTEXT"),
    "default_base_for_merges": _choice("AUTO_MERGE", "FIRST_PARENT"),
    "disable_keyboard_shortcuts": _flag(),
    "disable_token_highlighting": _flag(),
    "publish_comments_on_push": _flag(),
    "work_in_progress_by_default": _flag(),
}

_LINE = _number(1, 1000)
_BLINK = _number(0, 10_000)
DIFF_FIELDS: dict[str, Field] = {
    "context": _number(-1, 100_000),  # -1 shows the whole file
    "expand_all_comments": _flag(),
    "ignore_whitespace": _choice("IGNORE_NONE", "IGNORE_TRAILING",
                                 "IGNORE_LEADING_AND_TRAILING", "IGNORE_ALL"),
    "intraline_difference": _flag(),
    "line_length": _LINE,
    "cursor_blink_rate": _BLINK,
    "manual_review": _flag(),
    "retain_header": _flag(),
    "show_line_endings": _flag(),
    "show_tabs": _flag(),
    "show_whitespace_errors": _flag(),
    "skip_deleted": _flag(),
    "skip_uncommented": _flag(),
    "syntax_highlighting": _flag(),
    "hide_top_menu": _flag(),
    "auto_hide_diff_table_header": _flag(),
    "hide_line_numbers": _flag(),
    "tab_size": _number(1, 100),
    "font_size": _number(1, 200),
    "hide_empty_pane": _flag(),
    "match_brackets": _flag(),
    "line_wrapping": _flag(),
    "indent_with_tabs": _flag(),
}

EDIT_FIELDS: dict[str, Field] = {
    "tab_size": _number(1, 100),
    "line_length": _LINE,
    "indent_unit": _number(0, 100),
    "cursor_blink_rate": _BLINK,
    "hide_top_menu": _flag(),
    "show_tabs": _flag(),
    "show_whitespace_errors": _flag(),
    "syntax_highlighting": _flag(),
    "hide_line_numbers": _flag(),
    "match_brackets": _flag(),
    "line_wrapping": _flag(),
    "indent_with_tabs": _flag(),
    "auto_close_brackets": _flag(),
    "show_base": _flag(),
}

FIELDS: dict[str, dict[str, Field]] = {GENERAL: GENERAL_FIELDS, DIFF: DIFF_FIELDS,
                                        EDIT: EDIT_FIELDS}

MY_MENU = [("Changes", "#/dashboard/self"), ("Draft Comments", "#/q/has:draft"),
           ("Edits", "#/q/has:edit"), ("Watched Changes", "#/q/is:watched+is:open"),
           ("Starred Changes", "#/q/is:starred"), ("Groups", "#/groups/self")]

GENERAL_DEFAULTS: dict[str, Any] = {
    "changes_per_page": 25, "theme": "AUTO", "date_format": "STD", "time_format": "HHMM_12",
    "diff_view": "SIDE_BY_SIDE", "size_bar_in_change_table": True,
    "mute_common_path_prefixes": True, "email_strategy": "ENABLED",
    "email_format": "HTML_PLAINTEXT", "default_base_for_merges": "FIRST_PARENT",
    "allow_browser_notifications": True, "allow_suggest_code_while_commenting": True,
    "allow_autocompleting_comments": True, "diff_page_sidebar": "NONE",
    "my": [{"url": url, "name": name} for name, url in MY_MENU], "change_table": [],
}

DIFF_DEFAULTS: dict[str, Any] = {
    "context": 10, "tab_size": 8, "font_size": 12, "line_length": 100,
    "cursor_blink_rate": 0, "ignore_whitespace": "IGNORE_NONE",
    "intraline_difference": True, "show_line_endings": True, "show_tabs": True,
    "show_whitespace_errors": True, "syntax_highlighting": True,
    "auto_hide_diff_table_header": True,
}

EDIT_DEFAULTS: dict[str, Any] = {
    "tab_size": 8, "line_length": 100, "indent_unit": 2, "cursor_blink_rate": 0,
    "show_tabs": True, "syntax_highlighting": True, "match_brackets": True,
}

DEFAULTS: dict[str, dict[str, Any]] = {GENERAL: GENERAL_DEFAULTS, DIFF: DIFF_DEFAULTS,
                                       EDIT: EDIT_DEFAULTS}


def checked(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``data`` that ``kind`` knows, each checked; ``null`` means "leave as it
    is" and is dropped, unknown fields are ignored as Gerrit ignores them."""
    fields = FIELDS[kind]
    result: dict[str, Any] = {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None or value is None:
            continue
        result[name] = _value(name, field, value)
    return result


def _value(name: str, field: Field, value: Any) -> Any:
    if field.kind == "bool":
        if not isinstance(value, bool):
            raise PreferenceError(f"{name} must be true or false")
        return value
    if field.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise PreferenceError(f"{name} must be a whole number")
        if not field.low <= value <= field.high:
            raise PreferenceError(f"{name} must be from {field.low} to {field.high}")
        return value
    if field.kind == "choice":
        if name == "changes_per_page":
            if isinstance(value, bool) or not isinstance(value, int) \
                    or str(value) not in field.choices:
                raise PreferenceError(f"{name} must be one of {', '.join(field.choices)}")
            return value
        if not isinstance(value, str) or value.upper() not in field.choices:
            raise PreferenceError(f"{name} must be one of {', '.join(field.choices)}")
        return value.upper()
    if field.kind == "text":
        return _text(name, value, MAX_TEXT)
    if field.kind == "columns":
        items = _list(name, value)
        return [_text(f"{name}[{i}]", item, MAX_TEXT) for i, item in enumerate(items)]
    return [_menu_item(f"{name}[{i}]", item) for i, item in enumerate(_list(name, value))]


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise PreferenceError(f"{name} must be a list")
    if len(value) > MAX_MENU_ITEMS:
        raise PreferenceError(f"{name} holds at most {MAX_MENU_ITEMS} entries")
    return value


def _text(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise PreferenceError(f"{name} must be a string")
    if len(value) > limit or "\n" in value:
        raise PreferenceError(f"{name} must be one line of at most {limit} characters")
    return value


def _menu_item(name: str, value: Any) -> dict[str, str]:
    """A TopMenuItemInfo: ``url`` and ``name``, with ``target`` and ``id`` if given."""
    if not isinstance(value, dict):
        raise PreferenceError(f"{name} must be an object with url and name")
    item: dict[str, str] = {}
    for key in ("url", "name", "target", "id"):
        raw = value.get(key)
        if raw is None:
            if key in ("url", "name"):
                raise PreferenceError(f"{name}.{key} is missing")
            continue
        item[key] = _text(f"{name}.{key}", raw, MAX_URL if key == "url" else MAX_TEXT)
    return item


def shown(kind: str, *layers: Mapping[str, Any]) -> dict[str, Any]:
    """What an account sees: the built-in defaults with each layer laid over them in turn
    (the site's defaults, then the account's own), false booleans left out."""
    merged: dict[str, Any] = dict(DEFAULTS[kind])
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k in FIELDS[kind]})
    return {k: v for k, v in merged.items() if v is not False}
