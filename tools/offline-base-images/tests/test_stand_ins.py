"""Behaviour tests for the offline base-image stand-ins (tools/offline-base-images).

Each test checks, against a running container, what the project relies on
from the official image (python:3.13-slim, postgres:17, redis:8.0, nginx:1.30),
so the stand-ins can replace them.  The image names can be overridden with
POLLS_TEST_{PYTHON,POSTGRES,REDIS,NGINX}_IMAGE, e.g. to run the same tests
against the official images where a registry is reachable.

Docker is driven through the `docker` command, run by the repository's stack driver
(loadtest/polls_loadtest/stack).  Every
container and network is created by the test itself, removed in `finally`,
and every wait loop is bounded in time.  Tests are skipped when Docker does
not answer or the image is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from polls_loadtest.stack.compose import StackError, process

pytestmark = pytest.mark.docker

PYTHON_IMAGE = os.environ.get("POLLS_TEST_PYTHON_IMAGE", "polls-base/python:3.13")
POSTGRES_IMAGE = os.environ.get("POLLS_TEST_POSTGRES_IMAGE", "polls-base/postgres:17")
REDIS_IMAGE = os.environ.get("POLLS_TEST_REDIS_IMAGE", "polls-base/redis:8.0")
NGINX_IMAGE = os.environ.get("POLLS_TEST_NGINX_IMAGE", "polls-base/nginx:1.30")

# Unique per test run, so parallel runs and leftovers never collide.
RUN_ID = uuid.uuid4().hex[:8]


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS` through the stack driver (output captured, bounded in time); fail on an
    error exit if `check`."""
    done = process(["docker", *args], timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:4])} ... failed:\n{done.stdout}\n{done.stderr}")
    return done


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return docker("info", check=False, timeout=20).returncode == 0
    except StackError:  # no answer in time
        return False


def require_image(image: str) -> None:
    if not docker_available():
        pytest.skip("Docker engine does not answer")
    if docker("image", "inspect", image, check=False).returncode != 0:
        pytest.skip(f"{image} is absent (build it with tools/offline-base-images/build)")


def wait_for(
    what: str,
    probe: Callable[[], bool],
    timeout: float = 60,
    interval: float = 0.5,
    container: str | None = None,
) -> None:
    """Call probe() until it returns True; fail after `timeout` seconds, or
    as soon as `container` (if given) is no longer running, with its logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if container is not None:
            state = docker("inspect", "-f", "{{.State.Running}}", container, check=False).stdout.strip()
            if state != "true":
                raise AssertionError(f"{container} stopped while waiting for {what}:\n{logs(container)}")
        time.sleep(interval)
    extra = f"\n{logs(container)}" if container is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")


def name(kind: str) -> str:
    return f"polls-test-{kind}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


def remove_containers(*names: str) -> None:
    for n in names:
        docker("rm", "-f", "-v", n, check=False, timeout=60)


def logs(container: str) -> str:
    out = docker("logs", container, check=False, timeout=30)
    return out.stdout + out.stderr


def pid1_uid(container: str) -> str:
    """Real uid of the container's main process (read from /proc, no ps needed)."""
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    line = next(row for row in status.splitlines() if row.startswith("Uid:"))
    return line.split()[1]


@contextmanager
def running(kind: str, image: str, *command: str, network: str | None = None, options: tuple = ()) -> Iterator[str]:
    """Start a detached container of `image` (skip if it is absent), named for this run, on `network`
    with `docker run` options; yield its name and remove it afterwards."""
    require_image(image)
    server = name(kind)
    try:
        docker("run", "-d", "--name", server, *(("--network", network) if network else ()), *options, image, *command)
        yield server
    finally:
        remove_containers(server)


@pytest.fixture
def network() -> Iterator[str]:
    """A user-defined network (with Docker's DNS), removed afterwards."""
    if not docker_available():
        pytest.skip("Docker engine does not answer")
    net = name("net")
    docker("network", "create", net)
    try:
        yield net
    finally:
        docker("network", "rm", net, check=False, timeout=60)


# --------------------------------------------------------------------- postgres


