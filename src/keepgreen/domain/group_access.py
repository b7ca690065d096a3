"""Who may see and who may change a group, as Gerrit decides it. Pure.

Anyone sees a group that is visible to all; otherwise only its members, the members of its
owner group and administrators do. Only the members of its owner group and administrators
change it. Membership here is the principal's: direct or through included groups.
"""

from __future__ import annotations

from keepgreen.domain.account import Group, Principal


def may_see(who: Principal, group: Group) -> bool:
    return (group.visible_to_all or who.is_admin or group.name in who.groups
            or group.owner in who.groups)


def may_manage(who: Principal, group: Group) -> bool:
    return who.account is not None and (who.is_admin or group.owner in who.groups)
