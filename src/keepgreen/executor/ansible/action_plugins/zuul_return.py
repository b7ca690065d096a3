"""``zuul_return``: hand data from a job back to the executor, as in Zuul.

    - zuul_return:
        data:
          zuul:
            log_url: https://logs.example.org/123/
            artifacts:
              - name: docs
                url: docs/
          my_value: 42

``data`` is merged into what earlier calls returned (dictionaries deeply, everything else
replaced), and written to the JSON file named by ``KEEPGREEN_RESULTS`` (the build's
``work/results.json``), under ``data``; ``secret_data`` likewise under ``secret_data``.
``file`` names a JSON or YAML file on the executor to read the data from instead.
It runs on the executor (an action plugin), once per host; repeated data merges to the
same result.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

DOCUMENTATION = """
    module: zuul_return
    short_description: return data from a job to the executor
    options:
      data: {description: data to merge into the build's returned data, type: dict}
      secret_data: {description: data for child jobs only, never shown, type: dict}
      file: {description: JSON or YAML file on the executor to read data from, type: str}
"""


def merge(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("data", "secret_data", "file"))

    def run(self, tmp: object = None,
            task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        path = os.environ.get("KEEPGREEN_RESULTS")
        if not path:
            raise AnsibleActionFail("zuul_return: KEEPGREEN_RESULTS is not set; "
                                    "it runs only under the keepgreen executor")
        new = {"data": self._task.args.get("data") or {},
               "secret_data": self._task.args.get("secret_data") or {}}
        source = self._task.args.get("file")
        if source:
            new["data"] = self._load(source)
        for key, value in new.items():
            if not isinstance(value, dict):
                raise AnsibleActionFail(f"zuul_return: {key} must be a dictionary")
        with open(path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # forks of several hosts write at once
            handle.seek(0)
            text = handle.read()
            current = json.loads(text) if text.strip() else {}
            merge(current, json.loads(json.dumps(new, default=to_text)))
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(current, indent=2, sort_keys=True))
        result["changed"] = False
        return result

    def _load(self, source: str) -> Any:
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise AnsibleActionFail(f"zuul_return: cannot read {source}: {exc}") from exc
        try:
            return json.loads(text)
        except ValueError:
            import yaml  # ansible-core depends on PyYAML

            return yaml.safe_load(text) or {}
