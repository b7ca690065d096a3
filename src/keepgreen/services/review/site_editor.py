"""The port through which review services write the site's resources as config commits.

On a site run from its ``config`` project, creating a project or group and changing members
or access rules become commits on ``config`` (``services/siteconf/config.py`` implements
this port); without one, the review services write the store directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from keepgreen.domain.account import Principal
from keepgreen.siteconf.model import SiteState


class SiteEditor(Protocol):
    def active(self) -> bool:
        """Whether the site's resources are kept in its config project right now."""
        ...

    def edit(self, caller: Principal, message: str,
             change: Callable[[SiteState], SiteState]) -> Any:
        """Commit ``change`` applied to the resources at the tip as ``caller``, then apply it;
        ``change`` raises a ServiceError to refuse."""
        ...
