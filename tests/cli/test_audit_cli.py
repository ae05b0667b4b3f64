"""`commandlang audit`: after a service ran approvals (approved, denied, timed out), the listing in each
format, read from the state file the service left, as an operator would."""

from __future__ import annotations

import csv
import io
import json
import time

from ..helpers import run_cli
from ..runtime.approval_support import REGISTRY, approval_code, ask_credit
from ..runtime.support import running_service


async def test_the_audit_lists_requests_approvals_denials_and_timeouts_in_each_format(tmp_path) -> None:
    now = [time.time() - 3600]
    async with running_service(tmp_path, REGISTRY, clock=lambda: now[0]) as run:
        approved = approval_code(await ask_credit(run, conversation="c-a"))
        await run.webhook(f"/approve {approved}", participant="sup-1", role="supervisor")
        denied = approval_code(await ask_credit(run, "300", conversation="c-d"))
        await run.webhook(f"/deny {denied} too much", participant="sup-2", role="supervisor")
        await ask_credit(run, "120", conversation="c-t")
        await run.webhook("/credit 7 amount=5", conversation="c-small")  # needs no approval: not audited
        now[0] += 31 * 60
        assert await run.service.pipeline.expire_questions() == 1
    env = {"COMMANDLANG_DB": str(tmp_path / "state.db")}

    listed = run_cli("audit", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [(e["event"], e["conversation_id"], e["by"]) for e in entries] == [
        ("requested", "c-a", "agent-1"),
        ("approved", "c-a", "sup-1"),
        ("requested", "c-d", "agent-1"),
        ("denied", "c-d", "sup-2"),
        ("requested", "c-t", "agent-1"),
        ("timed_out", "c-t", None),
    ]
    assert all(e["args"]["card"] == "****1111" and e["roles"] == ["supervisor"] for e in entries)  # masked
    assert entries[3]["reason"] == "too much" and entries[0]["requested_by"] == "agent-1"
    assert entries[0]["at"].endswith("Z")

    table = list(csv.DictReader(io.StringIO(run_cli("audit", "--format", "csv", env=env).stdout)))
    assert [row["event"] for row in table] == [e["event"] for e in entries]
    assert json.loads(table[0]["args"]) == {"order": 7, "amount": "150", "card": "****1111"}

    text = run_cli("audit", "--command", "credit", env=env).stdout.splitlines()
    assert len(text) == 6 and "denied" in text[3] and "by sup-2" in text[3] and text[3].endswith("reason: too much")
    assert "nobody answered" in text[5]
    assert run_cli("audit", "--command", "wipe", env=env).stdout == "no approvals in that time\n"
    assert run_cli("audit", "--since", "10m", env=env).stdout == "no approvals in that time\n"  # all older
    bad = run_cli("audit", "--since", "last tuesday", env=env)
    assert bad.returncode == 2 and "--since" in bad.stderr
