"""Gerrit endpoints keepgreen does not answer yet say so (501, naming the endpoint)."""

from __future__ import annotations


def test_unimplemented_gerrit_endpoints_answer_501(sqlite_server):
    with sqlite_server.admin_client() as c:
        for method, path in [("GET", "/a/changes/1/meta_diff"),
                             ("GET", "/a/accounts/self/oauthtoken"),
                             ("POST", "/a/changes/1/revisions/1/test.submit_type"),
                             ("POST", "/a/changes/1/revisions/1/test.submit_rule")]:
            response = c.request(method, path)
            assert response.status_code == 501, (path, response.text)
            assert path in response.text
            assert "not implemented" in response.text
            assert len(response.text.strip().splitlines()) == 1
        assert c.get("/no/such/thing").status_code == 404
