"""Which program an SSH command line runs: git's transport programs or a ``gerrit``
command; everything else is refused as Gerrit refuses it (``fatal: ...: not found``)."""

from __future__ import annotations

import shlex

from keepgreen.ssh import admin, query, review, scp_hook, stream
from keepgreen.ssh.git_commands import git_service, run_git
from keepgreen.ssh.session import Command, CommandError, Session

GERRIT_COMMANDS: dict[str, Command] = {
    "version": admin.version,
    "ls-projects": admin.ls_projects,
    "ls-members": admin.ls_members,
    "create-project": admin.create_project,
    "query": query.query,
    "review": review.review,
    "set-reviewers": review.set_reviewers,
    "stream-events": stream.stream_events,
}


def split(command: str) -> list[str]:
    """The command line's words, quoted as a POSIX shell would."""
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise CommandError(f"cannot read the command line: {exc}") from None


async def run(session: Session, command: str) -> int:
    argv = split(command)
    git = git_service(argv)
    if git is not None:
        return await run_git(session, *git)
    if not argv:
        raise CommandError("no command given; try: gerrit version")
    if argv[0] == "scp":
        return await scp_hook.scp(session, argv[1:])
    if argv[0] != "gerrit":
        raise CommandError(f"{argv[0]}: not found")
    if len(argv) < 2:
        raise CommandError("gerrit: name a command, one of "
                           + ", ".join(sorted(GERRIT_COMMANDS)))
    found = GERRIT_COMMANDS.get(argv[1])
    if found is None:
        raise CommandError(f"gerrit: {argv[1]}: not found")
    return await found(session, argv[2:])
