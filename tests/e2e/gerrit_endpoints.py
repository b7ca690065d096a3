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
PROLOG = "keepgreen has no Prolog submit rules"
NOTEDB = "changes live in keepgreen's SQL store, not NoteDb, so there is no meta history"
OAUTH = "keepgreen signs people in itself and hands out no OAuth tokens"
DOCS = "keepgreen does not serve Gerrit's documentation"

# Documentation/rest-api-accounts.txt
ACCOUNTS = [
    E("GET", "/accounts/", "Query Account", "/accounts/?q={other-account}"),
    E("GET", A, "Get Account"),
    E("PUT", "/accounts/{username}", "Create Account", "/accounts/{new-username}", {}),
    E("DELETE", A, "Delete Account", "/accounts/{scratch-account}"),
    E("GET", A + "/detail", "Get Account Details"),
    E("GET", A + "/name", "Get Account Name"),
    E("PUT", A + "/name", "Set Account Name",
      "/accounts/{scratch-account}/name", {"name": "Scratch Person"}),
    E("DELETE", A + "/name", "Delete Account Name",
      "/accounts/{scratch-account}/name"),
    E("GET", A + "/status", "Get Account Status"),
    E("PUT", A + "/status", "Set Account Status",
      "/accounts/{scratch-account}/status", {"status": "Away"}),
    E("GET", A + "/username", "Get Username"),
    E("PUT", A + "/username", "Set Username",
      "/accounts/{scratch-account}/username", {"username": "{scratch-account}"}),
    E("PUT", A + "/displayname", "Set Display Name",
      "/accounts/{scratch-account}/displayname", {"display_name": "Scratch"}),
    E("GET", A + "/active", "Get Active"),
    E("PUT", A + "/active", "Set Active", "/accounts/{scratch-account}/active"),
    E("DELETE", A + "/active", "Delete Active", "/accounts/{scratch-account}/active"),
    E("PUT", A + "/password.http", "Set/Generate HTTP Password",
      "/accounts/{scratch-account}/password.http", {"generate": True}),
    E("DELETE", A + "/password.http", "Delete HTTP Password",
      "/accounts/{scratch-account}/password.http"),
    E("GET", A + "/oauthtoken", "Get OAuth Access Token", why=OAUTH),
    E("GET", A + "/state", "Get Account State"),
    E("GET", A + "/emails", "List Account Emails"),
    E("GET", A + "/emails/{email-id}", "Get Account Email"),
    E("PUT", A + "/emails/{email-id}", "Create Account Email",
      "/accounts/{scratch-account}/emails/{scratch-email}", {"no_confirmation": True}),
    E("DELETE", A + "/emails/{email-id}", "Delete Account Email",
      "/accounts/{scratch-account}/emails/{scratch-email}"),
    E("PUT", A + "/emails/{email-id}/preferred", "Set Preferred Email",
      "/accounts/{scratch-account}/emails/{scratch-email}/preferred"),
    E("GET", A + "/sshkeys", "List SSH Keys"),
    E("GET", A + "/sshkeys/{ssh-key-id}", "Get SSH Key",
      "/accounts/{scratch-account}/sshkeys/{ssh-key-id}"),
    E("POST", A + "/sshkeys", "Add SSH Key", "/accounts/{scratch-account}/sshkeys",
      "{second-ssh-key}"),
    E("DELETE", A + "/sshkeys/{ssh-key-id}", "Delete SSH Key",
      "/accounts/{scratch-account}/sshkeys/{ssh-key-id}"),
    E("GET", A + "/gpgkeys", "List GPG Keys"),
    E("GET", A + "/gpgkeys/{gpg-key-id}", "Get GPG Key"),
    E("POST", A + "/gpgkeys", "Add/Delete GPG Keys", body={}),
    E("DELETE", A + "/gpgkeys/{gpg-key-id}", "Delete GPG Key"),
    E("GET", A + "/capabilities", "List Account Capabilities"),
    E("GET", A + "/capabilities/{capability-id}", "Check Account Capability"),
    E("GET", A + "/groups/", "List Groups"),
    E("GET", A + "/avatar", "Get Avatar"),
    E("GET", A + "/avatar.change.url", "Get Avatar Change URL"),
    E("GET", A + "/preferences", "Get User Preferences"),
    E("PUT", A + "/preferences", "Set User Preferences", body={}),
    E("GET", A + "/preferences.diff", "Get Diff Preferences"),
    E("PUT", A + "/preferences.diff", "Set Diff Preferences", body={}),
    E("GET", A + "/preferences.edit", "Get Edit Preferences"),
    E("PUT", A + "/preferences.edit", "Set Edit Preferences", body={}),
    E("GET", A + "/watched.projects", "Get Watched Projects"),
    E("POST", A + "/watched.projects",
      "Add/Update a List of Watched Project Entities", body=[{"project": "{project}"}]),
    E("POST", A + "/watched.projects:delete", "Delete Watched Projects",
      body=[{"project": "{project}"}]),
    E("GET", A + "/external.ids", "Get Account External IDs"),
    E("POST", A + "/external.ids:delete", "Delete Account External IDs",
      "/accounts/{scratch-account}/external.ids:delete", []),
    E("GET", A + "/agreements", "List Contributor Agreements"),
    E("POST", A + "/drafts:delete", "Delete Draft Comments",
      "/accounts/{scratch-account}/drafts:delete", {}),
    E("PUT", A + "/agreements", "Sign Contributor Agreement",
      body={"name": "Individual"}),
    E("POST", A + "/index", "Index Account"),
    E("GET", A + "/starred.changes", "Get Changes With Default Star"),
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
      "/changes/{rework-change}/merge", {"subject": "Merge", "merge": {"source": "stable"}}),
    E("GET", C + "/message", "Get Commit Message"),
    E("PUT", C + "/message", "Set Commit Message",
      "/changes/{rework-change}/message",
      {"message": "Rework the file\n\nChange-Id: {rework-change-id}\n"}),
    E("GET", C + "/topic", "Get Topic"),
    E("PUT", C + "/topic", "Set Topic", body={"topic": "compat"}),
    E("DELETE", C + "/topic", "Delete Topic"),
    E("GET", C + "/pure_revert", "Get Pure Revert",
      "/changes/{merged-change}/pure_revert"),
    E("POST", C + "/abandon", "Abandon Change", "/changes/{scratch-change}/abandon"),
    E("POST", C + "/restore", "Restore Change", "/changes/{scratch-change}/restore"),
    E("POST", C + "/rebase", "Rebase Change", "/changes/{rework-change}/rebase", {}),
    E("POST", C + "/rebase:chain", "Rebase Chain",
      "/changes/{rework-change}/rebase:chain", {}),
    E("POST", C + "/move", "Move Change", "/changes/{moved-change}/move",
      {"destination_branch": "stable"}),
    E("POST", C + "/revert", "Revert Change", "/changes/{merged-change}/revert", {}),
    E("POST", C + "/revert_submission", "Revert Submission",
      "/changes/{merged-change}/revert_submission", {}),
    E("POST", C + "/submit", "Submit Change", "/changes/{merged-change}/submit", {}),
    E("GET", C + "/submitted_together", "Changes Submitted Together"),
    E("DELETE", C, "Delete Change", "/changes/{doomed-change}"),
    E("POST", C + "/patch:apply", "Create patch-set from patch",
      "/changes/{rework-change}/patch:apply", {"patch": {"patch": "not a patch"}}),
    E("GET", C + "/in", "Get Included In", "/changes/{merged-change}/in"),
    E("POST", C + "/index", "Index Change"),
    E("GET", C + "/comments", "List Change Comments"),
    E("GET", C + "/drafts", "List Change Drafts"),
    E("GET", C + "/check", "Check Change"),
    E("POST", C + "/check", "Fix Change", body={}),
    E("POST", C + "/wip", "Set Work-In-Progress", "/changes/{scratch-change}/wip", {}),
    E("POST", C + "/ready", "Set Ready-For-Review", "/changes/{scratch-change}/ready", {}),
    E("POST", C + "/private", "Mark Private", "/changes/{scratch-change}/private", {}),
    E("DELETE", C + "/private", "Unmark Private", "/changes/{scratch-change}/private"),
    E("GET", C + "/hashtags", "Get Hashtags"),
    E("POST", C + "/hashtags", "Set Hashtags", body={"add": ["compat"]}),
    E("GET", C + "/custom_keyed_values", "Get Custom Keyed Values"),
    E("POST", C + "/custom_keyed_values", "Set Custom Keyed Values",
      body={"add": {"compat": "yes"}}),
    E("GET", C + "/validation-options", "Get Validation Options"),
    E("GET", C + "/messages", "List Change Messages"),
    E("GET", C + "/messages/{change-message-id}", "Get Change Message"),
    E("DELETE", C + "/messages/{change-message-id}", "Delete Change Message"),
    E("POST", C + "/messages/{change-message-id}/delete",
      "Delete Change Message", body={"reason": "compat"}),
    E("POST", C + "/check.submit_requirement", "Check Submit Requirement",
      body={"name": "Code-Review", "submittability_expression": "label:Code-Review=+2"}),
    E("GET", C + "/query", "Evaluate Change Query Expression",
      "/changes/{change-id}/query?expression=is:open"),
    E("GET", C + "/edit", "Get Change Edit Details"),
    E("PUT", C + "/edit/{file-id}", "Change file content in Change Edit",
      "/changes/{rework-change}/edit/{file-id}", "edited\n"),
    E("POST", C + "/edit",
      "Restore file content or rename files in Change Edit",
      "/changes/{rework-change}/edit", {"restore_path": "{file-id}"}),
    E("PUT", C + "/edit:message", "Change commit message in Change Edit",
      "/changes/{rework-change}/edit:message",
      {"message": "Rework the file, edited\n\nChange-Id: {rework-change-id}\n"}),
    E("DELETE", C + "/edit/{file-id}", "Delete file in Change Edit",
      "/changes/{rework-change}/edit/{file-id}"),
    E("PUT", C + "/edit:identity",
      "Change author or committer identity in Change Edit",
      "/changes/{rework-change}/edit:identity", {"name": "Compat", "type": "AUTHOR"}),
    E("GET", C + "/edit/{file-id}", "Retrieve file content from Change Edit",
      "/changes/{rework-change}/edit/{file-id}"),
    E("GET", C + "/edit/{file-id}/meta",
      "Retrieve meta data of a file from Change Edit",
      "/changes/{rework-change}/edit/{file-id}/meta"),
    E("GET", C + "/edit:message",
      "Retrieve commit message from Change Edit or current patch set of the change",
      "/changes/{rework-change}/edit:message"),
    E("POST", C + "/edit:publish", "Publish Change Edit",
      "/changes/{rework-change}/edit:publish", {}),
    E("POST", C + "/edit:rebase", "Rebase Change Edit",
      "/changes/{rework-change}/edit:rebase"),
    E("DELETE", C + "/edit", "Delete Change Edit", "/changes/{rework-change}/edit"),
    E("GET", C + "/is-flows-enabled", "Is Flows Enabled"),
    E("GET", C + "/flows/", "List Flows"),
    E("GET", C + "/flows-actions/", "List Flows Actions"),
    E("POST", C + "/flows/", "Create Flow", body={}),
    E("GET", C + "/flows/{flow-id}", "Get Flow"),
    E("DELETE", C + "/flows/{flow-id}", "Delete Flow"),
    E("GET", C + "/reviewers/", "List Reviewers"),
    E("GET", C + "/suggest_reviewers", "Suggest Reviewers",
      "/changes/{change-id}/suggest_reviewers?q={other-account}"),
    E("GET", C + "/reviewers/{account-id}", "Get Reviewer",
      "/changes/{change-id}/reviewers/{other-account}"),
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
    E("GET", R, "Get Revision"),
    E("GET", R + "/commit", "Get Commit"),
    E("GET", R + "/description", "Get Description"),
    E("PUT", R + "/description", "Set Description", body={"description": "compat"}),
    E("GET", R + "/mergelist", "Get Merge List"),
    E("GET", R + "/actions", "Get Revision Actions"),
    E("GET", R + "/review", "Get Review"),
    E("GET", R + "/related", "Get Related Changes"),
    E("POST", R + "/review", "Set Review", body={"message": "Checked by the compatibility test."}),
    E("POST", R + "/rebase", "Rebase Revision",
      "/changes/{rework-change}/revisions/current/rebase", {}),
    E("POST", R + "/submit", "Submit Revision",
      "/changes/{merged-change}/revisions/current/submit", {}),
    E("GET", R + "/patch", "Get Patch"),
    E("GET", R + "/mergeable", "Get Mergeable"),
    E("GET", R + "/submit_type", "Get Submit Type"),
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
    E("GET", R + "/comments/{comment-id}", "Get Comment"),
    E("DELETE", R + "/comments/{comment-id}", "Delete Comment"),
    E("POST", R + "/comments/{comment-id}/delete",
      "Delete Comment", body={"reason": "compat"}),
    E("GET", R + "/ported_comments", "List Ported Comments"),
    E("GET", R + "/ported_drafts", "List Ported Drafts"),
    E("POST", R + "/fixes/{fix-id}/apply", "Apply Stored Fix"),
    E("POST", R + "/fix:apply", "Apply Provided Fix",
      body={"fix_replacement_infos": []}),
    E("GET", R + "/files/", "List Files"),
    E("GET", R + "/files/{file-id}/content", "Get Content"),
    E("GET", R + "/files/{file-id}/download", "Download Content"),
    E("GET", R + "/files/{file-id}/diff", "Get Diff"),
    E("GET", R + "/fixes/{fix-id}/preview", "Preview Stored Fix"),
    E("POST", R + "/fix:preview",
      "Preview Provided fix", body={"fix_replacement_infos": []}),
    E("GET", R + "/files/{file-id}/blame", "Get Blame"),
    E("PUT", R + "/files/{file-id}/reviewed", "Set Reviewed"),
    E("DELETE", R + "/files/{file-id}/reviewed", "Delete Reviewed"),
    E("POST", R + "/cherrypick", "Cherry Pick Revision", body={"destination": "stable"}),
    E("GET", R + "/reviewers/", "List Revision Reviewers"),
    E("GET", R + "/reviewers/{account-id}/votes/",
      "List Revision Votes",
      "/changes/{change-id}/revisions/{revision-id}/reviewers/{other-account}/votes/"),
    E("DELETE", R + "/reviewers/{account-id}/votes/{label-id}", "Delete Revision Vote",
      "/changes/{scratch-change}/revisions/current/reviewers/{owner}/votes/"
      "{label-id}"),
    E("POST", R + "/reviewers/{account-id}/votes/{label-id}/delete", "Delete Revision Vote",
      "/changes/{scratch-change}/revisions/current/reviewers/{owner}/votes/"
      "{label-id}/delete", {}),
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
    E("GET", P + "/description", "Get Project Description"),
    E("PUT", P + "/description", "Set Project Description",
      body={"description": "Checked for compatibility"}),
    E("DELETE", P + "/description", "Delete Project Description"),
    E("GET", P + "/parent", "Get Project Parent"),
    E("PUT", P + "/parent", "Set Project Parent", body={"parent": "All-Projects"}),
    E("GET", P + "/HEAD", "Get HEAD"),
    E("PUT", P + "/HEAD", "Set HEAD", body={"ref": "refs/heads/main"}),
    E("GET", P + "/statistics.git", "Get Repository Statistics"),
    E("GET", P + "/config", "Get Config"),
    E("PUT", P + "/config", "Set Config", body={}),
    E("PUT", P + "/config:review", "Create Config Change for review",
      body={"description": "Proposed for review"}),
    E("POST", P + "/gc", "Run GC", body={}),
    E("PUT", P + "/ban", "Ban Commit", body={"commits": []}),
    E("GET", P + "/access", "List Access Rights for Project"),
    E("POST", P + "/access", "Add, Update and Delete Access Rights for Project", body={}),
    E("POST", P + "/create.change", "Create Change for review",
      body={"branch": "main", "subject": "Plan the next check"}),
    E("PUT", P + "/access:review", "Create Access Rights Change for review",
      body={"add": {"refs/tags/*": {"permissions": {"create": {"rules": {
          "Registered Users": {"action": "ALLOW"}}}}}}}),
    E("GET", P + "/check.access", "Check Access",
      "/projects/{project-name}/check.access?account={other-account}&ref=refs%2Fheads%2Fmain"),
    E("POST", P + "/index", "Index project", body={}),
    E("POST", P + "/index.changes", "Index all changes in a project"),
    E("POST", P + "/check", "Check project consistency", body={}),
    E("GET", P + "/commits:in", "Get Commits Included In Refs",
      "/projects/{project-name}/commits:in?commit={commit-id}&ref=refs/heads/main"),
    E("GET", P + "/branches/", "List Branches"),
    E("GET", P + "/branches/{branch-id}", "Get Branch"),
    E("PUT", P + "/branches/{branch-id}", "Create Branch",
      "/projects/{project-name}/branches/{new-branch}", {}),
    E("DELETE", P + "/branches/{branch-id}", "Delete Branch",
      "/projects/{project-name}/branches/{doomed-branch}"),
    E("POST", P + "/branches:delete", "Delete Branches",
      body={"branches": ["{doomed-branch}"]}),
    E("GET", P + "/branches/{branch-id}/files/{file-id}/content",
      "Get Content", "/projects/{project-name}/branches/{branch-id}/files/{branch-file}/content"),
    E("GET", P + "/branches/{branch-id}/suggest_reviewers",
      "Suggest Reviewers",
      "/projects/{project-name}/branches/{branch-id}/suggest_reviewers?q={other-account}"),
    E("GET", P + "/branches/{branch-id}/mergeable",
      "Get Mergeable Information",
      "/projects/{project-name}/branches/{branch-id}/mergeable?source=stable"),
    E("GET", P + "/branches/{branch-id}/reflog", "Get Reflog"),
    E("GET", P + "/children/", "List Child Projects"),
    E("GET", P + "/children/{project-name}", "Get Child Project",
      "/projects/All-Projects/children/{project-name}"),
    E("PUT", P + "/tags/{tag-id}", "Create Tag",
      "/projects/{project-name}/tags/{new-tag}", {"revision": "{commit-id}"}),
    E("GET", P + "/tags/", "List Tags"),
    E("GET", P + "/tags/{tag-id}", "Get Tag"),
    E("DELETE", P + "/tags/{tag-id}", "Delete Tag", "/projects/{project-name}/tags/{doomed-tag}"),
    E("POST", P + "/tags:delete", "Delete Tags", body={"tags": ["{doomed-tag}"]}),
    E("GET", P + "/commits/{commit-id}", "Get Commit"),
    E("GET", P + "/commits/{commit-id}/in", "Get Included In"),
    E("GET", P + "/commits/{commit-id}/files/{file-id}/content",
      "Get Content", "/projects/{project-name}/commits/{commit-id}/files/{branch-file}/content"),
    E("POST", P + "/commits/{commit-id}/cherrypick", "Cherry Pick Commit",
      body={"destination": "stable"}),
    E("GET", P + "/commits/{commit-id}/files/", "List Files"),
    E("GET", P + "/dashboards/", "List Dashboards"),
    E("GET", P + "/dashboards/{dashboard-id}", "Get Dashboard"),
    E("PUT", P + "/dashboards/{dashboard-id}",
      "Create Dashboard / Update Dashboard", body={"id": "main:closed"}),
    E("DELETE", P + "/dashboards/{dashboard-id}", "Delete Dashboard"),
    E("GET", P + "/labels/", "List Labels"),
    E("GET", P + "/labels/{label-name}", "Get Label"),
    E("PUT", P + "/labels/{label-name}", "Create Label / Set Label",
      "/projects/{project-name}/labels/{scratch-label}",
      {"values": {" 0": "No score", "+1": "Fine"}}),
    E("DELETE", P + "/labels/{label-name}", "Delete Label",
      "/projects/{project-name}/labels/{scratch-label}"),
    E("POST", P + "/labels/", "Batch Update Labels", body={}),
    E("POST", P + "/labels:review", "Create Labels Change for review", body={}),
    E("PUT", P + "/submit_requirements/{submit-requirement-name}",
      "Create Submit Requirement / Update Submit Requirement",
      "/projects/{project-name}/submit_requirements/{scratch-label}",
      {"name": "{scratch-label}", "submittability_expression": "label:Code-Review=+2"}),
    E("GET", P + "/submit_requirements/{submit-requirement-name}",
      "Get Submit Requirement"),
    E("GET", P + "/submit_requirements", "List Submit Requirements"),
    E("DELETE", P + "/submit_requirements/{submit-requirement-name}",
      "Delete Submit Requirement",
      "/projects/{project-name}/submit_requirements/{scratch-label}"),
    E("POST", P + "/submit_requirements/",
      "Batch Update Submit Requirements", body={}),
    E("POST", P + "/submit_requirements:review",
      "Create Submit Requirements for review", body={}),
]

