"""The local platform's git host: bare repositories under the data folder, one local user with the
App installed on each, and push webhooks from a watcher. The GitHub API and OAuth stand-in it extends
is `battleshiper_cli.local.github`."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

from battleshiper_cli.local.github import GitHubStandIn, Repo

ZERO = "0" * 40  # GitHub's sha for "no commit" in a push webhook (a created or deleted branch)


def git(*args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="Battleshiper", GIT_AUTHOR_EMAIL="local@battleshiper.invalid",
               GIT_COMMITTER_NAME="Battleshiper", GIT_COMMITTER_EMAIL="local@battleshiper.invalid")
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr.strip()[:500]}")
    return result.stdout


def repository_id(full_name: str) -> int:
    """Stable across restarts: the platform's records keep repository ids."""
    return 100000 + zlib.crc32(full_name.encode()) % 900000


class LocalGitHub(GitHubStandIn):
    """One local user with the App installed on every repository under `folder/<owner>/<name>.git`.

    `webhook` receives each push (the watcher compares branch heads every `interval` seconds, so a plain
    `git push` to the folder is enough: no hook script has to find this process)."""

    USER_ID = 1000
    INSTALLATION_ID = 2000

    def __init__(self, folder: Path, login: str, webhook: Callable[[dict[str, str], bytes], None],
                 viewer: Callable[[str], str] = lambda url: url, interval: float = 0.3) -> None:
        super().__init__()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.account = self.add_account(self.USER_ID, login, name=login)
        self.signed_in = self.account  # the authorize page signs in the local user
        self.installation = self.install(self.INSTALLATION_ID, self.account, [])
        self._webhook = webhook
        self._viewer = viewer
        self._interval = interval
        self._heads: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="git-watcher", daemon=True)
        self.scan(notify=False)

    def viewer_url(self, url: str) -> str:
        return self._viewer(url)

    def clone_base(self) -> str:
        """`Env.GITHUB_URL` for build specs: `<base>/<owner>/<name>.git` is the bare repository."""
        return self.folder.resolve().as_uri()

    def path(self, full_name: str) -> Path:
        return self.folder / f"{full_name}.git"

    def create_repository(self, full_name: str) -> Repo:
        path = self.path(full_name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            git("init", "-q", "--bare", "--initial-branch=main", str(path))
        self.scan(notify=False)
        return next(r for r in self.installation.repositories if r.full_name == full_name)

    def scan(self, notify: bool = True) -> None:
        """Pick up repositories and branch heads; send a push webhook for each moved head."""
        found: list[Repo] = []
        for path in sorted(self.folder.glob("*/*.git")):
            owner, name = path.parent.name, path.name[: -len(".git")]
            full_name = f"{owner}/{name}"
            found.append(Repo(repository_id(full_name), name, owner))
            heads = self.read_heads(path)
            before = self._heads.get(full_name, {})
            self._heads[full_name] = heads
            if notify:
                for ref in sorted(set(heads) | set(before)):
                    if heads.get(ref) != before.get(ref):
                        self.push(found[-1], ref, before.get(ref, ZERO), heads.get(ref, ZERO))
        with self.lock:
            self.installation.repositories = found

    @staticmethod
    def read_heads(path: Path) -> dict[str, str]:
        try:
            out = git("--git-dir", str(path), "for-each-ref", "--format=%(refname) %(objectname)",
                      "refs/heads")
        except RuntimeError:
            return {}
        return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)

    def push(self, repo: Repo, ref: str, before: str, after: str) -> None:
        payload = {
            "ref": ref, "before": before, "after": after, "deleted": after == ZERO, "created": before == ZERO,
            "repository": {**repo.json(), "owner": {"id": self.account.id, "login": repo.owner}},
            "installation": {"id": self.installation.id},
            "sender": {"id": self.account.id, "login": self.account.login},
        }
        body = json.dumps(payload).encode()
        key = self.secret()["webhook_secret"].encode()
        signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-github-event": "push",
                   "x-github-delivery": str(uuid.uuid4()), "x-hub-signature-256": signature}
        try:
            self._webhook(headers, body)
        except Exception as err:  # like GitHub: the delivery failed, the push stands
            print(f"push webhook for {repo.full_name} failed: {err!r}", flush=True)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.scan()
            except Exception as err:
                print(f"git watcher: {err!r}", flush=True)

    def start(self) -> LocalGitHub:
        super().start()
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        super().stop()
