"""Deployment files in deploy/: the systemd unit, the Dockerfile, compose.yaml, the env example."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from monitor.config import WebhookChannel, load_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "monitor.service"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "monitor.env.example"

# ---------------------------------------------------------------- helpers


def unit_directives(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values in order]}} (keys may repeat)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        out[section].setdefault(key.strip(), []).append(value.strip())
    return out


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not in exec form: {args}"
    return [str(v) for v in value]


def healthcheck_command(args: str) -> list[str]:
    """The command of ``HEALTHCHECK [options] CMD [...]``."""
    _, _, cmd = args.partition("CMD ")
    return exec_form(cmd)


def run_probe(argv: list[str], url: str) -> int:
    """Run a health check command with its URL pointed at ``url``; return the exit status."""
    assert argv[0] == "python", argv
    code = argv[argv.index("-c") + 1]
    assert "http://127.0.0.1:9464/healthz" in code
    code = code.replace("http://127.0.0.1:9464/healthz", url)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    return proc.returncode


# ---------------------------------------------------------------- systemd unit


def test_unit_has_the_required_settings() -> None:
    unit = unit_directives(UNIT)
    service = unit["Service"]

    def one(key: str) -> str:
        assert key in service, f"{key}= missing"
        return service[key][-1]

    assert one("ExecStart").endswith("/monitor run -c /etc/monitor/monitor.yaml")
    assert one("ExecStart").startswith("/")  # systemd wants an absolute path
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("Restart") == "on-failure"
    assert one("DynamicUser") == "yes"
    assert one("StateDirectory") == "monitor"
    assert "MONITOR_DATA=/var/lib/monitor" in service["Environment"]
    assert one("EnvironmentFile").startswith("-/etc/monitor/")
    for key, value in {
        "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
        "ProtectHome": "yes", "PrivateDevices": "yes",
    }.items():
        assert one(key) == value, key
    assert set(one("RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0]


def test_example_config_puts_the_database_in_the_state_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_DATA", "/var/lib/monitor")
    assert load_config(ROOT / "config" / "monitor.yaml").storage.path == (
        "/var/lib/monitor/monitor.db"
    )
    monkeypatch.setenv("MONITOR_DATA", "/data")
    assert load_config(ROOT / "config" / "monitor.yaml").storage.path == "/data/monitor.db"


def _verify(unit_text: str, tmp_path: Path) -> list[str]:
    """``systemd-analyze verify`` on a copy whose binaries exist; the lines about our unit."""
    fake = tmp_path / "bin" / "monitor"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    copy = tmp_path / "monitor.service"
    copy.write_text(unit_text.replace("/opt/monitor/bin/monitor", str(fake)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True, text=True, timeout=60,
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    problems = [ln for ln in lines if "monitor.service" in ln or str(copy) in ln]
    if proc.returncode != 0:
        problems.append(f"exit status {proc.returncode}")
    return problems


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert "/opt/monitor/bin/monitor" in text
    assert _verify(text, tmp_path) == []
    # The check itself can fail: a wrong value is reported.
    broken = text.replace("ProtectSystem=strict", "ProtectSystem=sometimes")
    assert any("ProtectSystem" in p or "protect system" in p for p in _verify(broken, tmp_path))


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_settings() -> None:
    steps = dockerfile_instructions(DOCKERFILE)
    kinds = [k for k, _ in steps]
    args = dict(steps)  # the last of each kind
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert "USER" in kinds and args["USER"] not in ("root", "0")
    # Installs run as root, everything after USER runs as the unprivileged user.
    assert kinds.index("USER") > max(i for i, (k, a) in enumerate(steps) if "pip install" in a)
    assert kinds.index("USER") < kinds.index("CMD")
    assert args["EXPOSE"] == "9464"
    assert exec_form(args["VOLUME"]) == ["/data"]
    env = " ".join(a for k, a in steps if k == "ENV")
    assert "MONITOR_DATA=/data" in env
    assert exec_form(args["CMD"]) == ["monitor", "run", "-c", "/config/monitor.yaml"]
    assert healthcheck_command(args["HEALTHCHECK"])[0] == "python"


def test_healthchecks_probe_healthz(httpserver: HTTPServer) -> None:
    """The Dockerfile's and compose's health commands: 0 on 200, non-zero on 503 or no server."""
    docker = healthcheck_command(dict(dockerfile_instructions(DOCKERFILE))["HEALTHCHECK"])
    compose = yaml.safe_load(COMPOSE.read_text())["services"]["monitor"]["healthcheck"]["test"]
    assert compose[0] == "CMD"
    for argv in (docker, compose[1:]):
        httpserver.expect_oneshot_request("/healthz").respond_with_data("ok\n", status=200)
        assert run_probe(argv, httpserver.url_for("/healthz")) == 0
        httpserver.expect_oneshot_request("/healthz").respond_with_data("unhealthy\n", status=503)
        assert run_probe(argv, httpserver.url_for("/healthz")) != 0
        assert run_probe(argv, "http://127.0.0.1:9/healthz") != 0  # nothing listening


def _dependency_view(tmp_path: Path) -> Path:
    """The running environment's installed distributions, minus monitor itself, as symlinks:
    a fresh venv sees them as installed, so pip resolves dependencies without any index."""
    site = Path(sysconfig.get_paths()["purelib"])
    view = tmp_path / "deps"
    view.mkdir()
    for entry in site.iterdir():
        name = entry.name
        if name.startswith(("monitor", "__editable__")) or name.endswith(".pth"):
            continue
        (view / name).symlink_to(entry)
    return view


def _build_context(steps: list[tuple[str, str]], ctx: Path) -> list[tuple[Path, list[str]]]:
    """Replay WORKDIR and COPY into ``ctx``; return (directory, pip install args) per RUN."""
    workdir = Path("/")
    installs: list[tuple[Path, list[str]]] = []
    for kind, args in steps:
        if kind == "WORKDIR":
            workdir = workdir / args
            (ctx / workdir.relative_to("/")).mkdir(parents=True, exist_ok=True)
        elif kind == "COPY":
            *sources, dest = shlex.split(args)
            assert not any(s.startswith("--") for s in sources), "COPY flags not handled"
            target = ctx / (workdir / dest).relative_to("/")
            for src in sources:  # Docker copies a directory's contents, not the directory
                path = ROOT / src
                if path.is_dir():
                    shutil.copytree(path, target, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                elif dest.endswith("/") or len(sources) > 1:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / path.name)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
        elif kind == "RUN":
            for command in re.split(r"&&|;", args):
                argv = shlex.split(command)
                if argv[:2] == ["pip", "install"]:
                    installs.append((ctx / workdir.relative_to("/"), argv[2:]))
    return installs


def test_dockerfile_install_steps_work_in_a_fresh_venv(tmp_path: Path) -> None:
    """COPY and ``pip install`` from the Dockerfile, replayed into a new venv; then
    ``monitor --help`` from that venv. Dependencies come from the running environment (no
    network in tests), the project itself is really built and installed."""
    from setuptools import __version__ as setuptools_version

    build_requires = re.search(r'requires\s*=\s*\["setuptools>=(\d+)', (
        ROOT / "pyproject.toml").read_text())
    assert build_requires
    if int(setuptools_version.split(".")[0]) < int(build_requires.group(1)):
        pytest.skip(
            f"setuptools {setuptools_version} is older than the build needs "
            f"(>={build_requires.group(1)}): .venv/bin/pip install 'setuptools>=69'"
        )
    started = time.monotonic()
    steps = dockerfile_instructions(DOCKERFILE)
    installs = _build_context(steps, tmp_path / "ctx")
    assert installs, "no RUN pip install in the Dockerfile"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for cwd, _ in installs:  # files pyproject.toml refers to are in the build context
        assert (cwd / "pyproject.toml").is_file() and (cwd / project["readme"]).is_file()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    (Path(purelib) / "_deps.pth").write_text(str(_dependency_view(tmp_path)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    for cwd, args in installs:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
             "--no-build-isolation", "--disable-pip-version-check", *args],
            cwd=cwd, capture_output=True, text=True, env=env, timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    where = subprocess.run(
        [str(python), "-c", "import monitor, sys; print(monitor.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv)), where  # the installed copy, not the source tree
    help_ = subprocess.run(
        [str(venv / "bin" / "monitor"), "--help"], capture_output=True, text=True, cwd=tmp_path,
        timeout=120,
    )
    assert help_.returncode == 0, help_.stderr
    assert "usage: monitor" in help_.stdout
    print(f"docker install steps replayed in {time.monotonic() - started:.1f}s")


# ---------------------------------------------------------------- compose and env


def test_compose_file() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"]["monitor"]
    assert service["restart"] == "unless-stopped"
    context = (DEPLOY / service["build"]["context"]).resolve()
    assert context == ROOT and (context / service["build"]["dockerfile"]) == DOCKERFILE
    volumes = [v.split(":") for v in service["volumes"]]
    assert ["monitor-data", "/data"] in volumes
    assert "monitor-data" in compose["volumes"]
    config_mount = next(v for v in volumes if v[1] == "/config")
    assert (DEPLOY / config_mount[0] / "monitor.yaml").is_file()
    assert service["env_file"] == ["monitor.env"]
    assert (DEPLOY / "monitor.env.example").is_file()
    health = service["healthcheck"]
    assert health["test"][0] == "CMD" and "/healthz" in " ".join(health["test"])
    assert {"interval", "timeout", "retries"} <= set(health)
    assert any(str(p).endswith(":9464") for p in service["ports"])


def test_env_example() -> None:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), line
        assert not value.startswith(("'", '"')), f"systemd and compose differ on quotes: {line}"
        values[key] = value
    assert {"SMTP_PASSWORD", "WEBHOOK_SECRET"} <= set(values)
    WebhookChannel(type="webhook", name="w", url="https://h.example/x",
                   secret=values["WEBHOOK_SECRET"])
