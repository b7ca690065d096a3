"""Change edits: one person's unpublished changes to a change, made file by file on the
server and published as the change's next patch set.

An edit is a row of ``change_edits`` (its base patch set and commit message) and a commit
the row's owner alone reaches, at ``refs/users/NN/ACCOUNT/edit-CHANGE/PS`` as in Gerrit; that
namespace is hidden from every fetch but an administrator's. Only the change owner (or an
administrator) has an edit, each caller sees only their own, and an edit of a closed change
cannot be made. Publishing goes through ``RevisionService.add_patch_set``, the one path
every new patch set takes, so votes are copied, events recorded and CI starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from keepgreen.domain.account import Principal
from keepgreen.domain.change import NEW, Change, PatchSet, Person
from keepgreen.domain.changeid import change_ids
from keepgreen.domain.refs import ZERO
from keepgreen.git import edit_trees
from keepgreen.git.edit_trees import TreeEditError, TreeFile
from keepgreen.git.merges import MergeConflict
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.revisions import RevisionService
from keepgreen.store import changes as store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow

COMMIT_MSG = "/COMMIT_MSG"
MAX_PATH = 4096
IDENTITY_TYPES = ("AUTHOR", "COMMITTER", "BOTH")


def edit_ref(account_id: int, change: int, patch_set: int) -> str:
    """Where Gerrit keeps a change edit: the account's shard, its id, change and base."""
    return f"refs/users/{account_id % 100:02d}/{account_id}/edit-{change}/{patch_set}"


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file of an edit, or None when it can."""
    if not path:
        return "a file path is needed"
    if len(path) > MAX_PATH:
        return f"a file path must be at most {MAX_PATH} characters"
    if path.startswith("/"):
        return f"{path!r} is absolute; name the file relative to the repository's top"
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        return f"{path!r} holds a control character or a backslash"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"{path!r} has an empty, '.' or '..' part"
        if part.lower() == ".git":
            return f"{path!r} names a .git directory, which no commit may hold"
    return None


@dataclass(frozen=True)
class Edit:
    """The caller's edit of a change: its base patch set and commit."""

    change: Change
    account_id: int
    base: PatchSet
    sha: str
    tree: str
    message: str
    author: Person
    committer: Person
    parents: tuple[str, ...]
    stored: bool  # False: a message-only edit whose commit is not written yet

    @property
    def ref(self) -> str:
        return edit_ref(self.account_id, self.change.number, self.base.number)


