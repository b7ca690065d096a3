"""Every REST endpoint Gerrit 3.x documents, as data: the catalog behind
``test_gerrit_compatibility.py`` and ``docs/gerrit-compatibility.md``.

An entry records what Gerrit's ``Documentation/rest-api-*.txt`` says of one endpoint (method,
path template, section title) and how the test asks keepgreen about it:

* ``call`` is the path to request. Left empty, it is the template itself; either way each
  ``{name}`` is filled from the test's world, whose keys are Gerrit's placeholder names
  (``change-id``, ``revision-id``, ...) plus the throw-away objects named below.
* ``body`` is JSON to send where a bare call would only be refused for bad input; its
  strings are filled from the world too.
* ``why`` says, in one line, why keepgreen does not offer the endpoint. The test insists
  on one for every endpoint answered 501.

Calls that destroy or rewrite something aim at throw-away objects, so the shared world
(``change-id`` with its two patch sets, comment and draft) means the same to every call:
``scratch-change`` takes state changes, and each of its reviewers and votes is removed by
one call only; ``rework-change`` takes new patch sets; ``moved-change`` is moved to another
branch; ``doomed-*`` objects are deleted; ``scratch-account`` is the account whose password,
keys, e-mail and state are changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AREAS = ("accounts", "changes", "revisions", "reviewers", "projects", "groups", "config",
         "access", "plugins", "documentation")


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    title: str
    call: str = ""
    body: Any = None
    why: str = ""

    @property
    def area(self) -> str:
        """The table this endpoint is listed in: changes split into their reviewers and
        revisions, the other collections as Gerrit names them."""
        collection = self.template.split("/")[1].lower()
        if collection != "changes":
            return collection
        if "reviewers" in self.template:
            return "reviewers"
        return "revisions" if "/revisions/" in self.template else "changes"

    @property
    def route_key(self) -> str:
        """``METHOD /path`` with every placeholder as ``*`` and no query or trailing slash,
        the form routes are compared in."""
        return route_key(self.method, self.template.split("?", 1)[0])

    def path(self, world: Mapping[str, str]) -> str:
        return (self.call or self.template).format_map(world)

    def json(self, world: Mapping[str, str]) -> Any:
        return _fill(self.body, world)


def route_key(method: str, path: str) -> str:
    return f"{method} " + (re.sub(r"\{[^}]*\}", "*", path).rstrip("/") or "/")


def _fill(value: Any, world: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(world)
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


E = Endpoint
# Prefixes of the templates below, Gerrit's resources as its documentation names them.
A, C = "/accounts/{account-id}", "/changes/{change-id}"
R = C + "/revisions/{revision-id}"
P, G = "/projects/{project-name}", "/groups/{group-id}"

NOT_YET = "not offered yet"
PLUGINS = "keepgreen has no plugins: webhooks and CI are built in"
CACHES = "keepgreen keeps no named caches to list or flush"
TASKS = "keepgreen has no background task queue; /api/status shows its pipelines"
GPG = "keepgreen does not check signed pushes, so it keeps no GPG keys"
INDEX = "keepgreen queries its SQL store directly; there is no secondary index"
PROLOG = "keepgreen has no Prolog submit rules"
NOTEDB = "changes live in keepgreen's SQL store, not NoteDb, so there is no meta history"
FLOWS = "Gerrit's flows need a flow-service plugin; keepgreen has none"
OAUTH = "keepgreen signs people in itself and hands out no OAuth tokens"
AVATARS = "keepgreen shows no avatars"
AGREEMENTS = "keepgreen has no contributor agreements"
DOCS = "keepgreen does not serve Gerrit's documentation"

# Documentation/rest-api-accounts.txt
ACCOUNTS = [
    E("GET", "/accounts/", "Query Account", "/accounts/?q={other-account}"),
    E("GET", A, "Get Account"),
    E("PUT", "/accounts/{username}", "Create Account", "/accounts/{new-username}", {}),
    E("DELETE", A, "Delete Account", "/accounts/{scratch-account}", why=NOT_YET),
    E("GET", A + "/detail", "Get Account Details"),
    E("GET", A + "/name", "Get Account Name", why=NOT_YET),
    E("PUT", A + "/name", "Set Account Name",
      "/accounts/{scratch-account}/name", {"name": "Scratch Person"}, why=NOT_YET),
    E("DELETE", A + "/name", "Delete Account Name",
      "/accounts/{scratch-account}/name", why=NOT_YET),
    E("GET", A + "/status", "Get Account Status", why=NOT_YET),
    E("PUT", A + "/status", "Set Account Status",
      "/accounts/{scratch-account}/status", {"status": "Away"}, why=NOT_YET),
    E("GET", A + "/username", "Get Username", why=NOT_YET),
    E("PUT", A + "/username", "Set Username",
      "/accounts/{scratch-account}/username", {"username": "{scratch-account}"}, why=NOT_YET),
    E("PUT", A + "/displayname", "Set Display Name",
      "/accounts/{scratch-account}/displayname", {"display_name": "Scratch"}, why=NOT_YET),
    E("GET", A + "/active", "Get Active", why=NOT_YET),
    E("PUT", A + "/active", "Set Active", "/accounts/{scratch-account}/active", why=NOT_YET),
    E("DELETE", A + "/active", "Delete Active", "/accounts/{scratch-account}/active", why=NOT_YET),
    E("PUT", A + "/password.http", "Set/Generate HTTP Password",
      "/accounts/{scratch-account}/password.http", {"generate": True}),
    E("DELETE", A + "/password.http", "Delete HTTP Password",
      "/accounts/{scratch-account}/password.http"),
    E("GET", A + "/oauthtoken", "Get OAuth Access Token", why=OAUTH),
    E("GET", A + "/state", "Get Account State", why=NOT_YET),
    E("GET", A + "/emails", "List Account Emails", why=NOT_YET),
    E("GET", A + "/emails/{email-id}", "Get Account Email", why=NOT_YET),
    E("PUT", A + "/emails/{email-id}", "Create Account Email",
      "/accounts/{scratch-account}/emails/{scratch-email}", {"no_confirmation": True},
      why=NOT_YET),
    E("DELETE", A + "/emails/{email-id}", "Delete Account Email",
      "/accounts/{scratch-account}/emails/{scratch-email}", why=NOT_YET),
    E("PUT", A + "/emails/{email-id}/preferred", "Set Preferred Email",
      "/accounts/{scratch-account}/emails/{scratch-email}/preferred", why=NOT_YET),
    E("GET", A + "/sshkeys", "List SSH Keys"),
    E("GET", A + "/sshkeys/{ssh-key-id}", "Get SSH Key",
      "/accounts/{scratch-account}/sshkeys/{ssh-key-id}"),
    E("POST", A + "/sshkeys", "Add SSH Key", "/accounts/{scratch-account}/sshkeys",
      "{second-ssh-key}"),
    E("DELETE", A + "/sshkeys/{ssh-key-id}", "Delete SSH Key",
      "/accounts/{scratch-account}/sshkeys/{ssh-key-id}"),
    E("GET", A + "/gpgkeys", "List GPG Keys", why=GPG),
    E("GET", A + "/gpgkeys/{gpg-key-id}", "Get GPG Key", why=GPG),
    E("POST", A + "/gpgkeys", "Add/Delete GPG Keys", body={}, why=GPG),
    E("DELETE", A + "/gpgkeys/{gpg-key-id}", "Delete GPG Key", why=GPG),
    E("GET", A + "/capabilities", "List Account Capabilities", why=NOT_YET),
    E("GET", A + "/capabilities/{capability-id}", "Check Account Capability", why=NOT_YET),
    E("GET", A + "/groups/", "List Groups"),
    E("GET", A + "/avatar", "Get Avatar", why=AVATARS),
    E("GET", A + "/avatar.change.url", "Get Avatar Change URL", why=AVATARS),
    E("GET", A + "/preferences", "Get User Preferences", why=NOT_YET),
    E("PUT", A + "/preferences", "Set User Preferences", body={}, why=NOT_YET),
    E("GET", A + "/preferences.diff", "Get Diff Preferences", why=NOT_YET),
    E("PUT", A + "/preferences.diff", "Set Diff Preferences", body={}, why=NOT_YET),
    E("GET", A + "/preferences.edit", "Get Edit Preferences", why=NOT_YET),
    E("PUT", A + "/preferences.edit", "Set Edit Preferences", body={}, why=NOT_YET),
    E("GET", A + "/watched.projects", "Get Watched Projects", why=NOT_YET),
    E("POST", A + "/watched.projects",
      "Add/Update a List of Watched Project Entities", body=[{"project": "{project}"}],
      why=NOT_YET),
    E("POST", A + "/watched.projects:delete", "Delete Watched Projects",
      body=[{"project": "{project}"}], why=NOT_YET),
    E("GET", A + "/external.ids", "Get Account External IDs", why=NOT_YET),
    E("POST", A + "/external.ids:delete", "Delete Account External IDs",
      "/accounts/{scratch-account}/external.ids:delete", [], why=NOT_YET),
    E("GET", A + "/agreements", "List Contributor Agreements", why=AGREEMENTS),
    E("POST", A + "/drafts:delete", "Delete Draft Comments",
      "/accounts/{scratch-account}/drafts:delete", {}, why=NOT_YET),
    E("PUT", A + "/agreements", "Sign Contributor Agreement",
      body={"name": "Individual"}, why=AGREEMENTS),
    E("POST", A + "/index", "Index Account", why=INDEX),
    E("GET", A + "/starred.changes", "Get Changes With Default Star", why=NOT_YET),
    E("PUT", A + "/starred.changes/{change-id}", "Put Default Star On Change"),
    E("DELETE", A + "/starred.changes/{change-id}", "Remove Default Star From Change"),
]

# Documentation/rest-api-changes.txt
CHANGES = [
    E("POST", "/changes/", "Create Change", body={
        "project": "{project}", "branch": "main", "subject": "Plan the compatibility check"}),
    E("GET", "/changes/", "Query Changes", "/changes/?q=status:open"),
    E("GET", C, "Get Change"),
    E("GET", C + "/meta_diff", "Get Meta Diff", why=NOTEDB),
    E("GET", C + "/detail", "Get Change Detail"),
    E("POST", C + "/merge", "Create Merge Patch Set For Change",
      "/changes/{rework-change}/merge", {"subject": "Merge", "merge": {"source": "stable"}},
      why=NOT_YET),
    E("GET", C + "/message", "Get Commit Message", why=NOT_YET),
    E("PUT", C + "/message", "Set Commit Message",
      "/changes/{rework-change}/message",
      {"message": "Rework the file\n\nChange-Id: {rework-change-id}\n"}, why=NOT_YET),
    E("GET", C + "/topic", "Get Topic"),
    E("PUT", C + "/topic", "Set Topic", body={"topic": "compat"}),
    E("DELETE", C + "/topic", "Delete Topic"),
    E("GET", C + "/pure_revert", "Get Pure Revert",
      "/changes/{merged-change}/pure_revert", why=NOT_YET),
    E("POST", C + "/abandon", "Abandon Change", "/changes/{scratch-change}/abandon"),
    E("POST", C + "/restore", "Restore Change", "/changes/{scratch-change}/restore"),
    E("POST", C + "/rebase", "Rebase Change", "/changes/{rework-change}/rebase", {}),
    E("POST", C + "/rebase:chain", "Rebase Chain",
      "/changes/{rework-change}/rebase:chain", {}, why=NOT_YET),
    E("POST", C + "/move", "Move Change", "/changes/{moved-change}/move",
      {"destination_branch": "stable"}),
    E("POST", C + "/revert", "Revert Change", "/changes/{merged-change}/revert", {}),
    E("POST", C + "/revert_submission", "Revert Submission",
      "/changes/{merged-change}/revert_submission", {}, why=NOT_YET),
    E("POST", C + "/submit", "Submit Change", "/changes/{merged-change}/submit", {}),
    E("GET", C + "/submitted_together", "Changes Submitted Together"),
    E("DELETE", C, "Delete Change", "/changes/{doomed-change}", why=NOT_YET),
    E("POST", C + "/patch:apply", "Create patch-set from patch",
      "/changes/{rework-change}/patch:apply", {"patch": {"patch": "not a patch"}},
      why=NOT_YET),
    E("GET", C + "/in", "Get Included In", "/changes/{merged-change}/in", why=NOT_YET),
    E("POST", C + "/index", "Index Change", why=INDEX),
    E("GET", C + "/comments", "List Change Comments"),
    E("GET", C + "/drafts", "List Change Drafts"),
    E("GET", C + "/check", "Check Change", why=NOT_YET),
    E("POST", C + "/check", "Fix Change", body={}, why=NOT_YET),
    E("POST", C + "/wip", "Set Work-In-Progress", "/changes/{scratch-change}/wip", {}),
    E("POST", C + "/ready", "Set Ready-For-Review", "/changes/{scratch-change}/ready", {}),
    E("POST", C + "/private", "Mark Private", "/changes/{scratch-change}/private", {}),
    E("DELETE", C + "/private", "Unmark Private", "/changes/{scratch-change}/private"),
    E("GET", C + "/hashtags", "Get Hashtags"),
    E("POST", C + "/hashtags", "Set Hashtags", body={"add": ["compat"]}),
    E("GET", C + "/custom_keyed_values", "Get Custom Keyed Values", why=NOT_YET),
    E("POST", C + "/custom_keyed_values", "Set Custom Keyed Values",
      body={"add": {"compat": "yes"}}, why=NOT_YET),
    E("GET", C + "/validation-options", "Get Validation Options", why=NOT_YET),
    E("GET", C + "/messages", "List Change Messages"),
    E("GET", C + "/messages/{change-message-id}", "Get Change Message"),
    E("DELETE", C + "/messages/{change-message-id}", "Delete Change Message", why=NOT_YET),
    E("POST", C + "/messages/{change-message-id}/delete",
      "Delete Change Message", body={"reason": "compat"}, why=NOT_YET),
    E("POST", C + "/check.submit_requirement", "Check Submit Requirement",
      body={"name": "Code-Review", "submittability_expression": "label:Code-Review=+2"},
      why=NOT_YET),
    E("GET", C + "/query", "Evaluate Change Query Expression",
      "/changes/{change-id}/query?expression=is:open", why=NOT_YET),
    E("GET", C + "/edit", "Get Change Edit Details"),
    E("PUT", C + "/edit/{file-id}", "Change file content in Change Edit",
      "/changes/{rework-change}/edit/{file-id}", "edited\n", why=NOT_YET),
    E("POST", C + "/edit",
      "Restore file content or rename files in Change Edit",
      "/changes/{rework-change}/edit", {"restore_path": "{file-id}"}, why=NOT_YET),
    E("PUT", C + "/edit:message", "Change commit message in Change Edit",
      "/changes/{rework-change}/edit:message",
      {"message": "Rework the file, edited\n\nChange-Id: {rework-change-id}\n"}),
    E("DELETE", C + "/edit/{file-id}", "Delete file in Change Edit",
      "/changes/{rework-change}/edit/{file-id}", why=NOT_YET),
    E("PUT", C + "/edit:identity",
      "Change author or committer identity in Change Edit",
      "/changes/{rework-change}/edit:identity", {"name": "Compat", "type": "AUTHOR"},
      why=NOT_YET),
    E("GET", C + "/edit/{file-id}", "Retrieve file content from Change Edit",
      "/changes/{rework-change}/edit/{file-id}", why=NOT_YET),
    E("GET", C + "/edit/{file-id}/meta",
      "Retrieve meta data of a file from Change Edit",
      "/changes/{rework-change}/edit/{file-id}/meta", why=NOT_YET),
    E("GET", C + "/edit:message",
      "Retrieve commit message from Change Edit or current patch set of the change",
      "/changes/{rework-change}/edit:message", why=NOT_YET),
    E("POST", C + "/edit:publish", "Publish Change Edit",
      "/changes/{rework-change}/edit:publish", {}),
    E("POST", C + "/edit:rebase", "Rebase Change Edit",
      "/changes/{rework-change}/edit:rebase", why=NOT_YET),
    E("DELETE", C + "/edit", "Delete Change Edit", "/changes/{rework-change}/edit", why=NOT_YET),
    E("GET", C + "/is-flows-enabled", "Is Flows Enabled", why=FLOWS),
    E("GET", C + "/flows/", "List Flows", why=FLOWS),
    E("GET", C + "/flows-actions/", "List Flows Actions", why=FLOWS),
    E("POST", C + "/flows/", "Create Flow", body={}, why=FLOWS),
    E("GET", C + "/flows/{flow-id}", "Get Flow", why=FLOWS),
    E("DELETE", C + "/flows/{flow-id}", "Delete Flow", why=FLOWS),
    E("GET", C + "/reviewers/", "List Reviewers"),
    E("GET", C + "/suggest_reviewers", "Suggest Reviewers",
      "/changes/{change-id}/suggest_reviewers?q={other-account}"),
    E("GET", C + "/reviewers/{account-id}", "Get Reviewer",
      "/changes/{change-id}/reviewers/{other-account}", why=NOT_YET),
    E("POST", C + "/reviewers", "Add Reviewer", body={"reviewer": "{other-account}"}),
    E("DELETE", C + "/reviewers/{account-id}", "Delete Reviewer",
      "/changes/{scratch-change}/reviewers/{other-account}"),
    E("POST", C + "/reviewers/{account-id}/delete", "Delete Reviewer",
      "/changes/{scratch-change}/reviewers/{second-reviewer}/delete", {}),
    E("GET", C + "/reviewers/{account-id}/votes/", "List Votes",
      "/changes/{change-id}/reviewers/{other-account}/votes/"),
    E("DELETE", C + "/reviewers/{account-id}/votes/{label-id}",
      "Delete Vote", "/changes/{scratch-change}/reviewers/{voter}/votes/{label-id}"),
    E("POST", C + "/reviewers/{account-id}/votes/{label-id}/delete",
      "Delete Vote",
      "/changes/{scratch-change}/reviewers/{second-voter}/votes/{label-id}/delete", {}),
    E("GET", R, "Get Revision", why=NOT_YET),
    E("GET", R + "/commit", "Get Commit"),
    E("GET", R + "/description", "Get Description", why=NOT_YET),
    E("PUT", R + "/description", "Set Description", body={"description": "compat"}, why=NOT_YET),
    E("GET", R + "/mergelist", "Get Merge List", why=NOT_YET),
    E("GET", R + "/actions", "Get Revision Actions", why=NOT_YET),
    E("GET", R + "/review", "Get Review", why=NOT_YET),
    E("GET", R + "/related", "Get Related Changes"),
    E("POST", R + "/review", "Set Review", body={"message": "Checked by the compatibility test."}),
    E("POST", R + "/rebase", "Rebase Revision",
      "/changes/{rework-change}/revisions/current/rebase", {}),
    E("POST", R + "/submit", "Submit Revision",
      "/changes/{merged-change}/revisions/current/submit", {}),
    E("GET", R + "/patch", "Get Patch", why=NOT_YET),
    E("GET", R + "/mergeable", "Get Mergeable"),
    E("GET", R + "/submit_type", "Get Submit Type", why=NOT_YET),
    E("POST", R + "/test.submit_type", "Test Submit Type", body={}, why=PROLOG),
    E("POST", R + "/test.submit_rule", "Test Submit Rule", body={}, why=PROLOG),
    E("GET", R + "/drafts/", "List Revision Drafts"),
    E("PUT", R + "/drafts", "Create Draft",
      body={"path": "{file-id}", "line": 1, "message": "A second thought."}),
    E("GET", R + "/drafts/{draft-id}", "Get Draft"),
    E("PUT", R + "/drafts/{draft-id}", "Update Draft",
      body={"path": "{file-id}", "line": 1, "message": "A better thought."}),
    E("DELETE", R + "/drafts/{draft-id}",
      "Delete Draft", "/changes/{change-id}/revisions/{revision-id}/drafts/{doomed-draft}"),
    E("GET", R + "/comments/", "List Revision Comments"),
    E("GET", R + "/comments/{comment-id}", "Get Comment", why=NOT_YET),
    E("DELETE", R + "/comments/{comment-id}", "Delete Comment", why=NOT_YET),
    E("POST", R + "/comments/{comment-id}/delete",
      "Delete Comment", body={"reason": "compat"}, why=NOT_YET),
    E("GET", R + "/ported_comments", "List Ported Comments", why=NOT_YET),
    E("GET", R + "/ported_drafts", "List Ported Drafts", why=NOT_YET),
    E("POST", R + "/fixes/{fix-id}/apply", "Apply Stored Fix", why=NOT_YET),
    E("POST", R + "/fix:apply", "Apply Provided Fix",
      body={"fix_replacement_infos": []}, why=NOT_YET),
    E("GET", R + "/files/", "List Files"),
    E("GET", R + "/files/{file-id}/content", "Get Content"),
    E("GET", R + "/files/{file-id}/download", "Download Content", why=NOT_YET),
    E("GET", R + "/files/{file-id}/diff", "Get Diff"),
    E("GET", R + "/fixes/{fix-id}/preview", "Preview Stored Fix", why=NOT_YET),
    E("POST", R + "/fix:preview",
      "Preview Provided fix", body={"fix_replacement_infos": []}, why=NOT_YET),
    E("GET", R + "/files/{file-id}/blame", "Get Blame", why=NOT_YET),
    E("PUT", R + "/files/{file-id}/reviewed", "Set Reviewed", why=NOT_YET),
    E("DELETE", R + "/files/{file-id}/reviewed", "Delete Reviewed", why=NOT_YET),
    E("POST", R + "/cherrypick", "Cherry Pick Revision", body={"destination": "stable"}),
    E("GET", R + "/reviewers/", "List Revision Reviewers", why=NOT_YET),
    E("GET", R + "/reviewers/{account-id}/votes/",
      "List Revision Votes",
      "/changes/{change-id}/revisions/{revision-id}/reviewers/{other-account}/votes/",
      why=NOT_YET),
    E("DELETE", R + "/reviewers/{account-id}/votes/{label-id}", "Delete Revision Vote",
      "/changes/{scratch-change}/revisions/current/reviewers/{owner}/votes/"
      "{label-id}", why=NOT_YET),
    E("POST", R + "/reviewers/{account-id}/votes/{label-id}/delete", "Delete Revision Vote",
      "/changes/{scratch-change}/revisions/current/reviewers/{owner}/votes/"
      "{label-id}/delete", {}, why=NOT_YET),
    E("GET", C + "/attention", "Get Attention Set"),
    E("POST", C + "/attention", "Add To Attention Set",
      body={"user": "{other-account}", "reason": "compat"}),
    E("DELETE", C + "/attention/{account-id}", "Remove from Attention Set",
      "/changes/{scratch-change}/attention/{other-account}"),
    E("POST", C + "/attention/{account-id}/delete",
      "Remove from Attention Set", "/changes/{scratch-change}/attention/{other-account}/delete",
      {"reason": "compat"}),
]

# Documentation/rest-api-projects.txt
PROJECTS = [
    E("GET", "/projects/", "List Projects"),
    E("GET", "/projects/?query=<query>", "Query Projects", "/projects/?query=name:{project}"),
    E("GET", P, "Get Project"),
    E("PUT", P, "Create Project", "/projects/{new-project}", {"create_empty_commit": True}),
    E("GET", P + "/description", "Get Project Description", why=NOT_YET),
    E("PUT", P + "/description", "Set Project Description",
      body={"description": "Checked for compatibility"}, why=NOT_YET),
    E("DELETE", P + "/description", "Delete Project Description", why=NOT_YET),
    E("GET", P + "/parent", "Get Project Parent", why=NOT_YET),
    E("PUT", P + "/parent", "Set Project Parent", body={"parent": "All-Projects"}, why=NOT_YET),
    E("GET", P + "/HEAD", "Get HEAD"),
    E("PUT", P + "/HEAD", "Set HEAD", body={"ref": "refs/heads/main"}, why=NOT_YET),
    E("GET", P + "/statistics.git", "Get Repository Statistics", why=NOT_YET),
    E("GET", P + "/config", "Get Config"),
    E("PUT", P + "/config", "Set Config", body={}),
    E("PUT", P + "/config:review", "Create Config Change for review", body={}, why=NOT_YET),
    E("POST", P + "/gc", "Run GC", body={}, why=NOT_YET),
    E("PUT", P + "/ban", "Ban Commit", body={"commits": []}, why=NOT_YET),
    E("GET", P + "/access", "List Access Rights for Project"),
    E("POST", P + "/access", "Add, Update and Delete Access Rights for Project", body={}),
    E("POST", P + "/create.change", "Create Change for review",
      body={"branch": "main", "subject": "Plan the next check"}, why=NOT_YET),
    E("PUT", P + "/access:review", "Create Access Rights Change for review", body={}, why=NOT_YET),
    E("GET", P + "/check.access", "Check Access",
      "/projects/{project-name}/check.access?account={other-account}&ref=refs%2Fheads%2Fmain",
      why=NOT_YET),
    E("POST", P + "/index", "Index project", body={}, why=INDEX),
    E("POST", P + "/index.changes", "Index all changes in a project", why=INDEX),
    E("POST", P + "/check", "Check project consistency", body={}, why=NOT_YET),
    E("GET", P + "/commits:in", "Get Commits Included In Refs",
      "/projects/{project-name}/commits:in?commit={commit-id}&ref=refs/heads/main",
      why=NOT_YET),
    E("GET", P + "/branches/", "List Branches"),
    E("GET", P + "/branches/{branch-id}", "Get Branch"),
    E("PUT", P + "/branches/{branch-id}", "Create Branch",
      "/projects/{project-name}/branches/{new-branch}", {}),
    E("DELETE", P + "/branches/{branch-id}", "Delete Branch",
      "/projects/{project-name}/branches/{doomed-branch}"),
    E("POST", P + "/branches:delete", "Delete Branches",
      body={"branches": ["{doomed-branch}"]}, why=NOT_YET),
    E("GET", P + "/branches/{branch-id}/files/{file-id}/content",
      "Get Content", "/projects/{project-name}/branches/{branch-id}/files/{branch-file}/content",
      why=NOT_YET),
    E("GET", P + "/branches/{branch-id}/suggest_reviewers",
      "Suggest Reviewers",
      "/projects/{project-name}/branches/{branch-id}/suggest_reviewers?q={other-account}",
      why=NOT_YET),
    E("GET", P + "/branches/{branch-id}/mergeable",
      "Get Mergeable Information",
      "/projects/{project-name}/branches/{branch-id}/mergeable?source=stable", why=NOT_YET),
    E("GET", P + "/branches/{branch-id}/reflog", "Get Reflog", why=NOT_YET),
    E("GET", P + "/children/", "List Child Projects", why=NOT_YET),
    E("GET", P + "/children/{project-name}", "Get Child Project",
      "/projects/All-Projects/children/{project-name}", why=NOT_YET),
    E("PUT", P + "/tags/{tag-id}", "Create Tag",
      "/projects/{project-name}/tags/{new-tag}", {"revision": "{commit-id}"}),
    E("GET", P + "/tags/", "List Tags"),
    E("GET", P + "/tags/{tag-id}", "Get Tag"),
    E("DELETE", P + "/tags/{tag-id}", "Delete Tag", "/projects/{project-name}/tags/{doomed-tag}"),
    E("POST", P + "/tags:delete", "Delete Tags", body={"tags": ["{doomed-tag}"]}, why=NOT_YET),
    E("GET", P + "/commits/{commit-id}", "Get Commit", why=NOT_YET),
    E("GET", P + "/commits/{commit-id}/in", "Get Included In", why=NOT_YET),
    E("GET", P + "/commits/{commit-id}/files/{file-id}/content",
      "Get Content", "/projects/{project-name}/commits/{commit-id}/files/{branch-file}/content",
      why=NOT_YET),
    E("POST", P + "/commits/{commit-id}/cherrypick", "Cherry Pick Commit",
      body={"destination": "stable"}, why=NOT_YET),
    E("GET", P + "/commits/{commit-id}/files/", "List Files", why=NOT_YET),
    E("GET", P + "/dashboards/", "List Dashboards", why=NOT_YET),
    E("GET", P + "/dashboards/{dashboard-id}", "Get Dashboard", why=NOT_YET),
    E("PUT", P + "/dashboards/{dashboard-id}",
      "Create Dashboard / Update Dashboard", body={"id": "main:closed"}, why=NOT_YET),
    E("DELETE", P + "/dashboards/{dashboard-id}", "Delete Dashboard", why=NOT_YET),
    E("GET", P + "/labels/", "List Labels", why=NOT_YET),
    E("GET", P + "/labels/{label-name}", "Get Label", why=NOT_YET),
    E("PUT", P + "/labels/{label-name}", "Create Label / Set Label",
      "/projects/{project-name}/labels/{scratch-label}",
      {"values": {" 0": "No score", "+1": "Fine"}}, why=NOT_YET),
    E("DELETE", P + "/labels/{label-name}", "Delete Label",
      "/projects/{project-name}/labels/{scratch-label}", why=NOT_YET),
    E("POST", P + "/labels/", "Batch Update Labels", body={}, why=NOT_YET),
    E("POST", P + "/labels:review", "Create Labels Change for review", body={}, why=NOT_YET),
    E("PUT", P + "/submit_requirements/{submit-requirement-name}",
      "Create Submit Requirement / Update Submit Requirement",
      "/projects/{project-name}/submit_requirements/{scratch-label}",
      {"name": "{scratch-label}", "submittability_expression": "label:Code-Review=+2"},
      why=NOT_YET),
    E("GET", P + "/submit_requirements/{submit-requirement-name}",
      "Get Submit Requirement", why=NOT_YET),
    E("GET", P + "/submit_requirements", "List Submit Requirements", why=NOT_YET),
    E("DELETE", P + "/submit_requirements/{submit-requirement-name}",
      "Delete Submit Requirement",
      "/projects/{project-name}/submit_requirements/{scratch-label}", why=NOT_YET),
    E("POST", P + "/submit_requirements/",
      "Batch Update Submit Requirements", body={}, why=NOT_YET),
    E("POST", P + "/submit_requirements:review",
      "Create Submit Requirements for review", body={}, why=NOT_YET),
]

# Documentation/rest-api-groups.txt
GROUPS = [
    E("GET", "/groups/", "List Groups"),
    E("GET", "/groups/?query2=<query>", "Query Groups", "/groups/?query2=inname:compat"),
    E("GET", G, "Get Group"),
    E("PUT", "/groups/{group-name}", "Create Group", "/groups/{new-group}", {}),
    E("GET", G + "/detail", "Get Group Detail"),
    E("GET", G + "/name", "Get Group Name", why=NOT_YET),
    E("PUT", G + "/name", "Rename Group", "/groups/{rename-group}/name",
      {"name": "{rename-group}-renamed"}, why=NOT_YET),
    E("GET", G + "/description", "Get Group Description", why=NOT_YET),
    E("PUT", G + "/description", "Set Group Description",
      "/groups/{rename-group}/description", {"description": "compat"}, why=NOT_YET),
    E("DELETE", G + "/description", "Delete Group Description",
      "/groups/{rename-group}/description", why=NOT_YET),
    E("GET", G + "/options", "Get Group Options", why=NOT_YET),
    E("PUT", G + "/options", "Set Group Options",
      "/groups/{rename-group}/options", {"visible_to_all": True}, why=NOT_YET),
    E("GET", G + "/owner", "Get Group Owner", why=NOT_YET),
    E("PUT", G + "/owner", "Set Group Owner", "/groups/{rename-group}/owner",
      {"owner": "Administrators"}, why=NOT_YET),
    E("GET", G + "/log.audit", "Get Audit Log", why=NOT_YET),
    E("POST", G + "/index", "Index Group", why=INDEX),
    E("GET", G + "/members/", "List Group Members"),
    E("GET", G + "/members/{account-id}", "Get Group Member",
      "/groups/{group-id}/members/{other-account}", why=NOT_YET),
    E("PUT", G + "/members/{account-id}", "Add Group Member",
      "/groups/{group-id}/members/{other-account}"),
    E("POST", G + "/members", "Add Group Members",
      body={"members": ["{other-account}"]}, why=NOT_YET),
    E("POST", G + "/members.add", "Add Group Members",
      body={"members": ["{other-account}"]}, why=NOT_YET),
    E("DELETE", G + "/members/{account-id}", "Delete Group Member",
      "/groups/{scratch-group}/members/{scratch-account}"),
    E("POST", G + "/members.delete", "Delete Group Members",
      "/groups/{scratch-group}/members.delete", {"members": ["{scratch-account}"]},
      why=NOT_YET),
    E("GET", G + "/groups/", "List Included Groups", why=NOT_YET),
    E("GET", G + "/groups/{group-id}", "Get Included Group",
      "/groups/{group-id}/groups/{scratch-group}", why=NOT_YET),
    E("PUT", G + "/groups/{group-id}", "Include Group",
      "/groups/{group-id}/groups/{scratch-group}", why=NOT_YET),
    E("POST", G + "/groups", "Include Groups", body={"groups": ["{scratch-group}"]}, why=NOT_YET),
    E("POST", G + "/groups.add", "Include Groups",
      body={"groups": ["{scratch-group}"]}, why=NOT_YET),
    E("DELETE", G + "/groups/{group-id}", "Delete Included Group",
      "/groups/{group-id}/groups/{scratch-group}", why=NOT_YET),
    E("POST", G + "/groups.delete", "Delete Included Groups",
      body={"groups": ["{scratch-group}"]}, why=NOT_YET),
]

# Documentation/rest-api-config.txt
CONFIG = [
    E("GET", "/config/server/version", "Get Version"),
    E("GET", "/config/server/info", "Get Server Info"),
    E("POST", "/config/server/check.consistency", "Check Consistency",
      body={"check_accounts": {}}, why=NOT_YET),
    E("POST", "/config/server/reload", "Reload Config", why=NOT_YET),
    E("PUT", "/config/server/email.confirm", "Confirm Email", body={"token": "compat"},
      why=NOT_YET),
    E("GET", "/config/server/caches/", "List Caches", why=CACHES),
    E("POST", "/config/server/caches/", "Cache Operations", body={"operation": "FLUSH_ALL"},
      why=CACHES),
    E("GET", "/config/server/caches/{cache-name}", "Get Cache", why=CACHES),
    E("POST", "/config/server/caches/{cache-name}/flush", "Flush Cache", why=CACHES),
    E("GET", "/config/server/summary", "Get Summary", why=NOT_YET),
    E("GET", "/config/server/capabilities", "List Capabilities", why=NOT_YET),
    E("GET", "/config/server/tasks/", "List Tasks", why=TASKS),
    E("GET", "/config/server/tasks/{task-id}", "Get Task", why=TASKS),
    E("DELETE", "/config/server/tasks/{task-id}", "Delete Task", why=TASKS),
    E("GET", "/config/server/top-menus", "Get Top Menus", why=NOT_YET),
    E("GET", "/config/server/preferences", "Get Default User Preferences", why=NOT_YET),
    E("PUT", "/config/server/preferences", "Set Default User Preferences", body={}, why=NOT_YET),
    E("GET", "/config/server/preferences.diff", "Get Default Diff Preferences", why=NOT_YET),
    E("PUT", "/config/server/preferences.diff", "Set Default Diff Preferences", body={},
      why=NOT_YET),
    E("GET", "/config/server/preferences.edit", "Get Default Edit Preferences", why=NOT_YET),
    E("PUT", "/config/server/preferences.edit", "Set Default Edit Preferences", body={},
      why=NOT_YET),
    E("POST", "/config/server/index.changes", "Index a set of changes",
      body={"changes": ["{change-id}"]}, why=INDEX),
]

# Documentation/rest-api-access.txt
ACCESS = [
    E("GET", "/access/?project={project-name}", "List Access Rights", why=NOT_YET),
]

# Documentation/rest-api-plugins.txt
PLUGIN_ENDPOINTS = [
    E("GET", "/plugins/", "List Plugins", why=PLUGINS),
    E("PUT", "/plugins/{plugin-id}.jar", "Install Plugin", body={"url": "file:///nowhere"},
      why=PLUGINS),
    E("GET", "/plugins/{plugin-id}/gerrit~status", "Get Plugin Status", why=PLUGINS),
    E("GET", "/plugins/{plugin-id}/gerrit~pushOptions", "Get Plugin Push Options", why=PLUGINS),
    E("POST", "/plugins/{plugin-id}/gerrit~enable", "Enable Plugin", why=PLUGINS),
    E("POST", "/plugins/{plugin-id}/gerrit~disable", "Disable Plugin", why=PLUGINS),
    E("DELETE", "/plugins/{plugin-id}", "Disable Plugin", why=PLUGINS),
    E("POST", "/plugins/{plugin-id}/gerrit~reload", "Reload Plugin", why=PLUGINS),
]

# Documentation/rest-api-documentation.txt
DOCUMENTATION = [
    E("GET", "/Documentation/", "Search Documentation", "/Documentation/?q=rest", why=DOCS),
]

CATALOG: list[Endpoint] = [*ACCOUNTS, *CHANGES, *PROJECTS, *GROUPS, *CONFIG, *ACCESS,
                           *PLUGIN_ENDPOINTS, *DOCUMENTATION]

KEEPGREEN_ONLY: dict[str, str] = {
    "GET /ssh_info": "Gerrit's SSH address lookup, which git-review uses",
    "GET /api/events": "keepgreen's event log, read by CI clients",
    "GET /changes/*/robotcomments": "robot comments, documented by earlier Gerrit releases",
    "GET /changes/*/revisions/*/robotcomments":
        "robot comments, documented by earlier Gerrit releases",
    "POST /groups/*/members/*": "adds one group member, as some clients send it",
    "POST /changes/*/revisions/*/drafts/*/delete": "deletes a draft without a DELETE request",
    "GET /projects/*/webhooks~remotes": "the REST API of Gerrit's webhooks plugin",
    "GET /projects/*/webhooks~remotes/*": "the REST API of Gerrit's webhooks plugin",
    "PUT /projects/*/webhooks~remotes/*": "the REST API of Gerrit's webhooks plugin",
    "DELETE /projects/*/webhooks~remotes/*": "the REST API of Gerrit's webhooks plugin",
    "GET /projects/*/webhooks~remotes/*/deliveries": "each webhook's delivery log",
}
"""Routes keepgreen answers that Gerrit's core REST documentation does not list."""
