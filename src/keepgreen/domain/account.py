"""Accounts and groups as plain values."""

from __future__ import annotations

from dataclasses import dataclass

ADMINISTRATORS = "Administrators"
REGISTERED_USERS = "Registered Users"
ANONYMOUS_USERS = "Anonymous Users"
# The CI account's group: it votes Verified and submits for the gate.
SERVICE_USERS = "Service Users"
# Holds for the owner of the change a decision is about; never listed as a member.
CHANGE_OWNER = "Change Owner"
# Groups whose membership is implied rather than listed.
SYSTEM_GROUPS = (REGISTERED_USERS, ANONYMOUS_USERS, CHANGE_OWNER)
BUILTIN_GROUPS = (ADMINISTRATORS, REGISTERED_USERS, ANONYMOUS_USERS, SERVICE_USERS,
                  CHANGE_OWNER)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str
    email: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str = ""
    owner: str = ADMINISTRATORS
    # Seen by everyone; otherwise only by its members, its owners and administrators.
    visible_to_all: bool = True


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account (or nobody) and every group it belongs to."""

    account: Account | None
    groups: frozenset[str]

    @property
    def is_anonymous(self) -> bool:
        return self.account is None

    @property
    def is_admin(self) -> bool:
        return ADMINISTRATORS in self.groups

    @property
    def is_service_user(self) -> bool:
        """A robot account (CI, an executor): in Service Users, or an administrator."""
        return self.is_admin or SERVICE_USERS in self.groups

    def as_owner_of(self, owner_id: int) -> Principal:
        """The same caller, with ``Change Owner`` added when they own the change."""
        if self.account is not None and self.account.id == owner_id:
            return Principal(self.account, self.groups | {CHANGE_OWNER})
        return self

    @staticmethod
    def anonymous() -> Principal:
        return Principal(None, frozenset({ANONYMOUS_USERS}))

    @staticmethod
    def of(account: Account, member_of: set[str] | frozenset[str]) -> Principal:
        return Principal(account, frozenset(member_of) | {REGISTERED_USERS, ANONYMOUS_USERS})


def valid_username(name: str) -> bool:
    """Usernames as Gerrit allows them: letters, digits and ``._-@``, not starting with ``-``."""
    if not name or len(name) > 64 or name[0] in "-.":
        return False
    return all(c.isalnum() or c in "._-@" for c in name) and name.isascii()
