"""Gerrit endpoints keepgreen does not answer yet say so (501, naming the endpoint)."""

from __future__ import annotations


def test_unimplemented_gerrit_endpoints_answer_501(sqlite_server):
    with sqlite_server.admin_client() as c:
        for method, path in [("POST", "/a/changes/1/revert_submission"),
                             ("GET", "/a/accounts/self/gpgkeys"),
                             ("GET", "/a/config/server/tasks"),
                             ("GET", "/config/server/caches")]:
            response = c.request(method, path)
            assert response.status_code == 501, (path, response.text)
            assert path in response.text
            assert "not implemented" in response.text
            assert len(response.text.strip().splitlines()) == 1
        assert c.get("/no/such/thing").status_code == 404
