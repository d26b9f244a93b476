"""Deploys a finished build (Batch job state change of a build job, default bus).

The Batch event names the job's execution id (a job parameter, set by the project's build rule); it is
the deployment id of a Deployment record the build trigger wrote, so nothing in the event is trusted
beyond that correlation (no bearer ticket across the build, reference defect 26). Steps, under the
project lock (owner + expiry, released in `finally`):

  check the output (`output.read_output`, extracted to a work folder on disk) -> check and record its
  route keys (`route_budget`) -> upload files to `<project>/<deployment>/` in parallel -> new server
  code + published version (+ a per-deployment alias) -> route keys -> go live (live pointer, `live`
  alias, records; `releases.go_live`) unless a newer deployment is live -> prune old ones.

Nothing the live deployment uses is touched before going live, so any failure leaves it serving; the
reason goes to the project's deploy log and `status_reason`, and the route keys it recorded are
removed. The work folder goes in every path. A rejected output is final; any other
failure is raised again so Lambda retries the event, and a retry converges (every step is idempotent).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lambdas.pipeline import concurrency, configuration, route_budget, work
from lambdas.pipeline.handlers import event_function
from lambdas.pipeline.output import BuildOutput, OutputRejected, read_output
from lambdas.pipeline.upload import upload_files
from lambdas.shared import build_queue, lifecycle, names, releases, routes
from lambdas.shared.deps import Deps
from lambdas.shared.entry import lambda_handler
from lambdas.shared.log import log
from lambdas.shared.models import Deployment, DeploymentStatus, Limits, Project
from lambdas.shared.names import Env
from lambdas.shared.projectlog import ProjectLog
from lambdas.shared.releases import ReleaseError
from lambdas.shared.store import Conflict

# UpdateFunctionCode takes at most 50 MB inline (base64 adds a third); bigger code goes through S3.
INLINE_CODE_LIMIT = 36 * 2**20
LOCK_WAIT_SECONDS = 300
LOCK_POLL_SECONDS = 5


def project_of_job(deps: Deps, detail: dict[str, Any]) -> str | None:
    """The project a build job belongs to, from its job definition name `<stack>-build-<project>`."""
    definition = str(detail.get("jobDefinition", ""))
    name = definition.rsplit("job-definition/", 1)[-1].split(":", 1)[0] or str(detail.get("jobName", ""))
    prefix = deps.names.job_definition_prefix
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else None


def deploy_event(deps: Deps, event: dict[str, Any]) -> Deployment | None:
    detail = event.get("detail") or {}
    if event.get("source") != names.BATCH_EVENT_SOURCE or not isinstance(detail, dict):
        log("deploy: not a Batch job event; ignored", event_id=event.get("id"))
        return None
    queue = deps.env.get(Env.BUILD_QUEUE_ARN)
    if queue and detail.get("jobQueue") != queue:
        log("deploy: job of another queue; ignored", job_queue=detail.get("jobQueue"))
        return None
    execution = str((detail.get("parameters") or {}).get(names.BUILD_EXECUTION_FIELD, ""))
    project_name = project_of_job(deps, detail)
    deployment = (
        deps.store.deployments.get(project_name=project_name, deployment_id=execution)
        if project_name and execution
        else None
    )
    if deployment is None:
        log(
            "deploy: no deployment for this job; ignored",
            project=project_name,
            execution=execution,
            job_id=detail.get("jobId"),
        )
        return None
    job_id = str(detail.get("jobId", ""))
    if deployment.job_id and job_id and deployment.job_id != job_id:
        log("deploy: job does not match the deployment; ignored", execution=execution, job_id=job_id)
        return None
    if detail.get("status") in ("SUCCEEDED", "FAILED"):
        # The build is over: the project's next queued build may start while this one deploys.
        build_queue.release(deps, deployment.project_name, deployment.deployment_id)
        forget_build_spec(deps, deployment)
    if detail.get("status") == "FAILED":
        return build_failed(deps, deployment, job_id, detail)
    deployable = lifecycle.may_become(deployment, DeploymentStatus.DEPLOYING)  # not READY or LIVE yet
    if detail.get("status") != "SUCCEEDED" or not deployable:
        log(
            "deploy: nothing to do (replayed or not final)",
            execution=execution,
            status=detail.get("status"),
            deployment_status=deployment.status.value,
        )
        return deployment
    return Deployer(deps, deployment, job_id).run()


def forget_build_spec(deps: Deps, deployment: Deployment) -> None:
    """The spec holds the repository token and the build's variables, secrets included: once the job is
    over nothing reads it again (the bucket's retention would keep it for a day)."""
    try:
        deps.s3.delete_object(Bucket=deps.env[Env.BUILD_BUCKET],
                              Key=names.build_spec_key(deployment.project_name, deployment.deployment_id))
    except ClientError as err:
        log("build spec not removed", level="WARNING", error=repr(err))


def build_failed(deps: Deps, deployment: Deployment, job_id: str, detail: dict[str, Any]) -> Deployment:
    if deployment.status != DeploymentStatus.BUILDING:
        return deployment  # replayed: a build reports once, on a deployment still building
    container = detail.get("container") or {}
    reason = " - ".join(
        str(r)
        for r in (
            detail.get("statusReason"),
            container.get("reason"),
            f"exit code {container['exitCode']}" if container.get("exitCode") is not None else None,
        )
        if r
    )
    reason = f"build failed: {reason or 'no reason given'}"[:1000]
    project = deployment.project_name
    deploy_log = ProjectLog(
        deps.logs, deps.names.project_log_group(project, "deploy"), deployment.deployment_id
    )
    deploy_log.line(f"deployment {deployment.deployment_id}: {reason}")
    deploy_log.flush()
    return lifecycle.failed(deps, deployment, reason, job_id=job_id)


class Deployer:
    def __init__(self, deps: Deps, deployment: Deployment, job_id: str) -> None:
        self.deps = deps
        self.deployment = deployment
        self.job_id = job_id
        self.project_name = deployment.project_name
        self.log = ProjectLog(
            deps.logs, deps.names.project_log_group(self.project_name, "deploy"), deployment.deployment_id
        )
        self.step = "starting"

    def run(self) -> Deployment | None:
        owner = self.deployment.deployment_id
        try:
            project = self._lock(owner)
        except ReleaseError as err:
            if err.code == "not_found":
                self.log.line(f"deployment {owner} dropped: the project is gone or being deleted")
                self.log.flush()
                return None
            raise
        try:
            return self._deploy(project)
        except OutputRejected as err:
            self._fail(f"build output rejected: {err}")
            return None
        except concurrency.DeployRefused as err:
            self._fail(str(err))
            return None
        except Exception as err:
            log(
                "deploy failed",
                level="ERROR",
                project=self.project_name,
                deployment=owner,
                step=self.step,
                error=repr(err),
            )
            self._fail(f"deploy failed while {self.step}; it will be retried")
            raise
        finally:
            releases.release_lock(self.deps, self.project_name, owner)
            self.log.flush()

    def _lock(self, owner: str) -> Project:
        deadline = self.deps.now() + LOCK_WAIT_SECONDS
        while True:
            try:
                return releases.acquire_lock(self.deps, self.project_name, owner)
            except ReleaseError as err:
                if err.code != "locked" or self.deps.now() >= deadline:
                    raise
                self.deps.sleep(LOCK_POLL_SECONDS)

    def _limits(self, project: Project) -> Limits:
        user = self.deps.store.users.get(id=project.owner_id)
        subscription = (
            self.deps.store.subscriptions.get(id=user.subscription_id)
            if user and user.subscription_id
            else None
        )
        if subscription is None:
            raise OutputRejected("the project's owner has no subscription")
        return subscription.limits

    def _deploy(self, project: Project) -> Deployment:
        deps, d = self.deps, self.deployment
        started = time.monotonic()
        self.log.line(f"deployment {d.deployment_id} started (commit {d.commit[:12] or 'branch tip'})")
        lifecycle.deploying(deps, d, self.job_id)
        work.clear_stale()
        with work.folder() as folder:
            ready = self._install(project, folder)
        return self._go_live(project, ready, started)

    def _install(self, project: Project, folder: Path) -> Deployment:
        """Check, upload, publish and route the build output (extracted into `folder`): READY."""
        deps, d = self.deps, self.deployment
        self.step = "reading the build output"
        limits = self._limits(project)
        body = deps.s3.get_object(
            Bucket=deps.env[Env.BUILD_BUCKET], Key=names.build_output_key(project.name, d.deployment_id)
        )["Body"]
        try:
            output = read_output(body, limits, directory=folder)
        finally:
            body.close()
        keys = route_budget.keys_of(project.name, d.deployment_id, output.routes)
        route_budget.check_budget(deps, project, d, len(keys), limits)
        self.log.line(
            f"build output accepted: {len(output.files)} files, {len(output.pages)} pages, "
            f"{len(keys)} route keys, server {output.server_bytes} bytes"
        )
        route_budget.record(deps, d, output.routes)

        self.step = "uploading files"
        upload_files(
            deps.s3,
            deps.env[Env.PROJECT_BUCKET],
            names.deployment_prefix(project.name, d.deployment_id),
            output.files,
            deps.workers,
        )

        self.step = "publishing the server function"
        if d.runtime_variables:
            assert output.server_path is not None  # read_output refuses an output without one
            output.server_bytes = configuration.add_configuration(deps, d, output.server_path)
            self.log.line(f"server configuration: {len(d.runtime_variables)} runtime variables "
                          f"({', '.join(d.runtime_variables)})")
        version = self._publish_server(project, output, limits)

        self.step = "writing page routes"
        routes.update(deps.routes, keys, sleep=deps.sleep)
        return lifecycle.ready(
            deps,
            d,
            function_version=version,
            client_bytes=output.client_bytes,
            prerender_bytes=output.prerender_bytes,
            server_bytes=output.server_bytes,
            page_count=len(output.pages),
        )

    def _go_live(self, project: Project, ready: Deployment, started: float) -> Deployment:
        deps, d = self.deps, self.deployment
        version = ready.function_version
        self.step = "going live"
        if releases.superseded(project, ready):
            self.log.line(
                f"deployment {d.deployment_id} kept, not live: the newer deployment "
                f"{project.live_deployment} is live"
            )
            lifecycle.kept_not_live(deps, project.name)
            result = ready
        else:
            result = releases.go_live(deps, project, ready)
            self.log.line(
                f"deployment {d.deployment_id} is live "
                f"({time.monotonic() - started:.1f} s, server version {version})"
            )

        self.step = "removing old deployments"
        try:
            current = deps.store.projects.get(name=project.name) or project
            removed = releases.prune(deps, current)
            if removed:
                self.log.line(f"removed old deployments: {', '.join(removed)}")
        except Exception as err:  # the deployment is live; leftovers are removed by the next prune
            log("prune failed", level="WARNING", project=project.name, error=repr(err))
        return result

    def _publish_server(self, project: Project, output: BuildOutput, limits: Limits) -> str:
        deps, d = self.deps, self.deployment
        function = releases.function_name(deps, project.name)
        concurrency.reserve(deps, function, limits)
        if output.server_bytes <= INLINE_CODE_LIMIT:
            code: dict[str, Any] = {"ZipFile": output.server}
        else:
            # Kept in the project bucket (outside every served prefix), not the 1-day build bucket
            # (reference defect 33).
            key = names.server_code_key(project.name, d.deployment_id)
            assert output.server_path is not None  # read_output refuses an output without one
            with output.server_path.open("rb") as server:
                deps.s3.put_object(Bucket=deps.env[Env.PROJECT_BUCKET], Key=key, Body=server)
            code = {"S3Bucket": deps.env[Env.PROJECT_BUCKET], "S3Key": key}
        updated = deps.lambda_.update_function_code(FunctionName=function, **code)
        deps.lambda_.get_waiter("function_updated_v2").wait(
            FunctionName=function, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
        )
        # CodeSha256 makes sure the version holds this code, not a concurrent writer's.
        version = str(
            deps.lambda_.publish_version(
                FunctionName=function,
                CodeSha256=updated["CodeSha256"],
                Description=f"deployment {d.deployment_id}",
            )["Version"]
        )
        alias = names.deployment_alias(d.deployment_id)
        try:
            deps.lambda_.create_alias(FunctionName=function, Name=alias, FunctionVersion=version)
        except ClientError as err:  # a retry: the alias exists already
            code = err.response.get("Error", {}).get("Code")
            if code not in ("ResourceConflictException", "ConflictException"):  # moto says the latter
                raise
            deps.lambda_.update_alias(FunctionName=function, Name=alias, FunctionVersion=version)
        return version

    def _fail(self, reason: str) -> None:
        d = self.deployment
        self.log.line(f"deployment {d.deployment_id} failed: {reason}; the live deployment is unchanged")
        try:
            route_budget.remove_routes(self.deps, d)
        except Exception as err:  # they stay recorded: pruning or deletion removes them later
            log("route keys of a failed deploy not removed", level="WARNING", error=repr(err))
        with contextlib.suppress(Conflict):  # the record is gone: the project is being deleted
            lifecycle.failed(self.deps, d, reason)


def from_batch(event: dict[str, Any]) -> bool:
    return event.get("source") == names.BATCH_EVENT_SOURCE


create = event_function("deploy", from_batch, deploy_event)
handler = lambda_handler(create)
