"""Elections as the site runs them: definitions from ``config``, candidacies, ballots,
results and the proposal of the winner into the team's PTL group.

Definitions are read from the applied tip of ``config`` (``elections/``, ``candidates/``).
A candidacy counts once the change that merged its file was approved with Code-Review +2 by
a member of the election's officials group, was owned by the candidate and merged while
nominations were open; ``sync`` records that after every apply, in acceptance order, which
is the published tie-break order.

Once an election is decided (voting closed, or nominations closed uncontested), a background
loop proposes the winner into ``<team>-ptl`` as a change to ``config`` owned by the CI
account; officials approve it like any change. An official may also ask for it at once.

Ballots keep voter and ranking apart (see ``keepgreen.services.elections.ballots``). Anyone
who may read ``config`` may see elections and their results; only the electorate may vote.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from keepgreen.domain import election as elect
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, Person
from keepgreen.domain.election import ElectionSpec, stamp
from keepgreen.domain.project import SITE_CONFIG
from keepgreen.services.elections.ballots import Ballots, parse_ranking
from keepgreen.services.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.review.revisions import RevisionService
from keepgreen.services.siteconf.candidacies import elections_at, voters
from keepgreen.services.siteconf.config import SiteConfigService
from keepgreen.siteconf.elections import Candidacy
from keepgreen.siteconf.model import GroupSpec, SiteState
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as change_store
from keepgreen.store import elections as store
from keepgreen.store import siteconf as site_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POLL_SECONDS = 2.0


class ElectionService:
    def __init__(self, db: Database, site: SiteConfigService, projects: ProjectService,
                 accounts: AccountService, revisions: RevisionService,
                 proposer: str | None = None, clock: Clock = utcnow) -> None:
        self.db = db
        self.site = site
        self.projects = projects
        self.accounts = accounts
        self.revisions = revisions
        self.proposer = proposer  # the account that owns proposed PTL changes
        self.clock = clock
        self.ballots = Ballots(db)
        self._proposing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cache: tuple[str, dict[str, ElectionSpec], list[Candidacy]] | None = None

    # -- definitions ------------------------------------------------------------------------

    def _definitions(self) -> tuple[dict[str, ElectionSpec], list[Candidacy]]:
        with self.db.read() as conn:
            sha = site_store.applied(conn).get("applied_sha")
        if not sha:
            return {}, []
        if self._cache is None or self._cache[0] != sha:
            specs, candidacies, problems = elections_at(self.site.files, sha)
            if problems:  # an applied tip was checked; only a direct push gets here
                log.warning("elections at %s have problems: %s", sha[:12], problems[0])
            self._cache = (sha, specs, candidacies)
        return self._cache[1], self._cache[2]

    def _visible(self, who: Principal) -> None:
        """Elections are as visible as ``config``, where they are defined."""
        self.projects.get(SITE_CONFIG, who)

    def _spec(self, who: Principal, name: str) -> ElectionSpec:
        self._visible(who)
        spec = self._definitions()[0].get(name)
        if spec is None:
            raise NotFound(f"election {name!r} not found")
        return spec

    def accepted(self, spec: ElectionSpec) -> list[str]:
        """The accepted candidates of ``spec``, in acceptance (tie-break) order."""
        filed = {c.username for c in self._definitions()[1] if c.election == spec.name}
        with self.db.read() as conn:
            records = store.candidates(conn, spec.name)
        return [r.username for r in records if r.status == store.ACCEPTED
                and r.username in filed]

    # -- candidacies ------------------------------------------------------------------------

    def sync(self) -> None:
        """Judge the candidacies the applied tip holds that are not accepted yet."""
        specs, candidacies = self._definitions()
        for candidacy in candidacies:
            spec = specs[candidacy.election]
            with self.db.read() as conn:
                accepted = {r.username for r in store.candidates(conn, spec.name)
                            if r.status == store.ACCEPTED}
            if candidacy.username in accepted:
                continue
            status, number, approver = self._judge(spec, candidacy)
            with self.db.write() as conn:
                store.record_candidate(conn, spec.name, candidacy.username, status, number,
                                       approver, self.clock())
            log.info("candidacy of %s in election %s: %s", candidacy.username, spec.name,
                     status)

    def _judge(self, spec: ElectionSpec,
               candidacy: Candidacy) -> tuple[str, int | None, str | None]:
        tip = self.site.tip() or ""
        added = self.site.repos.run(SITE_CONFIG, "log", "--format=%H", "--diff-filter=A",
                                    "-1", tip, "--", candidacy.path).strip()
        with self.db.read() as conn:
            found = [(n, status) for n, _, _, status in
                     change_store.patch_sets_with_shas(conn, SITE_CONFIG, [added])
                     if status == MERGED] if added else []
            if not found:
                return store.NOT_APPROVED, None, None
            number = found[0][0]
            change = change_store.change_by_number(conn, number)
            assert change is not None
            owner = account_store.account_by_id(conn, change.owner_id)
            group = account_store.group_by_name(conn, spec.officials)
            officials = {a.id: a.username for a in
                         (account_store.members(conn, group.id) if group else [])}
            votes = change_store.approvals_of(conn, [number]).get(number, [])
        approver = next((officials[v.account_id] for v in votes if v.label == "Code-Review"
                         and v.value == 2 and v.account_id in officials), None)
        if approver is None or owner is None or owner.username != candidacy.username:
            return store.NOT_APPROVED, number, approver
        merged_at = change.submitted or self.clock()
        if not spec.nomination.holds(merged_at):
            return store.LATE, number, approver
        return store.ACCEPTED, number, approver

    # -- reading ----------------------------------------------------------------------------

    def list(self, who: Principal) -> list[dict[str, Any]]:
        self._visible(who)
        return [self._summary(spec, who) for spec in
                sorted(self._definitions()[0].values(),
                       key=lambda s: (s.voting.closes, s.name), reverse=True)]

    def get(self, who: Principal, name: str) -> dict[str, Any]:
        spec = self._spec(who, name)
        summary = self._summary(spec, who)
        statements = {c.username: c.statement for c in self._definitions()[1]
                      if c.election == name}
        with self.db.read() as conn:
            records = store.candidates(conn, name)
        summary["candidacies"] = [
            {"username": r.username, "status": r.status, "change": r.change_number,
             "approved_by": r.approved_by, "statement": statements.get(r.username, "")}
            for r in records if r.username in statements]
        summary["electorate_size"] = len(voters(self.db, spec))
        return summary

    def _summary(self, spec: ElectionSpec, who: Principal) -> dict[str, Any]:
        now = self.clock()
        accepted = self.accepted(spec)
        may_vote = (who.account is not None
                    and who.account.username in voters(self.db, spec))
        with self.db.read() as conn:
            voted = (who.account is not None
                     and store.has_voted(conn, spec.name, who.account.id))
            count = store.voter_count(conn, spec.name)
        return {
            "name": spec.name, "team": spec.team, "office": spec.office,
            "description": spec.description, "projects": list(spec.projects),
            "phase": spec.phase(now), "method": spec.method, "officials": spec.officials,
            "group": spec.group,
            "nomination": {"opens": _iso(spec.nomination.opens),
                           "closes": _iso(spec.nomination.closes)},
            "voting": {"opens": _iso(spec.voting.opens), "closes": _iso(spec.voting.closes)},
            "electorate": elect.describe_rule(spec),
            "candidates": accepted, "tie_break": accepted,
            "ballots_cast": count, "may_vote": may_vote, "voted": voted,
        }

    # -- ballots ----------------------------------------------------------------------------

    def _voter(self, who: Principal, spec: ElectionSpec) -> int:
        if who.account is None:
            raise Unauthorized(f"voting in election {spec.name!r} needs you to sign in")
        if who.account.username not in voters(self.db, spec):
            raise Forbidden(f"{who.account.username} may not vote in election "
                            f"{spec.name!r}: {elect.describe_rule(spec)}")
        return who.account.id

    def ballot(self, who: Principal, name: str, receipt: str | None) -> dict[str, Any]:
        """The caller's standing in the election, and with ``receipt`` the ballot it
        names (how a voter checks what was stored)."""
        spec = self._spec(who, name)
        account = self._voter(who, spec)
        with self.db.read() as conn:
            voted = store.has_voted(conn, name, account)
        answer: dict[str, Any] = {"election": name, "phase": spec.phase(self.clock()),
                                  "candidates": self.accepted(spec), "voted": voted}
        if receipt:
            answer.update(self.ballots.verify(name, receipt))
        return answer

    def vote(self, who: Principal, name: str, body: Any,
             receipt: str | None) -> dict[str, Any]:
        spec = self._spec(who, name)
        account = self._voter(who, spec)
        now = self.clock()
        if spec.phase(now) != elect.VOTING:
            raise Conflict(f"voting in election {name!r} is {_window_state(spec, now)}; "
                           f"it runs from {stamp(spec.voting.opens)} to "
                           f"{stamp(spec.voting.closes)}")
        with self.db.read() as conn:
            published = store.result(conn, name) is not None
        if published:
            raise Conflict(f"the result of election {name!r} is published; ballots can no "
                           "longer change")
        candidates = self.accepted(spec)
        if len(candidates) < 2:
            raise Conflict(f"election {name!r} is uncontested or has no candidate; no vote "
                           "is held")
        ranking = parse_ranking(body, candidates)
        return self.ballots.cast(name, account, ranking, receipt)

    # -- results ----------------------------------------------------------------------------

    def result(self, who: Principal, name: str) -> dict[str, Any]:
        return self._result(self._spec(who, name))

    def _result(self, spec: ElectionSpec) -> dict[str, Any]:
        name = spec.name
        with self.db.read() as conn:
            kept = store.result(conn, name)
        if kept is not None:
            return {**kept.document, "proposal_change": kept.proposal_change}
        now = self.clock()
        candidates = self.accepted(spec)
        ballots = self.ballots.all(name)
        decided = elect.outcome(spec, candidates, [r for _, r in ballots], now)
        document: dict[str, Any] = {
            "election": name, "decided": decided.decided, "winner": decided.winner,
            "uncontested": decided.uncontested, "reason": decided.reason,
            "candidates": candidates, "tie_break": candidates, "method": spec.method,
            "strength": "winning-votes", "group": spec.group}
        if decided.tally is not None:
            t = decided.tally
            document.update(ballots=t.ballots, ranking=list(t.ranking),
                            winners=list(t.winners),
                            pairwise={a: dict(row) for a, row in t.pairwise.items()},
                            strongest_paths={a: dict(row)
                                             for a, row in t.strongest_paths.items()},
                            receipts=[{"receipt_hash": h, "ranking": r} for h, r in ballots])
        if not decided.decided:
            return {**document, "proposal_change": None}
        with self.db.write() as conn:
            kept = store.save_result(conn, name, decided.winner, document, now)
        return {**kept.document, "proposal_change": kept.proposal_change}

    # -- the winner into the PTL group --------------------------------------------------------

    def propose(self, who: Principal, name: str) -> dict[str, Any]:
        """Propose, as a change to ``config``, that the winner be the only member of the
        team's PTL group. Only the election's officials (or administrators) may ask."""
        spec = self._spec(who, name)
        if who.account is None:
            raise Unauthorized("proposing the winner needs you to sign in")
        if spec.officials not in who.groups and not who.is_admin:
            raise Forbidden(f"only members of {spec.officials!r}, the officials of election "
                            f"{name!r}, may propose its winner")
        return self._seat(spec, who.account.username, who)

    def propose_decided(self) -> list[int]:
        """Propose the winner of every decided election that has no proposal yet (what the
        background loop does once voting closes, or nominations close uncontested)."""
        if self.proposer is None:
            return []
        made = []
        now = self.clock()
        for spec in list(self._definitions()[0].values()):
            phase = spec.phase(now)
            if phase in (elect.UPCOMING, elect.NOMINATING) or (
                    phase != elect.CLOSED and len(self.accepted(spec)) > 1):
                continue  # not decided yet: no need to count
            outcome = self._result(spec)
            if outcome["decided"] and outcome["winner"] and outcome["proposal_change"] is None:
                try:
                    made.append(self._seat(spec, "keepgreen", None)["change"])
                except ServiceError as exc:
                    log.warning("cannot propose the winner of election %s: %s", spec.name,
                                exc.message)
        return made

    def _seat(self, spec: ElectionSpec, by: str, who: Principal | None) -> dict[str, Any]:
        name = spec.name
        with self._proposing:
            outcome = self._result(spec)
            if not outcome["decided"] or not outcome["winner"]:
                raise Conflict(f"election {name!r} has no winner yet: {outcome['reason']}")
            if outcome["proposal_change"] is not None:
                raise Conflict(f"the winner of election {name!r} was proposed in change "
                               f"{outcome['proposal_change']} already")
            winner = outcome["winner"]
            owner = (self.accounts.principal(self.accounts.get(self.proposer))
                     if self.proposer else who)
            assert owner is not None and owner.account is not None
            person = Person(owner.account.name or owner.account.username,
                            owner.account.email
                            or f"{owner.account.username}@keepgreen.invalid", utcnow())
            title = f"Make {winner} {spec.office} of {spec.team}"
            seed = f"{name}\n{winner}\n{person.date.isoformat()}\n{secrets.token_hex(8)}"
            message = (f"{title}\n\n{winner} won election {name} ({outcome['reason']}).\n"
                       f"Proposed by {by} for the officials ({spec.officials}) to "
                       f"approve.\n\nChange-Id: I{hashlib.sha1(seed.encode()).hexdigest()}\n")

            def seat(state: SiteState) -> SiteState:
                groups = dict(state.groups)
                group = groups.get(spec.group) or GroupSpec(
                    spec.group, f"{spec.office} of {spec.team}, as elected", spec.officials)
                groups[spec.group] = replace(group, members=(winner,))
                return SiteState(state.projects, groups, state.where)

            sha = self.site.commit_for_review(person, message, seat)
            number = self.revisions.propose_commit(owner, SITE_CONFIG, self.site.branch()
                                                   .removeprefix("refs/heads/"), sha,
                                                   topic=f"election-{name}")
            with self.db.write() as conn:
                store.set_proposal(conn, name, number)
            log.info("proposed %s for %s in change %d", winner, spec.group, number)
        return {"election": name, "winner": winner, "group": spec.group, "change": number}

    # -- the background loop ------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keepgreen-elections",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.propose_decided()
            except Exception:  # noqa: BLE001 - one bad pass must not stop the loop
                log.exception("proposing election winners failed; trying again")


def _iso(when: datetime) -> str:
    return when.isoformat() + "Z"


def _window_state(spec: ElectionSpec, now: datetime) -> str:
    return "not open yet" if now < spec.voting.opens else "closed"
