"""Merges, cherry-picks, rebases, change kinds and file lists on real bare repositories.

Commits are built with plumbing (a throw-away index, ``hash-object``, ``commit-tree``)
straight in the bare repository, so every date and identity is fixed by the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keepgreen.git.merges import FileChange, MergeConflict
from keepgreen.git.repos import GitError
from tests.services.git_support import CAROL, DAVE, Repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


LINES = "".join(f"line {n}\n" for n in range(1, 11))


@pytest.fixture
def base(repo: Repo) -> str:
    return repo.commit(None, {"a.txt": LINES, "b.txt": "bee\n"}, "base\n")


# -- merges -------------------------------------------------------------------------------


def test_clean_merge_of_branches_touching_different_files(repo: Repo, base: str) -> None:
    left = repo.commit(base, {"a.txt": LINES + "left\n"}, "left\n")
    right = repo.commit(base, {"b.txt": "bee right\n", "c.txt": "new\n"}, "right\n")

    tree = repo.merger.merge_tree("p", left, right)
    assert repo.git("cat-file", "blob", f"{tree}:a.txt") == LINES + "left\n"
    assert repo.git("cat-file", "blob", f"{tree}:b.txt") == "bee right\n"
    assert repo.git("cat-file", "blob", f"{tree}:c.txt") == "new\n"

    merge = repo.merger.merge_commit("p", left, right, "Merge right\n", CAROL)
    info = repo.info(merge)
    assert info.parents == (left, right)
    assert repo.tree(merge) == tree
    assert info.author == CAROL and info.committer == CAROL
    assert info.message == "Merge right\n"
    assert repo.merger.merge_commit("p", left, right, "Merge right\n", CAROL) == merge


def test_conflicting_merge_names_the_file(repo: Repo, base: str) -> None:
    left = repo.commit(base, {"a.txt": LINES.replace("line 5", "left 5"), "b.txt": "l\n"})
    right = repo.commit(base, {"a.txt": LINES.replace("line 5", "right 5"), "b.txt": "r\n"})
    with pytest.raises(MergeConflict) as caught:
        repo.merger.merge_tree("p", left, right)
    assert caught.value.files == ("a.txt", "b.txt")
    with pytest.raises(MergeConflict):
        repo.merger.merge_commit("p", left, right, "Merge\n", CAROL)


def test_merge_tree_with_an_explicit_base(repo: Repo, base: str) -> None:
    one = repo.commit(base, {"a.txt": LINES + "one\n"})
    two = repo.commit(one, {"b.txt": "two\n"})
    upstream = repo.commit(base, {"c.txt": "up\n"})
    # Based on ``one``, only two's own change (b.txt) is carried over, not a.txt's.
    tree = repo.merger.merge_tree("p", upstream, two, merge_base=one)
    assert repo.git("cat-file", "blob", f"{tree}:a.txt") == LINES
    assert repo.git("cat-file", "blob", f"{tree}:b.txt") == "two\n"
    assert repo.git("cat-file", "blob", f"{tree}:c.txt") == "up\n"


def test_unknown_revision_is_a_git_error(repo: Repo, base: str) -> None:
    with pytest.raises(GitError):
        repo.merger.merge_tree("p", base, "f" * 40)
    with pytest.raises(GitError):
        repo.merger.cherry_pick("p", "no-such-rev", base, CAROL)


# -- cherry-pick and rebase ---------------------------------------------------------------


def test_cherry_pick_keeps_author_and_message(repo: Repo, base: str) -> None:
    change = repo.commit(base, {"a.txt": LINES.replace("line 2", "two")},
                         "Fix two\n\nBody text.\n\nChange-Id: I0123\n", author=DAVE)
    upstream = repo.commit(base, {"a.txt": LINES.replace("line 9", "nine"),
                                  "c.txt": "see\n"}, "upstream\n")

    picked = repo.merger.cherry_pick("p", change, upstream, CAROL)
    info = repo.info(picked)
    assert info.parents == (upstream,)
    assert info.author == DAVE
    assert info.committer == CAROL
    assert info.message == "Fix two\n\nBody text.\n\nChange-Id: I0123\n"
    assert repo.read(picked, "a.txt") == LINES.replace("line 2", "two").replace("line 9", "nine")
    assert repo.paths(picked) == ["a.txt", "b.txt", "c.txt"]
    # The scratch commits that pin the merge base never enter the repository.
    assert repo.commits() == {base, change, upstream, picked}

    reworded = repo.merger.cherry_pick("p", change, upstream, CAROL, message="New words")
    assert repo.info(reworded).message == "New words\n"
    assert repo.tree(reworded) == repo.tree(picked)


def test_cherry_pick_keeps_the_author_time_zone(repo: Repo, base: str) -> None:
    env = {"GIT_AUTHOR_NAME": "Zed", "GIT_AUTHOR_EMAIL": "zed@example.com",
           "GIT_AUTHOR_DATE": "1700000000 +0530", "GIT_COMMITTER_NAME": "Zed",
           "GIT_COMMITTER_EMAIL": "zed@example.com", "GIT_COMMITTER_DATE": "1700000000 +0530"}
    change = repo.git("commit-tree", repo.tree(base), "-p", base, "-m", "tz", env=env).strip()
    picked = repo.merger.cherry_pick("p", change, base, CAROL)
    author = repo.git("show", "-s", "--format=%an <%ae> %ad", "--date=raw", picked).strip()
    assert author == "Zed <zed@example.com> 1700000000 +0530"


def test_same_inputs_give_the_same_shas(repo: Repo, base: str) -> None:
    change = repo.commit(base, {"b.txt": "changed\n"}, "change\n")
    upstream = repo.commit(base, {"c.txt": "up\n"}, "upstream\n")
    first = repo.merger.cherry_pick("p", change, upstream, CAROL)
    assert repo.merger.cherry_pick("p", change, upstream, CAROL) == first
    assert repo.merger.cherry_pick("p", change, upstream, DAVE) != first


def test_rebase_a_chain_of_three(repo: Repo, base: str) -> None:
    c1 = repo.commit(base, {"a.txt": LINES.replace("line 1\n", "one\n")}, "c1\n")
    c2 = repo.commit(c1, {"x.txt": "x\n"}, "c2\n", author=DAVE)
    c3 = repo.commit(c2, {"a.txt": LINES.replace("line 1\n", "one\n") + "eleven\n"}, "c3\n")
    upstream = repo.commit(base, {"a.txt": LINES.replace("line 5", "five"), "u.txt": "u\n"})

    new = repo.merger.rebase("p", [c1, c2, c3], upstream, CAROL)
    assert len(new) == 3
    assert [repo.info(sha).parents for sha in new] == [(upstream,), (new[0],), (new[1],)]
    assert [repo.info(sha).message for sha in new] == ["c1\n", "c2\n", "c3\n"]
    assert repo.info(new[1]).author == DAVE
    assert all(repo.info(sha).committer == CAROL for sha in new)
    expected = LINES.replace("line 1\n", "one\n").replace("line 5", "five") + "eleven\n"
    assert repo.read(new[2], "a.txt") == expected
    assert repo.paths(new[2]) == ["a.txt", "b.txt", "u.txt", "x.txt"]
    assert repo.merger.rebase("p", [], upstream, CAROL) == []


def test_conflicting_cherry_pick(repo: Repo, base: str) -> None:
    change = repo.commit(base, {"a.txt": LINES.replace("line 3", "mine")})
    upstream = repo.commit(base, {"a.txt": LINES.replace("line 3", "theirs")})
    with pytest.raises(MergeConflict) as caught:
        repo.merger.cherry_pick("p", change, upstream, CAROL)
    assert caught.value.files == ("a.txt",)
    assert "a.txt" in str(caught.value)


def test_empty_cherry_pick_still_makes_a_commit(repo: Repo, base: str) -> None:
    change = repo.commit(base, {"b.txt": "same\n"}, "change\n")
    upstream = repo.commit(base, {"b.txt": "same\n"}, "already upstream\n")
    picked = repo.merger.cherry_pick("p", change, upstream, CAROL)
    assert repo.info(picked).parents == (upstream,)
    assert repo.tree(picked) == repo.tree(upstream)


def test_cherry_pick_of_a_root_commit(repo: Repo, base: str) -> None:
    root = repo.commit(None, {"r.txt": "root\n"}, "root\n")
    picked = repo.merger.cherry_pick("p", root, base, CAROL)
    assert repo.paths(picked) == ["a.txt", "b.txt", "r.txt"]


# -- change kinds -------------------------------------------------------------------------


@pytest.fixture
def old(repo: Repo, base: str) -> str:
    return repo.commit(base, {"a.txt": LINES.replace("line 2", "two")}, "Change\n\nBody\n")


def test_no_change_when_recommitted_later(repo: Repo, base: str, old: str) -> None:
    again = repo.commit(base, {"a.txt": LINES.replace("line 2", "two")}, "Change\n\nBody\n",
                        committer=DAVE)
    assert again != old
    assert repo.merger.change_kind("p", old, again) == "NO_CHANGE"


def test_no_code_change_when_reworded(repo: Repo, base: str, old: str) -> None:
    reworded = repo.commit(base, {"a.txt": LINES.replace("line 2", "two")},
                           "Change\n\nBetter body\n")
    assert repo.merger.change_kind("p", old, reworded) == "NO_CODE_CHANGE"
    # Messages are compared exactly, down to the trailing newline.
    trimmed = repo.commit(base, {"a.txt": LINES.replace("line 2", "two")}, "Change\n\nBody")
    assert repo.merger.change_kind("p", old, trimmed) == "NO_CODE_CHANGE"


def test_trivial_rebase(repo: Repo, base: str, old: str) -> None:
    upstream = repo.commit(base, {"c.txt": "unrelated\n"}, "upstream\n")
    rebased = repo.merger.cherry_pick("p", old, upstream, CAROL)
    assert repo.merger.change_kind("p", old, rebased) == "TRIVIAL_REBASE"


def test_trivial_rebase_with_message_update(repo: Repo, base: str, old: str) -> None:
    upstream = repo.commit(base, {"a.txt": LINES.replace("line 9", "nine")}, "upstream\n")
    rebased = repo.merger.cherry_pick("p", old, upstream, CAROL, message="Reworded\n")
    assert repo.merger.change_kind("p", old, rebased) == "TRIVIAL_REBASE_WITH_MESSAGE_UPDATE"


def test_rework_when_the_content_changes(repo: Repo, base: str, old: str) -> None:
    reworked = repo.commit(base, {"a.txt": LINES.replace("line 2", "TWO")}, "Change\n\nBody\n")
    assert repo.merger.change_kind("p", old, reworked) == "REWORK"
    upstream = repo.commit(base, {"c.txt": "unrelated\n"}, "upstream\n")
    moved = repo.commit(upstream, {"a.txt": LINES.replace("line 2", "TWO")}, "Change\n\nBody\n")
    assert repo.merger.change_kind("p", old, moved) == "REWORK"


def test_rework_when_the_rebase_conflicts(repo: Repo, base: str, old: str) -> None:
    upstream = repo.commit(base, {"a.txt": LINES.replace("line 2", "deux")}, "upstream\n")
    resolved = repo.commit(upstream, {"a.txt": LINES.replace("line 2", "two")},
                           "Change\n\nBody\n")
    assert repo.merger.change_kind("p", old, resolved) == "REWORK"


def test_merge_first_parent_update(repo: Repo, base: str) -> None:
    side = repo.commit(base, {"s.txt": "side\n"}, "side\n")
    main1 = repo.commit(base, {"m1.txt": "m1\n"}, "main 1\n")
    main2 = repo.commit(main1, {"m2.txt": "m2\n"}, "main 2\n")
    old = repo.merger.merge_commit("p", main1, side, "Merge side\n", CAROL)
    new = repo.merger.merge_commit("p", main2, side, "Merge side\n", DAVE)
    assert repo.merger.change_kind("p", old, new) == "MERGE_FIRST_PARENT_UPDATE"

    other_side = repo.commit(base, {"o.txt": "other\n"}, "other side\n")
    other = repo.merger.merge_commit("p", main2, other_side, "Merge side\n", DAVE)
    assert repo.merger.change_kind("p", old, other) == "REWORK"


# -- files --------------------------------------------------------------------------------


def test_files_add_modify_delete_rename_binary(repo: Repo) -> None:
    moved = "".join(f"moved line {n}\n" for n in range(20))
    first = repo.commit(None, {"keep.txt": "one\ntwo\nthree\n", "gone.txt": "bye\nnow\n",
                               "old/name.txt": moved, "pic.bin": "\x00\x01\x02"})
    second = repo.commit(first, {
        "keep.txt": "one\n2\nthree\nfour\n",  # 2 inserted, 1 deleted
        "gone.txt": None,
        "old/name.txt": None, "new/name.txt": moved + "one more\n",
        "pic.bin": "\x00\x01\x02\x03\x04",
        "added.txt": "a\nb\nc\n",
    })

    files = repo.merger.files("p", second)
    assert [f.path for f in files] == sorted(f.path for f in files)
    by_path = {f.path: f for f in files}
    assert by_path == {
        "added.txt": FileChange("added.txt", "A", None, 3, 0, 6, 6),
        "gone.txt": FileChange("gone.txt", "D", None, 0, 2, 0, -8),
        "keep.txt": FileChange("keep.txt", "M", None, 2, 1, 17, 3),
        "new/name.txt": FileChange("new/name.txt", "R", "old/name.txt", 1, 0,
                                   len(moved) + 9, 9),
        "pic.bin": FileChange("pic.bin", "M", None, 0, 0, 5, 2, binary=True),
    }


def test_files_of_a_root_commit_and_against_a_base(repo: Repo, base: str) -> None:
    root_files = repo.merger.files("p", base)
    assert [(f.path, f.status, f.lines_inserted, f.size) for f in root_files] == [
        ("a.txt", "A", 10, len(LINES)), ("b.txt", "A", 1, 4)]

    one = repo.commit(base, {"b.txt": "bee\nsting\n"})
    two = repo.commit(one, {"c.txt": "c\n"})
    assert [f.path for f in repo.merger.files("p", two)] == ["c.txt"]
    assert [(f.path, f.status, f.size_delta) for f in repo.merger.files("p", two, base)] == [
        ("b.txt", "M", 6), ("c.txt", "A", 2)]
    assert repo.merger.files("p", base, base) == []