class ChangeEditService:
    def __init__(self, revisions: RevisionService, max_file_bytes: int) -> None:
        self.revisions = revisions
        self.db = revisions.db
        self.repos = revisions.repos
        self.max_file_bytes = max_file_bytes

    # -- reading ------------------------------------------------------------------------

    def edit(self, who: Principal, change: Change) -> Edit | None:
        """The caller's own edit of ``change``; nobody sees another's."""
        if who.account is None:
            return None
        with self.db.read() as conn:
            row = review_store.get_edit(conn, change.number, who.account.id)
            if row is None:
                return None
            sets = store.patch_sets_of(conn, [change.number])[change.number]
        base = next((ps for ps in sets if ps.number == row.base_patch_set), None)
        if base is None:
            return None
        ref = edit_ref(who.account.id, change.number, base.number)
        sha = self.repos.resolve(change.project, ref)
        if sha is None:
            tree = edit_trees.tree_of(self.repos.path(change.project), base.sha)
            return Edit(change, who.account.id, base, base.sha, tree, row.message,
                        base.author, base.committer, base.parents, False)
        data = self.repos.read_commits(change.project, [sha])[0]
        tree = edit_trees.tree_of(self.repos.path(change.project), sha)
        return Edit(change, who.account.id, base, sha, tree, data.message, data.author,
                    data.committer, data.parents, True)

    def require(self, who: Principal, change: Change) -> Edit:
        edit = self.edit(who, change)
        if edit is None:
            raise NotFound(f"you have no change edit on change {change.number}")
        return edit

    def file(self, who: Principal, change: Change, path: str,
             base: bool = False) -> bytes | None:
        """A file of the caller's edit (or of its base patch set); None when not there."""
        edit = self.require(who, change)
        if path == COMMIT_MSG:
            return (edit.base.message if base else edit.message).encode()
        repo = self.repos.path(change.project)
        tree = edit_trees.tree_of(repo, edit.base.sha) if base else edit.tree
        found = edit_trees.file_in(repo, tree, path)
        if found is None or found.mode == edit_trees.GITLINK_MODE:
            return None
        if edit_trees.blob_size(repo, found.oid) > self.max_file_bytes:
            raise BadRequest(f"{path} is larger than the {self.max_file_bytes} bytes served")
        return edit_trees.read_blob(repo, found.oid)

    # -- changing -----------------------------------------------------------------------

    def _editor(self, who: Principal, change: Change, action: str) -> Person:
        if who.account is None:
            raise Unauthorized(f"{action} needs you to sign in")
        if who.account.id != change.owner_id and not who.is_admin:
            raise Forbidden(f"only the owner of change {change.number} may edit it")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}; only open "
                           "changes can be edited")
        return Person(who.account.name, who.account.email or "", utcnow())

    def _start(self, who: Principal, change: Change) -> Edit:
        """The caller's edit, or a new one on the current patch set (not stored yet)."""
        assert who.account is not None
        edit = self.edit(who, change)
        if edit is not None:
            return edit
        ps = self.revisions.current_patch_set(change)
        tree = edit_trees.tree_of(self.repos.path(change.project), ps.sha)
        return Edit(change, who.account.id, ps, ps.sha, tree, ps.message, ps.author,
                    ps.committer, ps.parents, False)

    def _save(self, edit: Edit, committer: Person, tree: str | None = None,
              message: str | None = None, author: Person | None = None,
              base: PatchSet | None = None, parents: tuple[str, ...] | None = None) -> None:
        """Write the edit's next commit and move its ref and row to it, all or nothing."""
        tree = tree or edit.tree
        message = edit.message if message is None else message
        author = author or edit.author
        base = base or edit.base
        parents = edit.parents if parents is None else parents
        env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
               "GIT_AUTHOR_DATE": _date(author), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _date(committer)}
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        sha = self.repos.run(edit.change.project, *args, input_text=message, env=env).strip()
        ref = edit_ref(edit.account_id, edit.change.number, base.number)
        if edit.stored and ref == edit.ref:
            old = edit.sha
        else:  # a new ref; one left behind by an edit whose row is gone is replaced
            old = self.repos.resolve(edit.change.project, ref) or ZERO
        updates = [(ref, sha, old)]
        if edit.stored and ref != edit.ref:
            updates.append((edit.ref, ZERO, edit.sha))
        with self.db.write() as conn:
            review_store.set_edit(conn, edit.change.number, edit.account_id, base.number,
                                  message, utcnow())
            try:
                self.repos.update_refs(edit.change.project, updates)
            except GitError:
                raise Conflict(f"your change edit of change {edit.change.number} was "
                               "changed meanwhile; retry") from None

    def create(self, who: Principal, change: Change) -> None:
        committer = self._editor(who, change, "creating a change edit")
        if self.edit(who, change) is not None:
            raise Conflict(f"you already have a change edit on change {change.number}")
        self._save(self._start(who, change), committer)

    def put_file(self, who: Principal, change: Change, path: str, content: bytes,
                 mode: int | None = None) -> None:
        """``path`` holding ``content``, made executable or not when ``mode`` says."""
        committer = self._editor(who, change, "editing a file")
        if path == COMMIT_MSG:
            try:
                text = content.decode()
            except UnicodeDecodeError:
                raise BadRequest("a commit message must be UTF-8 text") from None
            self.set_message(who, change, text)
            return
        _check_path(path)
        if len(content) > self.max_file_bytes:
            raise BadRequest(f"{path} would be {len(content)} bytes, more than the "
                             f"{self.max_file_bytes} bytes a file of an edit may hold")
        if mode not in (None, edit_trees.FILE_MODE, edit_trees.EXECUTABLE_MODE):
            raise BadRequest("file_mode must be 100644 or 100755")
        edit = self._start(who, change)
        self._save(edit, committer, tree=self._tree(edit, {path: content}, set(),
                                                    {path: mode} if mode else None))

    def delete_file(self, who: Principal, change: Change, path: str) -> None:
        committer = self._editor(who, change, "deleting a file")
        _check_path(path)
        edit = self._start(who, change)
        if edit_trees.file_in(self.repos.path(change.project), edit.tree, path) is None:
            raise NotFound(f"file {path} is not in the change edit of change {change.number}")
        self._save(edit, committer, tree=self._tree(edit, {}, {path}))

    def restore_file(self, who: Principal, change: Change, path: str) -> None:
        """The file as it is in the edit's base patch set (or gone, if it is not there)."""
        committer = self._editor(who, change, "restoring a file")
        _check_path(path)
        edit = self._start(who, change)
        repo = self.repos.path(change.project)
        original = edit_trees.file_in(repo, edit_trees.tree_of(repo, edit.base.sha), path)
        if original is None and edit_trees.file_in(repo, edit.tree, path) is None:
            raise NotFound(f"file {path} is in neither the change edit nor patch set "
                           f"{edit.base.number}")
        put = {path: original} if original is not None else {}
        self._save(edit, committer, tree=self._tree(edit, put, set() if put else {path}))

    def rename_file(self, who: Principal, change: Change, old: str, new: str) -> None:
        committer = self._editor(who, change, "renaming a file")
        _check_path(old)
        _check_path(new)
        edit = self._start(who, change)
        repo = self.repos.path(change.project)
        moved = edit_trees.file_in(repo, edit.tree, old)
        if moved is None:
            raise NotFound(f"file {old} is not in the change edit of change {change.number}")
        if edit_trees.file_in(repo, edit.tree, new) is not None:
            raise Conflict(f"file {new} already exists in the change edit")
        self._save(edit, committer, tree=self._tree(edit, {new: moved}, {old}))

    def apply_fix(self, who: Principal, change: Change, ps: PatchSet,
                  files: Mapping[str, bytes]) -> Edit:
        """Each of ``files`` holding the given content in the caller's edit, which is
        started on ``ps`` when there is none; refused when the edit has another base, as
        the fix was made for ``ps``. As in Gerrit, the fixed files are merged into an
        existing edit (three-way, from ``ps``), so earlier edits of the same files stay.
        The edit afterwards."""
        committer = self._editor(who, change, "applying a fix")
        assert who.account is not None
        for path in files:
            _check_path(path)
            if len(files[path]) > self.max_file_bytes:
                raise BadRequest(f"{path} would be larger than the {self.max_file_bytes} "
                                 "bytes a file of an edit may hold")
        edit = self.edit(who, change)
        if edit is not None and edit.base.number != ps.number:
            raise Conflict(f"your change edit is based on patch set {edit.base.number}, not "
                           f"{ps.number}; a fix can only be applied to the edit's patch set")
        base_tree = edit_trees.tree_of(self.repos.path(change.project), ps.sha)
        fresh = Edit(change, who.account.id, ps, ps.sha, base_tree, ps.message, ps.author,
                     ps.committer, ps.parents, False)
        fixed = self._tree(fresh, files, set())
        if edit is None:
            self._save(fresh, committer, tree=fixed)
        else:
            try:
                tree = self.revisions.merger.merge_tree(change.project, edit.tree, fixed,
                                                        merge_base=base_tree)
            except MergeConflict as exc:
                raise Conflict("the fix conflicts with your change edit in: "
                               f"{', '.join(exc.files) or 'the tree'}") from None
            if tree == edit.tree:
                raise Conflict("the change edit already holds this fix")
            self._save(edit, committer, tree=tree)
        return self.require(who, change)

    def set_message(self, who: Principal, change: Change, message: str) -> None:
        committer = self._editor(who, change, "editing the commit message")
        if not message.strip():
            raise BadRequest("the commit message must not be empty")
        ids = change_ids(message)
        if ids and change.change_id not in ids:
            raise BadRequest("the Change-Id footer must stay " + change.change_id)
        if not ids:
            message = message.rstrip("\n") + f"\n\nChange-Id: {change.change_id}\n"
        if not message.endswith("\n"):
            message += "\n"
        edit = self._start(who, change)
        if edit.message == message:
            raise Conflict("new commit message is the same as the current one")
        self._save(edit, committer, message=message)

    def set_identity(self, who: Principal, change: Change, name: str | None,
                     email: str | None, kind: str) -> None:
        """The author and/or committer of the edit's commit. Anyone may be named author
        (Gerrit's default "Forge Author"); only an administrator names another committer."""
        editor = self._editor(who, change, "changing the identity of an edit")
        assert who.account is not None
        if kind not in IDENTITY_TYPES:
            raise BadRequest(f"type must be one of {', '.join(IDENTITY_TYPES)}")
        for value, what in ((name, "name"), (email, "email")):
            if value is not None and (not value.strip() or len(value) > 255
                                      or any(c in value for c in "<>\n\r")):
                raise BadRequest(f"{what} must be 1-255 characters without <, > or newlines")
        if not name and not email:
            raise BadRequest("give a name, an email or both")
        edit = self._start(who, change)
        author, committer = edit.author, edit.committer
        if kind in ("AUTHOR", "BOTH"):
            author = Person(name or author.name, email or author.email, author.date)
        if kind in ("COMMITTER", "BOTH"):
            wanted = Person(name or editor.name, email or editor.email, editor.date)
            if not who.is_admin and (wanted.name, wanted.email) != (editor.name, editor.email):
                raise Forbidden("only administrators may name someone else as committer")
            committer = wanted
        else:
            committer = editor
        if (author, committer.name, committer.email) == (
                edit.author, edit.committer.name, edit.committer.email):
            raise Conflict("the edit already has that identity")
        self._save(edit, committer, author=author)

    def rebase(self, who: Principal, change: Change) -> None:
        """Carry the edit over to the change's current patch set."""
        committer = self._editor(who, change, "rebasing a change edit")
        edit = self.require(who, change)
        current = self.revisions.current_patch_set(change)
        if edit.base.number == current.number:
            raise Conflict("the change edit is already based on the current patch set")
        try:
            tree = self.revisions.merger.merge_tree(change.project, current.sha, edit.sha,
                                                    merge_base=edit.base.sha)
        except MergeConflict as exc:
            raise Conflict("rebasing the change edit conflicts in: "
                           f"{', '.join(exc.files) or 'the tree'}") from None
        message = current.message if edit.message == edit.base.message else edit.message
        self._save(edit, committer, tree=tree, message=message, base=current,
                   parents=current.parents)

    def delete(self, who: Principal, change: Change) -> None:
        if who.account is None:
            raise Unauthorized("deleting a change edit needs you to sign in")
        edit = self.require(who, change)
        with self.db.write() as conn:
            review_store.drop_edit(conn, change.number, edit.account_id)
            if edit.stored:
                self.repos.update_refs(change.project, [(edit.ref, ZERO, edit.sha)])

    def publish(self, who: Principal, change: Change) -> None:
        """The edit as the change's next patch set; the edit is gone afterwards."""
        committer = self._editor(who, change, "publishing a change edit")
        edit = self.edit(who, change)
        if edit is None:
            raise Conflict(f"there is no change edit of yours on change {change.number} "
                           "to publish")
        if edit.base.number != change.current_patch_set:
            raise Conflict("the change edit is based on an old patch set; rebase it "
                           "(edit:rebase) first")
        base_tree = edit_trees.tree_of(self.repos.path(change.project), edit.base.sha)
        if edit.tree == base_tree and edit.message == edit.base.message:
            raise Conflict("the change edit changes nothing; delete it instead")
        sha = edit.sha
        if not edit.stored:  # a message-only edit: its commit is made now
            self._save(edit, committer)
            edit = self.require(who, change)
            sha = edit.sha
        self.revisions.add_patch_set(who, change, sha, f"Patch Set "
                                     f"{change.current_patch_set + 1}: Published edit on "
                                     f"patch set {edit.base.number}.")
        with self.db.write() as conn:
            review_store.drop_edit(conn, change.number, edit.account_id)
            self.repos.update_refs(change.project, [(edit.ref, ZERO, sha)])

    def _tree(self, edit: Edit, put: Mapping[str, bytes | TreeFile], remove: set[str],
              modes: dict[str, int] | None = None) -> str:
        try:
            tree = edit_trees.edit_tree(self.repos.path(edit.change.project), edit.tree,
                                        put, remove, modes)
        except TreeEditError as exc:
            raise Conflict(str(exc)) from None
        if tree == edit.tree:
            raise Conflict("no changes were made")
        return tree


def _check_path(path: str) -> None:
    problem = path_problem(path)
    if problem:
        raise BadRequest(problem)


def _date(person: Person) -> str:
    return f"{int(person.date.replace(tzinfo=UTC).timestamp())} +0000"
