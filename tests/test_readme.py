"""Every command the README shows works verbatim on the demo a new user gets: the test makes the demo as `make run`
does, in a folder of its own, then runs the README's shell blocks in order (the `make …` lines aside: `make run`
is the demo itself, the others start the UI or the suite) and its SQL block through the `duckdb` shell."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from metricstore.workspace_settings import new_secret
from tests.conftest import REPO

README = REPO / "README.md"
VENV = REPO / ".venv"


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def shell_script() -> str:
    lines = [line for block in readme_blocks("bash") for line in block.splitlines()]
    return "\n".join(["set -euo pipefail", *(line for line in lines if not line.startswith("make "))]) + "\n"


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new user's checkout after `make run`: the project's venv, its definitions, the demo materialized."""
    if not (VENV / "bin" / "metricstore").exists():
        pytest.skip("the project's .venv is not installed (make test installs it)")
    folder = tmp_path_factory.mktemp("user")
    (folder / ".venv").symlink_to(VENV)
    shutil.copytree(REPO / "metric_defs", folder / "metric_defs")
    shutil.copy(README, folder / "README.md")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METRICSTORE_", "ANTHROPIC_"))}
    env["DAGSTER_HOME"] = str(folder / ".dagster")
    demo = subprocess.run(
        [".venv/bin/metricstore", "demo"], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return folder, env


def test_the_readme_sql_runs_on_the_published_demo(user_folder: tuple[Path, dict[str, str]]) -> None:
    folder, env = user_folder
    (sql,) = readme_blocks("sql")
    result = subprocess.run(
        [".venv/bin/duckdb", "-readonly", "data/published/warehouse.duckdb"],
        input=sql,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "escalation_rate" not in result.stderr


def test_the_readme_commands_run_verbatim_on_the_demo(user_folder: tuple[Path, dict[str, str]]) -> None:
    folder, env = user_folder
    result = subprocess.run(
        ["bash", "-c", shell_script()],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    # reads during the backfill, then the docs metric PUT through the settings API, computed by that backfill
    assert "query: ok" in out and "api: ok" in out
    assert re.search(r'"metric_key":"docs_quality".*"points":\[\{"period_start"', out)
    assert '"field":"query.limit"' in out  # the 422 in the one error shape
    assert re.search(r"customer_mood = \"(positive|neutral|negative)\"", out)
    assert '"customMetrics"' in out and '"metricSchema"' in out  # get-metric
    assert '"added":["docs_quality"]' in out  # the settings history
    assert "hourly_metrics succeeded" in out
    # calibration of contact_reason on the demo's labelled sample: figures with intervals, from the cache
    assert re.search(r"^kappa\s+-?\d\.\d{3}\s+\[-?\d\.\d{3}, -?\d\.\d{3}\]\s+\d+$", out, re.M), out[-3000:]
    assert re.search(r"model calls: 0 \(\$0\.0000\); answers from the cache: [1-9]", out)
    # webhooks: a verified delivery per conversation of the window, a failed replay retried by `deliver`
    delivered = re.search(r"^(\d+)$", out.split("call=", 1)[1], re.M)
    assert delivered and int(delivered.group(1)) > 100, out[-3000:]
    assert "attempted 1: delivered 0, failed (retried later) 1" in out
    # what is due now: the replayed conversation (and any delivery of the run that failed under load), all sent
    assert re.search(r"attempted ([1-9]\d*): delivered \1,", out), out[-2500:]
    assert re.search(r"ws_demo .* active", out)


def test_the_readme_receiver_verifies_signatures(tmp_path: Path) -> None:
    (code,) = readme_blocks("python")
    (tmp_path / "receiver.py").write_text(code, encoding="utf-8")
    secret = new_secret()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(port)}
    receiver = subprocess.Popen(
        [sys.executable, "receiver.py"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        body = json.dumps({"success": True, "callData": {"id": "call-9", "customMetrics": {"csat": {"value": 9}}}})
        at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign("msg_1", at, body),
        }
        for _ in range(100):
            try:
                answer = httpx.post(url, content=body, headers=headers)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert answer.status_code == 204
        forged = httpx.post(url, content=body.replace("9}", "1}"), headers=headers)
        assert forged.status_code == 400
    finally:
        receiver.terminate()
        out, _ = receiver.communicate(timeout=10)
    assert out.splitlines() == ['msg_1 call-9 {"csat": {"value": 9}}']
