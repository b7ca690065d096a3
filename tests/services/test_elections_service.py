"""Elections through the services, with a real store (SQLite and PostgreSQL) and a real
config repository: the candidacy check, candidacies that do not count, an uncontested
election, and who may propose the winner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from keepgreen.git.merges import Merger
from keepgreen.services.elections.service import ElectionService
from keepgreen.services.errors import Conflict, Forbidden
from keepgreen.services.review.patchsets import PatchSetWriter
from keepgreen.services.review.revisions import RevisionService
from keepgreen.services.siteconf.check import check_config_change
from keepgreen.store import changes as change_store
from keepgreen.store import elections as election_store
from keepgreen.store.clock import utcnow
from tests.services.test_siteconf import Site
from tests.unit.test_siteconf_model import APP

OFFICIALS = """\
- group:
    name: election-officials
    members: [carol]
"""


def election_yaml(nomination: tuple[datetime, datetime],
                  voting: tuple[datetime, datetime]) -> str:
    def iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    return (f"team: org-app\nprojects: [org/app]\n"
            f"nomination: {{opens: {iso(nomination[0])}, closes: {iso(nomination[1])}}}\n"
            f"voting: {{opens: {iso(voting[0])}, closes: {iso(voting[1])}}}\n"
            "extra-voters: [alice, bob]\nofficials: election-officials\n")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    made = Site(tmp_path / "site", database_url)
    made.push({"resources/officials.yaml": OFFICIALS, "resources/app.yaml": APP},
              "Add org/app and the election officials")
    made.service.apply_pending()
    yield made
    made.db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def elections(site: Site, clock: Clock) -> ElectionService:
    merger = Merger(site.repos)
    revisions = RevisionService(site.db, site.repos, merger, site.projects,
                                PatchSetWriter(merger), lambda: "http://127.0.0.1/")
    service = ElectionService(site.db, site.service, site.projects, site.accounts, revisions,
                              "keepgreen-ci", clock)
    site.service.after_apply.append(service.sync)
    return service


def check(site: Site, files: dict[str, str], message: str = "Change") -> tuple[str, ...]:
    """What the check of a change to config with ``files`` says (problems, else plan)."""
    tip = site.service.tip()
    assert tip is not None
    commit = site.service._commit(tip, files, _person(), message)
    checked = check_config_change(site.repos, site.db, tip, commit, message)
    return tuple(str(p) for p in checked.problems) or checked.plan


def _person():  # type: ignore[no-untyped-def]
    from keepgreen.domain.change import Person
    return Person("Alice", "alice@example.org", utcnow())


def test_the_check_accepts_a_voter_during_nominations_and_refuses_the_rest(
        site: Site) -> None:
    now = utcnow()
    path = "elections/app-2027.yaml"
    site.push({path: election_yaml((now - timedelta(hours=1), now + timedelta(hours=1)),
                                   (now + timedelta(hours=1), now + timedelta(hours=2)))},
              "Announce")
    assert site.service.apply_pending() is not None
    plan = check(site, {"candidates/app-2027/alice.txt": "Me.\n"})
    assert any("accept the candidacy of alice" in line and "election-officials" in line
               for line in plan), plan
    refused = check(site, {"candidates/app-2027/carol.txt": "Me.\n"})
    assert any(line.startswith("candidates/app-2027/carol.txt:") and
               "carol is not in the electorate" in line for line in refused), refused
    broken = check(site, {path: "team: org-app\n"})
    assert any(line.startswith(f"{path}:1:") and "needs `projects`" in line
               for line in broken), broken
    elsewhere = election_yaml((now, now + timedelta(hours=1)),
                              (now + timedelta(hours=1), now + timedelta(hours=2)))
    unknown = check(site, {path: elsewhere.replace("[org/app]", "[org/app, org/gone]")
                           .replace("officials: election-officials", "officials: nobody")})
    assert any(line.startswith(f"{path}:2:") and "org/gone" in line for line in unknown)
    unknown = check(site, {path: elsewhere.replace("officials: election-officials",
                                                   "officials: nobody")})
    assert any(line.startswith(f"{path}:6:") and "group 'nobody', which does not exist"
               in line for line in unknown), unknown

    # Nominations over: a new candidacy is refused, and so is withdrawing one.
    site.push({"candidates/app-2027/alice.txt": "Me.\n"}, "Candidacy of alice")
    site.service.apply_pending()
    site.push({path: election_yaml((now - timedelta(hours=3), now - timedelta(hours=2)),
                                   (now - timedelta(hours=2), now + timedelta(hours=1)))},
              "Open voting")
    site.service.apply_pending()
    late = check(site, {"candidates/app-2027/bob.txt": "Me too.\n"})
    assert any("nominations for election 'app-2027' are closed" in line for line in late)
    tip = site.service.tip()
    assert tip is not None
    withdrawn = _without(site, "candidates/app-2027/alice.txt")
    checked = check_config_change(site.repos, site.db, tip, withdrawn, "Withdraw")
    assert any("cannot be withdrawn" in p.message for p in checked.problems)


def _without(site: Site, path: str) -> str:
    """A commit on the tip of config without ``path``."""
    tip = site.service.tip()
    assert tip is not None
    env = {"GIT_INDEX_FILE": str(site.repos.root / "withdraw-index"),
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org"}
    site.repos.run("config", "read-tree", tip, env=env)
    site.repos.run("config", "update-index", "--index-info", env=env,
                   input_text=f"0 {'0' * 40}\t{path}\n")
    tree = site.repos.run("config", "write-tree", env=env).strip()
    return site.repos.run("config", "commit-tree", tree, "-p", tip, "-m", "Withdraw",
                          env=env).strip()


def test_a_candidacy_pushed_past_review_does_not_count(site: Site,
                                                       elections: ElectionService) -> None:
    now = utcnow()
    site.push({"elections/app-2027.yaml": election_yaml(
        (now - timedelta(hours=1), now + timedelta(hours=1)),
        (now + timedelta(hours=1), now + timedelta(hours=2))),
        "candidates/app-2027/alice.txt": "Me.\n"}, "Announce, with a candidate")
    site.service.apply_pending()
    found = elections.get(site.admin, "app-2027")
    assert found["candidates"] == []
    assert [(c["username"], c["status"]) for c in found["candidacies"]] == [
        ("alice", election_store.NOT_APPROVED)]


def test_an_uncontested_election_ends_at_nomination_close_without_a_vote(
        site: Site, elections: ElectionService, clock: Clock) -> None:
    now = clock.now
    with site.db.write() as conn:
        election_store.record_candidate(conn, "app-2027", "alice", election_store.ACCEPTED,
                                        None, "carol", now)
    site.push({"elections/app-2027.yaml": election_yaml(
        (now - timedelta(hours=1), now + timedelta(hours=1)),
        (now + timedelta(hours=2), now + timedelta(hours=3))),
        "candidates/app-2027/alice.txt": "Me.\n"}, "Announce")
    site.service.apply_pending()
    pending = elections.result(site.who("bob"), "app-2027")
    assert pending["decided"] is False
    with pytest.raises(Forbidden, match="election-officials"):
        elections.propose(site.who("bob"), "app-2027")
    with pytest.raises(Conflict, match="no winner yet"):
        elections.propose(site.who("carol"), "app-2027")

    clock.now = now + timedelta(hours=2, minutes=30)  # voting would be open
    with pytest.raises(Conflict, match="uncontested"):
        elections.vote(site.who("bob"), "app-2027", {"ranking": [["alice"]]}, None)
    result = elections.result(site.who("bob"), "app-2027")
    assert (result["decided"], result["winner"], result["uncontested"]) == (True, "alice",
                                                                          True)
    assert "pairwise" not in result

    # What the background loop does: one proposal per decided election, owned by the CI
    # account; asking again (or an official asking) makes no second change.
    made = elections.propose_decided()
    number = elections.result(site.who("bob"), "app-2027")["proposal_change"]
    assert number is not None and made == [number]
    assert elections.propose_decided() == []
    with site.db.read() as conn:
        change = change_store.change_by_number(conn, number)
        sets = change_store.patch_sets_of(conn, [number])[number]
    assert change is not None and change.project == "config"
    assert change.owner_id == site.accounts.get("keepgreen-ci").id
    assert change.subject == "Make alice PTL of org-app"
    groups = site.repos.run("config", "show", f"{sets[0].sha}:resources/groups.yaml")
    assert "    name: org-app-ptl\n    description: \"PTL of org-app, as elected\"\n" \
        "    owner: election-officials\n    members:\n      - alice\n" in groups
    with pytest.raises(Conflict, match="proposed in change"):
        elections.propose(site.who("carol"), "app-2027")
