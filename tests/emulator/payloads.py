"""GitHub-shaped JSON for every object the emulator serves, in REST answers and webhooks alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import gitrepo
from .clock import iso
from .state import (
    App,
    CheckRun,
    CheckSuite,
    Comment,
    Installation,
    Issue,
    Label,
    PullRequest,
    Reaction,
    Repo,
    Review,
    ReviewComment,
    Role,
    User,
    World,
)

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")

Json = dict[str, Any]


def author_association(repo: Repo, user: User) -> str:
    if user.login.lower() == repo.owner.login.lower():
        return "OWNER"
    if repo.role_of(user.login) is not None:
        return "COLLABORATOR"
    return "NONE"


def role_permissions(role: Role | None) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role else -1
    return {
        "admin": rank >= 4,
        "maintain": rank >= 3,
        "push": rank >= 2,
        "triage": rank >= 1,
        "pull": rank >= 0,
    }


@dataclass
class Shapes:
    """Builds JSON objects; `api` is the API root and `web` the root of html_url/clone_url."""

    world: World
    api: str
    web: str

    # -- users and apps -------------------------------------------------------------------------

    def user(self, user: User) -> Json:
        login = user.login
        api = f"{self.api}/users/{quote(login)}"
        html_path = f"apps/{login.removesuffix('[bot]')}" if user.type == "Bot" else login
        return {
            "login": login,
            "id": user.id,
            "node_id": user.node_id,
            "avatar_url": f"{self.web}/avatars/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{html_path}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, user: User, *, private: bool = False) -> Json:
        data = self.user(user)
        data.update(
            {
                "name": user.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": user.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(
                    1 for r in self.world.repos.values() if r.owner.id == user.id and not r.private
                ),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": iso(user.created_at),
                "updated_at": iso(user.created_at),
            }
        )
        if private:
            data.update(
                {
                    "private_gists": 0,
                    "total_private_repos": 0,
                    "owned_private_repos": 0,
                    "disk_usage": 0,
                    "collaborators": 0,
                    "two_factor_authentication": True,
                }
            )
        return data

    def app(self, app: App) -> Json:
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": app.node_id,
            "client_id": app.client_id,
            "owner": self.user(app.owner),
            "name": app.name,
            "description": app.description,
            "external_url": f"{self.web}/apps/{app.slug}",
            "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": iso(app.created_at),
            "updated_at": iso(app.created_at),
            "permissions": dict(app.permissions),
            "events": list(app.events) or ["issues", "issue_comment", "pull_request", "push"],
            "installations_count": sum(
                1 for i in self.world.installations.values() if i.app_id == app.id
            ),
        }

    def installation(self, inst: Installation) -> Json:
        app = self.world.apps[inst.app_id]
        return {
            "id": inst.id,
            "account": self.user(inst.account),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{inst.id}",
            "app_id": app.id,
            "app_slug": app.slug,
            "client_id": app.client_id,
            "target_id": inst.account.id,
            "target_type": inst.account.type,
            "permissions": dict(inst.permissions),
            "events": list(app.events) or ["issues", "issue_comment", "pull_request", "push"],
            "created_at": iso(inst.created_at),
            "updated_at": iso(inst.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # -- repositories ---------------------------------------------------------------------------

    def repo(self, repo: Repo, *, role: Role | None = None, full: bool = False) -> Json:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        data: Json = {
            "id": repo.id,
            "node_id": repo.node_id,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": repo.description,
            "fork": False,
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"{self.web.replace('http://', 'git://').replace('https://', 'git://')}/{repo.full_name}.git",
            "ssh_url": f"git@{self.web.split('://', 1)[-1]}:{repo.full_name}.git",
            "clone_url": f"{self.web}/{repo.full_name}.git",
            "svn_url": html,
            "homepage": None,
            "size": 1,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if role is not None or full:
            data["permissions"] = role_permissions(role)
        data.update(
            {
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
                "use_squash_pr_title_as_default": False,
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "merge_commit_message": "PR_TITLE",
                "merge_commit_title": "MERGE_MESSAGE",
                "custom_properties": {},
            }
        )
        if full:
            data.update({"temp_clone_token": None, "network_count": 0, "subscribers_count": 0})
        return data

    def label(self, repo: Repo, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": label.node_id,
            "url": f"{self.api}/repos/{repo.full_name}/labels/{quote(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def reactions_summary(self, url: str, reactions: list[Reaction]) -> Json:
        data: Json = {"url": url, "total_count": len(reactions)}
        for content in REACTION_CONTENTS:
            data[content] = sum(1 for r in reactions if r.content == content)
        return data

    def reaction(self, reaction: Reaction) -> Json:
        return {
            "id": reaction.id,
            "node_id": reaction.node_id,
            "user": self.user(reaction.user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    # -- issues and comments --------------------------------------------------------------------

    def issue(self, repo: Repo, issue: Issue) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        kind = "pull" if issue.is_pull else "issues"
        users = [self.world.user(login) for login in issue.assignees]
        assignees = [self.user(u) for u in users if u is not None]
        labels = [repo.labels[n.lower()] for n in issue.labels if n.lower() in repo.labels]
        data: Json = {
            "url": api,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{issue.number}",
            "id": issue.id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, label) for label in labels],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(issue.comment_ids),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": author_association(repo, issue.user),
            "type": None,
            "active_lock_reason": None,
            "sub_issues_summary": self._sub_issues_summary(repo, issue),
            "parent_issue_url": (
                f"{self.api}/repos/{repo.full_name}/issues/{issue.parent}"
                if issue.parent is not None
                else None
            ),
            "issue_dependencies_summary": self._dependencies_summary(repo, issue),
            "body": issue.body,
            "closed_by": self.user(issue.closed_by) if issue.closed_by else None,
            "reactions": self.reactions_summary(f"{api}/reactions", issue.reactions),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": self._via_app(issue.app_id),
            "state_reason": issue.state_reason,
        }
        if issue.is_pull:
            pull = repo.pulls[issue.number]
            data["draft"] = pull.draft
            data["pull_request"] = {
                "url": f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}",
                "html_url": f"{self.web}/{repo.full_name}/pull/{issue.number}",
                "diff_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.diff",
                "patch_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.patch",
                "merged_at": iso(pull.merged_at),
            }
        else:
            data["draft"] = False
        return data

    def _sub_issues_summary(self, repo: Repo, issue: Issue) -> Json:
        subs = [repo.issues[n] for n in issue.sub_issues if n in repo.issues]
        done = sum(1 for sub in subs if sub.state == "closed")
        percent = done * 100 // len(subs) if subs else 0
        return {"total": len(subs), "completed": done, "percent_completed": percent}

    def _dependencies_summary(self, repo: Repo, issue: Issue) -> Json:
        """Counts as GitHub gives them: `blocked_by`/`blocking` count the open ones only."""
        blockers = [repo.issues[n] for n in issue.blocked_by if n in repo.issues]
        blocking = [i for i in repo.issues.values() if issue.number in i.blocked_by]
        return {
            "blocked_by": sum(1 for i in blockers if i.state == "open"),
            "blocking": sum(1 for i in blocking if i.state == "open"),
            "total_blocked_by": len(blockers),
            "total_blocking": len(blocking),
        }

    def _via_app(self, app_id: int | None) -> Json | None:
        if app_id is None or app_id not in self.world.apps:
            return None
        return self.app(self.world.apps[app_id])

    def comment(self, repo: Repo, comment: Comment) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        issue = repo.issues[comment.issue_number]
        kind = "pull" if issue.is_pull else "issues"
        return {
            "url": api,
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{comment.issue_number}"
            f"#issuecomment-{comment.id}",
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": comment.node_id,
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": author_association(repo, comment.user),
            "body": comment.body,
            "reactions": self.reactions_summary(f"{api}/reactions", comment.reactions),
            "performed_via_github_app": self._via_app(comment.app_id),
        }

    # -- pull requests --------------------------------------------------------------------------

    def _pull_end(self, repo: Repo, ref: str, sha: str) -> Json:
        return {
            "label": f"{repo.owner.login}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo),
        }

    def pull(self, repo: Repo, pull: PullRequest, *, simple: bool = False) -> Json:
        issue = repo.issues[pull.number]
        api = f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}"
        issue_api = f"{self.api}/repos/{repo.full_name}/issues/{pull.number}"
        base = self.issue(repo, issue)
        reviewers = [self.world.user(login) for login in pull.requested_reviewers]
        data: Json = {
            "url": api,
            "id": pull.id,
            "node_id": pull.node_id,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "number": pull.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": base["user"],
            "body": issue.body,
            "created_at": base["created_at"],
            "updated_at": base["updated_at"],
            "closed_at": base["closed_at"],
            "merged_at": iso(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": base["assignee"],
            "assignees": base["assignees"],
            "requested_reviewers": [self.user(u) for u in reviewers if u is not None],
            "requested_teams": [],
            "labels": base["labels"],
            "milestone": None,
            "draft": pull.draft,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.api}/repos/{repo.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.api}/repos/{repo.full_name}/statuses/{pull.head_sha}",
            "head": self._pull_end(repo, pull.head_ref, pull.head_sha),
            "base": self._pull_end(repo, pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {
                    "href": f"{self.api}/repos/{repo.full_name}/pulls/comments{{/number}}"
                },
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": f"{self.api}/repos/{repo.full_name}/statuses/{pull.head_sha}"},
            },
            "author_association": base["author_association"],
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if simple:
            return data
        try:
            commits = len(gitrepo.commits_between(repo.path, pull.base_sha, pull.head_sha))
            additions, deletions, files = gitrepo.diff_stats(
                repo.path, pull.base_sha, pull.head_sha
            )
        except gitrepo.GitError:
            commits = additions = deletions = files = 0
        data.update(
            {
                "merged": pull.merged,
                "mergeable": None if pull.merged else True,
                "rebaseable": None if pull.merged else True,
                "mergeable_state": "unknown" if pull.merged else "clean",
                "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
                "comments": len(issue.comment_ids),
                "review_comments": sum(
                    1 for c in repo.review_comments.values() if c.pull_number == pull.number
                ),
                "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": commits,
                "additions": additions,
                "deletions": deletions,
                "changed_files": files,
            }
        )
        return data

    def review(self, repo: Repo, review: Review) -> Json:
        pull_api = f"{self.api}/repos/{repo.full_name}/pulls/{review.pull_number}"
        html = (
            f"{self.web}/{repo.full_name}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        )
        return {
            "id": review.id,
            "node_id": review.node_id,
            "user": self.user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": author_association(repo, review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
        }

    def review_comment(self, repo: Repo, comment: ReviewComment) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/pulls/comments/{comment.id}"
        pull_api = f"{self.api}/repos/{repo.full_name}/pulls/{comment.pull_number}"
        html = f"{self.web}/{repo.full_name}/pull/{comment.pull_number}#discussion_r{comment.id}"
        data: Json = {
            "url": api,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": comment.node_id,
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "position": comment.position,
            "original_position": comment.position,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(comment.user),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": author_association(repo, comment.user),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "pull_request": {"href": pull_api},
            },
            "reactions": self.reactions_summary(f"{api}/reactions", []),
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "start_side": comment.start_side,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "subject_type": comment.subject_type,
        }
        if comment.in_reply_to_id is not None:
            data["in_reply_to_id"] = comment.in_reply_to_id
        return data

    # -- checks ---------------------------------------------------------------------------------

    def _pull_minimal(self, repo: Repo, pull: PullRequest) -> Json:
        def end(ref: str, sha: str) -> Json:
            return {
                "ref": ref,
                "sha": sha,
                "repo": {
                    "id": repo.id,
                    "url": f"{self.api}/repos/{repo.full_name}",
                    "name": repo.name,
                },
            }

        return {
            "url": f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}",
            "id": pull.id,
            "number": pull.number,
            "head": end(pull.head_ref, pull.head_sha),
            "base": end(pull.base_ref, pull.base_sha),
        }

    def _pulls_for_sha(self, repo: Repo, sha: str) -> list[Json]:
        return [
            self._pull_minimal(repo, p)
            for p in repo.pulls.values()
            if p.head_sha == sha and repo.issues[p.number].state == "open"
        ]

    def check_suite(self, repo: Repo, suite: CheckSuite, *, with_repo: bool = True) -> Json:
        runs = [r for r in repo.check_runs.values() if r.suite_id == suite.id]
        status = "queued"
        conclusion: str | None = None
        if runs and all(r.status == "completed" for r in runs):
            status = "completed"
            order = ["action_required", "cancelled", "timed_out", "failure", "neutral", "skipped"]
            conclusions = {r.conclusion for r in runs}
            conclusion = next((c for c in order if c in conclusions), "success")
            if conclusion == "skipped" and "success" in conclusions:
                conclusion = "success"
        elif any(r.status == "in_progress" for r in runs):
            status = "in_progress"
        api = f"{self.api}/repos/{repo.full_name}/check-suites/{suite.id}"
        data: Json = {
            "id": suite.id,
            "node_id": suite.node_id,
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": api,
            "before": None,
            "after": suite.head_sha,
            "pull_requests": self._pulls_for_sha(repo, suite.head_sha),
            "app": self.app(self.world.apps[suite.app_id]),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": len(runs),
            "check_runs_url": f"{api}/check-runs",
        }
        if with_repo:
            try:
                info = gitrepo.commit_info(repo.path, suite.head_sha)
                data["head_commit"] = {
                    "id": info.sha,
                    "tree_id": info.tree,
                    "message": info.message,
                    "timestamp": iso(info.committer_date),
                    "author": {"name": info.author_name, "email": info.author_email},
                    "committer": {"name": info.committer_name, "email": info.committer_email},
                }
            except gitrepo.GitError:
                data["head_commit"] = None
            data["repository"] = self.repo(repo)
        return data

    def check_run(self, repo: Repo, run: CheckRun) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/check-runs/{run.id}"
        suite = repo.check_suites[run.suite_id]
        data: Json = {
            "id": run.id,
            "name": run.name,
            "node_id": run.node_id,
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": api,
            "html_url": f"{self.web}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url or f"{self.web}/{repo.full_name}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output.get("title"),
                "summary": run.output.get("summary"),
                "text": run.output.get("text"),
                "annotations_count": len(run.annotations),
                "annotations_url": f"{api}/annotations",
            },
            "check_suite": {"id": suite.id},
            "app": self.app(self.world.apps[run.app_id]),
            "pull_requests": self._pulls_for_sha(repo, run.head_sha),
        }
        return data

    def check_run_event(self, repo: Repo, run: CheckRun) -> Json:
        """The check run as webhooks carry it: with the whole check suite."""
        data = self.check_run(repo, run)
        suite = self.check_suite(repo, repo.check_suites[run.suite_id], with_repo=False)
        data["check_suite"] = suite
        return data

    # -- git ------------------------------------------------------------------------------------

    def git_user(self, name: str, email: str, date: str | None) -> Json:
        return {"name": name, "email": email, "date": date}

    def commit(self, repo: Repo, sha: str) -> Json:
        info = gitrepo.commit_info(repo.path, sha)
        api = f"{self.api}/repos/{repo.full_name}"
        author = self._user_by_email(info.author_email)
        committer = self._user_by_email(info.committer_email)
        return {
            "sha": info.sha,
            "node_id": f"C_{info.sha[:20]}",
            "commit": {
                "author": self.git_user(info.author_name, info.author_email, iso(info.author_date)),
                "committer": self.git_user(
                    info.committer_name, info.committer_email, iso(info.committer_date)
                ),
                "message": info.message,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "url": f"{api}/git/commits/{info.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{info.sha}",
            "html_url": f"{self.web}/{repo.full_name}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "author": self.user(author) if author else None,
            "committer": self.user(committer) if committer else None,
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{self.web}/{repo.full_name}/commit/{p}",
                }
                for p in info.parents
            ],
        }

    def _user_by_email(self, email: str) -> User | None:
        return next((u for u in self.world.users.values() if u.email and u.email == email), None)

    def short_branch(self, repo: Repo, name: str, sha: str) -> Json:
        branch_api = f"{self.api}/repos/{repo.full_name}/branches/{quote(name)}"
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{branch_api}/protection",
        }

    def branch(self, repo: Repo, name: str, sha: str) -> Json:
        data = self.short_branch(repo, name, sha)
        data["commit"] = self.commit(repo, sha)
        data["_links"] = {
            "self": f"{self.api}/repos/{repo.full_name}/branches/{quote(name)}",
            "html": f"{self.web}/{repo.full_name}/tree/{quote(name)}",
        }
        return data

    def git_ref(self, repo: Repo, ref: str, sha: str) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/git"
        kind = gitrepo.object_type(repo.path, sha) or "commit"
        return {
            "ref": ref,
            "node_id": f"REF_{repo.id}_{quote(ref, safe='')}",
            "url": f"{api}/{ref}",
            "object": {"type": kind, "sha": sha, "url": f"{api}/{kind}s/{sha}"},
        }
