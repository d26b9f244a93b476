"""The signed-in user's repositories: what they can access through their installation of the GitHub
App, asked with their own GitHub token (`lambdas.shared.access`). The listing, and the check behind
creating or re-pointing a project."""

from __future__ import annotations

from typing import Any

from lambdas.api.context import authenticate, deps_of
from lambdas.shared import access
from lambdas.shared.api import ApiError, Request
from lambdas.shared.deps import Deps
from lambdas.shared.github import RepositoryInfo
from lambdas.shared.http import json_response
from lambdas.shared.models import User

GITHUB_UNAVAILABLE = (502, "github_unavailable", "GitHub could not be reached; please try again.")


def _refused(err: access.NoAccess) -> ApiError:
    if err.code == "repository_not_installed":
        return ApiError(403, err.code, "You have no access to that repository through your installation "
                        "of the GitHub App.")
    return ApiError(403, err.code, "GitHub no longer accepts your sign-in; sign out and in again.")


def accessible_repository(deps: Deps, user: User, repository_id: int) -> RepositoryInfo:
    """The repository, if the user can access it through their installation (reference defect 11)."""
    if user.installation_id is None:
        raise ApiError(403, "app_not_installed", "Install the GitHub App on your account first.")
    try:
        return access.repository(deps, user, user.installation_id, repository_id)
    except access.NoAccess as err:
        raise _refused(err) from err
    except access.GitHubUnavailable as err:
        raise ApiError(*GITHUB_UNAVAILABLE) from err


def listrepository(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    deps = deps_of(request)
    if user.installation_id is None:
        return json_response(200, {"message": "GitHub App not installed", "installation_id": None,
                                   "repositories": []})
    try:
        repositories = access.repositories(deps, user, user.installation_id)
    except access.NoAccess as err:
        raise _refused(err) from err
    except access.GitHubUnavailable as err:
        raise ApiError(*GITHUB_UNAVAILABLE) from err
    return json_response(200, {
        "message": "repositories",
        "installation_id": user.installation_id,
        "repositories": [
            {"id": r.id, "name": r.name, "full_name": r.full_name, "private": r.private,
             "default_branch": r.default_branch}
            for r in repositories
        ],
    })
