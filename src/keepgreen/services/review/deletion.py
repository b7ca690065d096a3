"""Deleting a change, as Gerrit's ``DELETE /changes/{id}``: an open or abandoned change
goes with its patch sets, votes, comments and refs; a merged one stays (its commits are on
the branch). Administrators may delete any such change, an owner their own where the
project grants ``deleteOwnChanges``. A ``change-deleted`` event tells listeners, and the
pipelines drop the change."""

from __future__ import annotations

from collections.abc import Callable

from keepgreen.domain import acl, events
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, Change
from keepgreen.domain.refs import ZERO, patch_set_ref
from keepgreen.git.repos import Repos
from keepgreen.services.errors import Conflict, Forbidden, Unauthorized
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as store
from keepgreen.store import events as event_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database


class ChangeDeleter:
    def __init__(self, db: Database, repos: Repos, projects: ProjectService,
                 base_url: Callable[[], str]) -> None:
        self.db = db
        self.repos = repos
        self.projects = projects
        self._base_url = base_url

    def delete(self, who: Principal, change: Change) -> None:
        if who.account is None:
            raise Unauthorized("deleting a change needs you to sign in")
        if change.status == MERGED:
            raise Conflict(f"change {change.number} is merged; merged changes cannot be "
                           "deleted")
        if not who.is_admin:
            project = self.projects.exists(change.project)
            assert project is not None
            decision = acl.check(self.projects.rules(project), who.as_owner_of(change.owner_id),
                                 acl.DELETE_OWN_CHANGES, "refs/heads/" + change.branch)
            if who.account.id != change.owner_id or not decision:
                raise Forbidden(f"deleting change {change.number} is for administrators and, "
                                f"where {acl.DELETE_OWN_CHANGES} is granted, its owner")
        now = utcnow()
        with self.db.write() as conn:
            fresh = store.change_by_number(conn, change.number)
            if fresh is None:
                return
            if fresh.status == MERGED:
                raise Conflict(f"change {change.number} is merged; merged changes cannot be "
                               "deleted")
            sets = store.patch_sets_of(conn, [change.number])[change.number]
            owner = account_store.account_by_id(conn, fresh.owner_id)
            payload = {"type": "change-deleted",
                       "change": events.change_attr(fresh, owner, self._base_url(),
                                                    sets[-1].message if sets else ""),
                       "deleter": events.account_attr(who.account),
                       "project": fresh.project, "refName": "refs/heads/" + fresh.branch,
                       "changeKey": {"id": fresh.change_id},
                       "eventCreatedOn": events.epoch(now)}
            event_store.record(conn, "change-deleted", payload, now, project=fresh.project,
                               change_number=fresh.number)
            store.delete_change(conn, fresh.number)
        refs = [(patch_set_ref(change.number, ps.number), ZERO, ps.sha) for ps in sets
                if self.repos.resolve(change.project, patch_set_ref(change.number, ps.number))
                == ps.sha]
        # Change edits of the change (``refs/users/NN/ACCOUNT/edit-N/PS``) go with it.
        refs += [(ref, ZERO, sha) for ref, sha in self.repos.refs(change.project, "refs/users/")
                 if f"/edit-{change.number}/" in ref]
        if refs:
            self.repos.update_refs(change.project, refs)