def test_postgres_initdb_and_password_login_over_tcp(network: str) -> None:
    credentials = ("-e", "POSTGRES_USER=polls", "-e", "POSTGRES_PASSWORD=s3cret pw", "-e", "POSTGRES_DB=pollsdb")
    with running(
        "pg", POSTGRES_IMAGE, "postgres", "-c", "max_connections=42", network=network, options=credentials
    ) as server:
        # Over TCP: the temporary server of the init phase listens on the
        # socket only, so this answers once the real server runs.
        def ready() -> bool:
            r = docker("exec", server, "pg_isready", "-h", "127.0.0.1", "-U", "polls", "-d", "pollsdb", check=False)
            return r.returncode == 0

        wait_for("postgres to accept connections", ready, timeout=90, container=server)
        assert "init process complete" in logs(server)
        assert pid1_uid(server) == "999"

        def psql(password: str) -> subprocess.CompletedProcess[str]:
            return docker(
                "run", "--rm", "--network", network, "-e", f"PGPASSWORD={password}",
                POSTGRES_IMAGE, "psql", "-h", server, "-U", "polls", "-d", "pollsdb", "-tAc",
                "select current_user, current_database(), current_setting('max_connections')",
                check=False,
            )  # fmt: skip

        ok = psql("s3cret pw")
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.strip() == "polls|pollsdb|42"

        bad = psql("wrong")
        assert bad.returncode != 0
        assert "password authentication failed" in bad.stderr

        # A second start keeps the data and skips initdb; SIGINT stops it fast.
        inspect = docker("inspect", "-f", "{{.Config.StopSignal}}", server).stdout.strip()
        assert inspect == "SIGINT"
        started = time.monotonic()
        docker("stop", "-t", "30", server)
        assert time.monotonic() - started < 20
        docker("start", server)
        wait_for("postgres to come back", ready, timeout=60, container=server)
        assert "appears to contain a database; Skipping initialization" in logs(server)
        again = psql("s3cret pw")
        assert again.returncode == 0, again.stderr


def test_postgres_requires_a_password() -> None:
    require_image(POSTGRES_IMAGE)
    r = docker("run", "--rm", POSTGRES_IMAGE, check=False, timeout=60)
    assert r.returncode != 0
    assert "superuser password is not specified" in r.stderr


# ------------------------------------------------------------------------ redis


def test_redis_answers_other_containers_without_protected_mode(network: str) -> None:
    with running("redis", REDIS_IMAGE, "redis-server", "--save", "", "--appendonly", "no", network=network) as server:

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return docker(
                "run", "--rm", "--network", network, REDIS_IMAGE, "redis-cli", "-h", server, *args, check=False
            )

        # From another container: protected mode would answer DENIED here.
        wait_for("redis to answer PING", lambda: cli("ping").stdout.strip() == "PONG", timeout=60, container=server)
        assert cli("config", "get", "protected-mode").stdout.split() == ["protected-mode", "no"]
        # the extra arguments reached redis-server
        assert cli("config", "get", "appendonly").stdout.split() == ["appendonly", "no"]
        assert cli("config", "get", "save").stdout.split() == ["save"]
        assert cli("config", "get", "dir").stdout.split() == ["dir", "/data"]
        assert pid1_uid(server) == "999"
        assert docker("exec", server, "redis-cli", "ping").stdout.strip() == "PONG"


# ------------------------------------------------------------------------ nginx

# Like the project's: non-root, read-only root, everything writable under /tmp.
READ_ONLY_NGINX_CONF = """\
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 64; }
http {
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    access_log /dev/stdout;
    include /tmp/*.conf;
}
"""

# ${GREETING} and ${NGINX_LOCAL_RESOLVERS} are replaced; nginx's own
# $request_method is not an environment variable and must stay.  The upstream
# uses `server NAME:PORT resolve` (needs nginx >= 1.27.3) on the container's
# own network alias.
TEMPLATE = """\
resolver ${NGINX_LOCAL_RESOLVERS} valid=10s ipv6=off;
upstream backend {
    zone backend 64k;
    server ${SELF_ALIAS}:8081 resolve;
}
server {
    listen 8080;
    location / { return 200 "hello ${GREETING} $request_method\\n"; }
    location /proxied { proxy_pass http://backend/; }
}
server {
    listen 8081;
    location / { return 200 "backend\\n"; }
}
"""