# Documentation/rest-api-groups.txt
GROUPS = [
    E("GET", "/groups/", "List Groups"),
    E("GET", "/groups/?query2=<query>", "Query Groups", "/groups/?query2=inname:compat"),
    E("GET", G, "Get Group"),
    E("PUT", "/groups/{group-name}", "Create Group", "/groups/{new-group}", {}),
    E("GET", G + "/detail", "Get Group Detail"),
    E("GET", G + "/name", "Get Group Name"),
    E("PUT", G + "/name", "Rename Group", "/groups/{new-group}/name",
      {"name": "{new-group}-renamed"}),
    E("GET", G + "/description", "Get Group Description"),
    E("PUT", G + "/description", "Set Group Description",
      "/groups/{rename-group}/description", {"description": "compat"}),
    E("DELETE", G + "/description", "Delete Group Description",
      "/groups/{rename-group}/description"),
    E("GET", G + "/options", "Get Group Options"),
    E("PUT", G + "/options", "Set Group Options",
      "/groups/{rename-group}/options", {"visible_to_all": True}),
    E("GET", G + "/owner", "Get Group Owner"),
    E("PUT", G + "/owner", "Set Group Owner", "/groups/{rename-group}/owner",
      {"owner": "Administrators"}),
    E("GET", G + "/log.audit", "Get Audit Log"),
    E("POST", G + "/index", "Index Group"),
    E("GET", G + "/members/", "List Group Members"),
    E("GET", G + "/members/{account-id}", "Get Group Member",
      "/groups/{group-id}/members/{other-account}"),
    E("PUT", G + "/members/{account-id}", "Add Group Member",
      "/groups/{group-id}/members/{other-account}"),
    E("POST", G + "/members", "Add Group Members",
      body={"members": ["{other-account}"]}),
    E("POST", G + "/members.add", "Add Group Members",
      body={"members": ["{other-account}"]}),
    E("DELETE", G + "/members/{account-id}", "Delete Group Member",
      "/groups/{scratch-group}/members/{scratch-account}"),
    E("POST", G + "/members.delete", "Delete Group Members",
      "/groups/{scratch-group}/members.delete", {"members": ["{scratch-account}"]}),
    E("GET", G + "/groups/", "List Included Groups"),
    E("GET", G + "/groups/{group-id}", "Get Included Group",
      "/groups/{group-id}/groups/{scratch-group}"),
    E("PUT", G + "/groups/{group-id}", "Include Group",
      "/groups/{group-id}/groups/{scratch-group}"),
    E("POST", G + "/groups", "Include Groups", body={"groups": ["{scratch-group}"]}),
    E("POST", G + "/groups.add", "Include Groups",
      body={"groups": ["{scratch-group}"]}),
    E("DELETE", G + "/groups/{group-id}", "Delete Included Group",
      "/groups/{group-id}/groups/{scratch-group}"),
    E("POST", G + "/groups.delete", "Delete Included Groups",
      body={"groups": ["{scratch-group}"]}),
]

