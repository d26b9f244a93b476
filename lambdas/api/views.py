"""What the API shows of its records. GitHub tokens and internals never leave through here."""

from __future__ import annotations

from typing import Any

from lambdas.shared.models import Deployment, Project, Subscription, User
from lambdas.shared.rbac import permissions


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "login": user.login,
        "name": user.name,
        "avatar_url": user.avatar_url,
        "roles": [r.value for r in user.roles],
        "permissions": sorted(p.value for p in permissions(user.roles)),
        "privileged": user.privileged,
        "subscription_id": user.subscription_id,
        "installation_id": user.installation_id,
        "project_count": user.project_count,
        "created_at": user.created_at,
    }


def subscription_view(subscription: Subscription) -> dict[str, Any]:
    return subscription.model_dump(mode="json")


def project_view(project: Project) -> dict[str, Any]:
    return project.model_dump(
        mode="json",
        include={
            "name", "owner_id", "repository", "branch", "install_command", "build_command",
            "output_directory", "aliases", "status", "status_reason", "live_deployment", "created_at",
            "updated_at",
        },
    )


def deployment_view(deployment: Deployment) -> dict[str, Any]:
    """The record without its route paths (up to thousands per deployment): their count instead."""
    view = deployment.model_dump(mode="json", exclude={"route_paths", "pages"})
    view["route_count"] = len(deployment.route_paths) or len(deployment.pages)
    return view