def test_nginx_renders_templates_read_only_as_uid_101(network: str) -> None:
    alias = f"web-{RUN_ID}"
    workdir = Path(tempfile.mkdtemp(prefix="polls-nginx-test-"))
    try:
        (workdir / "templates").mkdir()
        (workdir / "templates" / "default.conf.template").write_text(TEMPLATE)
        (workdir / "nginx.conf").write_text(READ_ONLY_NGINX_CONF)
        for p in [workdir, workdir / "templates", *workdir.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)  # readable by uid 101
        options = (
            "--network-alias", alias, "--user", "101:101", "--read-only", "--tmpfs", "/tmp",
            "-v", f"{workdir / 'templates'}:/etc/nginx/templates:ro",
            "-v", f"{workdir / 'nginx.conf'}:/etc/nginx/nginx.conf:ro",
            "-e", "NGINX_ENVSUBST_OUTPUT_DIR=/tmp",
            "-e", "NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1",
            "-e", "GREETING=world", "-e", f"SELF_ALIAS={alias}",
        )  # fmt: skip
        with running("nginx", NGINX_IMAGE, network=network, options=options) as server:

            def get(path: str) -> subprocess.CompletedProcess[str]:
                return docker(
                    "run", "--rm", "--network", network, NGINX_IMAGE,
                    "curl", "-fsS", "--max-time", "5", f"http://{alias}:8080{path}",
                    check=False,
                )  # fmt: skip

            wait_for(
                "nginx to serve the rendered template", lambda: get("/").returncode == 0, timeout=60, container=server
            )
            assert get("/").stdout == "hello world GET\n"
            assert get("/proxied").stdout == "backend\n"

            rendered = docker("exec", server, "cat", "/tmp/default.conf").stdout
            # Docker's DNS on a user-defined network
            assert "resolver 127.0.0.11 valid=10s" in rendered
            assert "$request_method" in rendered
            assert pid1_uid(server) == "101"
            output = logs(server)
            assert "Running envsubst on /etc/nginx/templates/default.conf.template to /tmp/default.conf" in output
            assert "emerg" not in output
            assert docker("inspect", "-f", "{{.Config.StopSignal}}", server).stdout.strip() == "SIGQUIT"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_nginx_default_config_as_root() -> None:
    with running("nginx-default", NGINX_IMAGE) as server:

        def welcome() -> bool:
            r = docker("exec", server, "curl", "-fsS", "--max-time", "5", "http://127.0.0.1/", check=False)
            return "Welcome to nginx" in r.stdout

        wait_for("the default page", welcome, timeout=60, container=server)
        # access log goes to stdout via the /var/log/nginx symlinks
        wait_for("the access log line", lambda: '"GET / HTTP/1.1" 200' in logs(server), timeout=10)
        # the workers run as the nginx user
        users = docker("exec", server, "sh", "-c", "grep -h '^Uid:' /proc/[0-9]*/status | sort -u").stdout
        assert "\t101\t" in users


# ----------------------------------------------------------------------- python


def test_python_venv_and_pip_as_arbitrary_uid() -> None:
    require_image(PYTHON_IMAGE)
    script = (
        "set -e; python3 --version; python --version; "
        "python3 -m venv /tmp/v; /tmp/v/bin/pip install --quiet six; "
        "/tmp/v/bin/python -c 'import six, sys; print(sys.version_info[:2], six.__name__)'"
    )
    r = docker(
        "run", "--rm", "--user", "12345:12345", "-e", "HOME=/tmp", PYTHON_IMAGE, "sh", "-c", script,
        check=False, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Python 3.13" in r.stdout
    assert "(3, 13) six" in r.stdout


def test_python_pip_install_inside_docker_build() -> None:
    """What the project's Dockerfile does: a venv + pip install in a RUN step."""
    require_image(PYTHON_IMAGE)
    ctx = Path(tempfile.mkdtemp(prefix="polls-python-test-"))
    tag = f"polls-test-python-build:{RUN_ID}"
    try:
        (ctx / "Dockerfile").write_text(
            f"FROM {PYTHON_IMAGE}\n"
            "RUN python3 -m venv /opt/x && /opt/x/bin/pip install --quiet six"
            " && /opt/x/bin/python -c 'import six'\n"
        )
        r = docker("build", "--no-cache", "-t", tag, str(ctx), check=False, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        docker("rmi", "-f", tag, check=False, timeout=60)
        shutil.rmtree(ctx, ignore_errors=True)
