"""``gerrit version``, ``gerrit ls-projects``, ``gerrit ls-members`` and
``gerrit create-project``, answered as Gerrit's SSH commands answer them."""

from __future__ import annotations

from keepgreen.domain import acl
from keepgreen.domain.project import Project
from keepgreen.gerrit.projects_api import project_info
from keepgreen.gerrit.server_api import GERRIT_VERSION
from keepgreen.ssh.session import CommandError, Parser, Session


async def version(session: Session, args: list[str]) -> int:
    Parser("gerrit version").parse(args)
    await session.out(f"gerrit version {GERRIT_VERSION}\n")
    return 0


async def ls_projects(session: Session, args: list[str]) -> int:
    parser = Parser("gerrit ls-projects")
    parser.add_argument("--format", type=str.lower, choices=("text", "json", "json_compact"),
                        default="text")
    parser.add_argument("--description", "-d", action="store_true")
    parser.add_argument("--prefix", "-p", default="")
    parser.add_argument("--type", type=str.lower, choices=("code", "permissions", "all"),
                        default="all")
    parser.add_argument("--show-branch", "-b", action="append", default=[])
    opts = parser.parse(args)
    # Every keepgreen project holds code; none is only a holder of permissions.
    visible = ([] if opts.type == "permissions" else
               await session.call(session.services.projects.visible, session.who))
    projects = sorted((p for p in visible if p.name.startswith(opts.prefix)),
                      key=lambda p: p.name)
    if opts.show_branch:
        return await _with_branches(session, projects, opts.show_branch, opts.format)
    if opts.format.startswith("json"):
        listing = {}
        for p in projects:
            info = project_info(p)
            del info["name"]
            if not opts.description:
                info.pop("description", None)
            listing[p.name] = info
        await session.json_line(listing)
        return 0
    lines = [f"{p.name} - {p.description}" if opts.description and p.description else p.name
             for p in projects]
    await session.out("".join(line + "\n" for line in lines))
    return 0


async def _with_branches(session: Session, projects: list[Project], branches: list[str],
                         form: str) -> int:
    """Gerrit's ``ls-projects -b``: each project with the given branches' commits (a
    project without any of them, or whose branches you may not read, is left out)."""
    services, who = session.services, session.who

    def tips(project: Project) -> list[str | None]:
        rules = services.projects.rules(project)
        found = dict(services.projects.branches(project))
        shown = []
        for branch in branches:
            ref = "refs/heads/" + branch.removeprefix("refs/heads/")
            readable = acl.check(rules, who, acl.READ, ref)
            shown.append(found.get(ref) if readable else None)
        return shown

    listing: dict[str, object] = {}
    lines = []
    for project in projects:
        shas = await session.call(tips, project)
        if not any(shas):
            continue
        if form.startswith("json"):
            info = project_info(project)
            del info["name"]
            info["branches"] = {b: sha for b, sha in zip(branches, shas, strict=True) if sha}
            listing[project.name] = info
        else:
            lines.append(" ".join((sha or "-" * 40) for sha in shas) + " " + project.name)
    if form.startswith("json"):
        await session.json_line(listing)
    else:
        await session.out("".join(line + "\n" for line in lines))
    return 0


async def ls_members(session: Session, args: list[str]) -> int:
    parser = Parser("gerrit ls-members")
    parser.add_argument("--recursive", action="store_true")
    parser.add_argument("group")
    opts = parser.parse(args)
    members = await session.call(session.services.accounts.members, opts.group)
    rows = ["id\tusername\tfull name\temail"]
    for account in sorted(members, key=lambda a: a.id):
        email = account.email if session.who.account is not None and account.email else "n/a"
        rows.append(f"{account.id}\t{account.username}\t{_cell(account.name)}\t{email}")
    await session.out("".join(row + "\n" for row in rows))
    return 0


def _cell(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ") or "n/a"


async def create_project(session: Session, args: list[str]) -> int:
    parser = Parser("gerrit create-project")
    parser.add_argument("--description", "-d", default="")
    parser.add_argument("--empty-commit", action="store_true")
    parser.add_argument("--branch", "-b", action="append", default=[])
    parser.add_argument("name")
    opts = parser.parse(args)
    name = opts.name.strip("/").removesuffix(".git")
    if not name:
        raise CommandError("gerrit create-project: name the project")
    await session.call(session.services.projects.create, session.who, name, opts.description,
                       opts.empty_commit, opts.branch or None)
    return 0
