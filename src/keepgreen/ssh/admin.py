"""``gerrit version``, ``gerrit ls-projects``, ``gerrit ls-members`` and
``gerrit create-project``, answered as Gerrit's SSH commands answer them."""

from __future__ import annotations

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
    opts = parser.parse(args)
    projects = [p for p in await session.call(session.services.projects.visible, session.who)
                if p.name.startswith(opts.prefix)]
    projects.sort(key=lambda p: p.name)
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
