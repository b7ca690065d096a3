"""A topic or hashtag given with a push obeys the same rules, and gets the same sentence,
as one set over REST; a refused push writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import gerrit_json

LONG = "x" * 300


@pytest.mark.parametrize(("ref_suffix", "option", "rest"), [
    ("", f"topic={LONG}", ("topic", {"topic": LONG})),
    ("%topic=two%0Alines", None, ("topic", {"topic": "two\nlines"})),
    ("", "hashtag=one,two", ("hashtags", {"add": ["one,two"]})),
    ("", f"t={LONG}", ("hashtags", {"add": [LONG]})),
])
def test_bad_topic_or_hashtag_is_refused_like_rest(server, make_user, project_name,
                                                   tmp_path: Path, ref_suffix: str,
                                                   option: str | None,
                                                   rest: tuple[str, dict]) -> None:
    server.create_project(project_name)
    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "w")
    alice.commit(repo, "a.txt", "a\n", "A change")
    assert alice.push(repo).returncode == 0
    with server.client(alice.username, alice.password) as c:
        [change] = gerrit_json(c.get("/a/changes/", params={"q": f"project:{project_name}"}))
        endpoint, body = rest
        method = c.put if endpoint == "topic" else c.post
        answer = method(f"/a/changes/{change['_number']}/{endpoint}", json=body)
    assert answer.status_code == 400
    sentence = answer.text.strip()

    alice.commit(repo, "b.txt", "b\n", "Another change")
    pushed = alice.push(repo, f"HEAD:refs/for/main{ref_suffix}",
                        *([option] if option else []))
    assert pushed.returncode != 0
    assert f"ERROR: {sentence}" in pushed.stderr
    with server.admin_client() as c:
        found = gerrit_json(c.get("/a/changes/", params={"q": f"project:{project_name}"}))
    assert [ch["subject"] for ch in found] == ["A change"]
    refs = alice.git("ls-remote", alice.url(project_name, "a/"), "refs/changes/*").stdout
    assert len(refs.splitlines()) == 1