# Documentation/rest-api-config.txt
CONFIG = [
    E("GET", "/config/server/version", "Get Version"),
    E("GET", "/config/server/info", "Get Server Info"),
    E("POST", "/config/server/check.consistency", "Check Consistency",
      body={"check_accounts": {}}),
    E("POST", "/config/server/reload", "Reload Config"),
    E("PUT", "/config/server/email.confirm", "Confirm Email", body={"token": "compat"}),
    E("GET", "/config/server/caches/", "List Caches"),
    E("POST", "/config/server/caches/", "Cache Operations", body={"operation": "FLUSH_ALL"}),
    E("GET", "/config/server/caches/{cache-name}", "Get Cache"),
    E("POST", "/config/server/caches/{cache-name}/flush", "Flush Cache"),
    E("GET", "/config/server/summary", "Get Summary"),
    E("GET", "/config/server/capabilities", "List Capabilities"),
    E("GET", "/config/server/tasks/", "List Tasks"),
    E("GET", "/config/server/tasks/{task-id}", "Get Task"),
    E("DELETE", "/config/server/tasks/{task-id}", "Delete Task"),
    E("GET", "/config/server/top-menus", "Get Top Menus"),
    E("GET", "/config/server/preferences", "Get Default User Preferences"),
    E("PUT", "/config/server/preferences", "Set Default User Preferences", body={}),
    E("GET", "/config/server/preferences.diff", "Get Default Diff Preferences"),
    E("PUT", "/config/server/preferences.diff", "Set Default Diff Preferences", body={}),
    E("GET", "/config/server/preferences.edit", "Get Default Edit Preferences"),
    E("PUT", "/config/server/preferences.edit", "Set Default Edit Preferences", body={}),
    E("POST", "/config/server/index.changes", "Index a set of changes",
      body={"changes": ["{change-id}"]}),
]

