"""Crash safety: a sender SIGKILLed at random moments loses no alert and duplicates at most the
one in flight at each kill, with the same id (so the receiver can recognise it).

The senders are real processes working on a real SQLite file. To keep the test quick they are
forked from a "zygote" subprocess that imported monitor once (a tiny fork server): each sender
is a fresh child process, killed with SIGKILL by its pid.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from test_alerts_support import Reply, add_article, make_config, plan, receiver

from monitor.store import Store

SECRET = "whsec_" + base64.b64encode(b"crash-test-key-0123456789abcdef").decode()
ALERTS = 100
KILLS = 20

ZYGOTE = r"""
import asyncio, json, os, sys
from datetime import timedelta
from monitor.alerts import deliver_due
from monitor.alerts.outbox import LEASE
from monitor.config import Config
from monitor.store import Store
from monitor.timeutil import utcnow

config = Config.model_validate(json.loads(sys.argv[1]))
db = sys.argv[2]

async def send_all(restart):
    store = Store.open(db)
    while True:
        # each restart runs one lease later, as if the dead sender's lease had run out
        now = utcnow() + restart * (LEASE + timedelta(seconds=1))
        report = await deliver_due(store, config, now=now, limit=8)
        if report.total == 0:
            break
    store.close()

for line in sys.stdin:
    restart = int(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            asyncio.run(send_all(restart))
        except BaseException as exc:
            print("child failed:", repr(exc), file=sys.stderr, flush=True)
            code = 1
        os._exit(code)
    print("pid", pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print("exit", os.waitstatus_to_exitcode(status), flush=True)
"""


def _verify(headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(SECRET[len("whsec_"):])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    want = base64.b64encode(hmac.new(key, signed, "sha256").digest()).decode()
    return any(
        hmac.compare_digest(part.removeprefix("v1,"), want)
        for part in headers["webhook-signature"].split()
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path):
    rng = random.Random(20211208)
    db = tmp_path / "crash.db"
    with receiver(default=Reply(200, delay=0.004)) as r:
        config = make_config([{"name": "hook", "type": "webhook", "url": r.url,
                               "secret": SECRET}])
        store = Store.open(db)
        for i in range(ALERTS):
            aid = add_article(store, title=f"Sanctions statement {i}", url=f"https://mid.ru/en/{i}")
            assert plan(store, config, aid) == 1
        expected = {a.id for a in store.alerts()}
        store.close()

        zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, json.dumps(config.model_dump(mode="json",
                                                                      by_alias=True)), str(db)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        assert zygote.stdin is not None and zygote.stdout is not None
        kills = runs = 0
        exits = []
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                before = len(r.received)
                zygote.stdin.write(f"{runs}\n")
                zygote.stdin.flush()
                runs += 1
                word, pid = zygote.stdout.readline().split()
                assert word == "pid"
                if kills < KILLS:
                    # wait until this sender delivers, then kill it at a random moment
                    t0 = time.monotonic()
                    while len(r.received) == before and time.monotonic() - t0 < 10:
                        time.sleep(0.002)
                    time.sleep(rng.uniform(0, 0.05))
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass  # it had finished already
                word, code = zygote.stdout.readline().split()
                exits.append(int(code))
                store = Store.open(db)
                pending = store.alerts("pending")
                store.close()
                if not pending:
                    break
        finally:
            _, err = zygote.communicate(timeout=30)  # closes stdin: the zygote ends
        received = list(r.received)

    assert "child failed" not in err, err
    assert exits.count(-signal.SIGKILL) == kills == KILLS
    store = Store.open(db)
    try:
        statuses = Counter(a.status for a in store.alerts())
    finally:
        store.close()
    assert statuses == {"sent": ALERTS}

    ids = Counter(x.headers["webhook-id"] for x in received)
    assert set(ids) == expected  # every alert delivered at least once, nothing else
    duplicates = sum(n - 1 for n in ids.values())
    assert duplicates <= kills, f"{duplicates} duplicates for {kills} kills"
    for x in received:  # a resend carries the same id, in the header and the body, signed
        assert x.json["id"] == x.headers["webhook-id"]
        assert _verify(x.headers, x.body)
    print(f"\n{ALERTS} alerts, {kills} kills, {runs} runs, {duplicates} duplicates")