# Documentation/rest-api-access.txt
ACCESS = [
    E("GET", "/access/?project={project-name}", "List Access Rights"),
]

# Documentation/rest-api-plugins.txt
PLUGIN_ENDPOINTS = [
    E("GET", "/plugins/", "List Plugins"),
    E("PUT", "/plugins/{plugin-id}.jar", "Install Plugin", body={"url": "file:///nowhere"}),
    E("GET", "/plugins/{plugin-id}/gerrit~status", "Get Plugin Status"),
    E("GET", "/plugins/{plugin-id}/gerrit~pushOptions", "Get Plugin Push Options"),
    E("POST", "/plugins/{plugin-id}/gerrit~enable", "Enable Plugin"),
    E("POST", "/plugins/{plugin-id}/gerrit~disable", "Disable Plugin"),
    E("DELETE", "/plugins/{plugin-id}", "Disable Plugin"),
    E("POST", "/plugins/{plugin-id}/gerrit~reload", "Reload Plugin"),
]

# Documentation/rest-api-documentation.txt
DOCUMENTATION = [
    E("GET", "/Documentation/", "Search Documentation", "/Documentation/?q=rest", why=DOCS),
]

CATALOG: list[Endpoint] = [*ACCOUNTS, *CHANGES, *PROJECTS, *GROUPS, *CONFIG, *ACCESS,
                           *PLUGIN_ENDPOINTS, *DOCUMENTATION]

KEEPGREEN_ONLY: dict[str, str] = {
    "GET /ssh_info": "Gerrit's SSH address lookup, which git-review uses",
    "PUT /plugins/*": "Gerrit's Install Plugin (/plugins/{plugin-id}.jar), refused: keepgreen "
                      "loads no plugins",
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
