"""Tests for ``bouncekit scan --rules``, ``bouncekit explain`` and ``bouncekit rules check``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bouncekit._cli import main

DSN = """\
From: MAILER-DAEMON@mx.example.org
To: bounces@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; pat@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--BB--
"""
PLAIN = "From: a@example.com\nTo: b@example.net\nSubject: hello\n\nHi.\n"
HARD_WHEN_FULL = """\
[[rule]]
id = "status-mailbox-full"
priority = 800
reason = "mailbox_full"
bounce_type = "hard"
status = "*.2.2"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def message(tmp_path: Path) -> Path:
    path = tmp_path / "full.eml"
    path.write_text(DSN)
    return path


def test_scan_uses_default_rules(message: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "scan", "--format", "jsonl", str(message))

    (recipient,) = json.loads(out)["recipients"]

    assert recipient["rule"] == "status-mailbox-full"
    assert recipient["bounce_type"] == "soft"


def test_scan_with_rules_file(
    message: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text(HARD_WHEN_FULL)

    status, out, _ = run(capsys, "scan", "--format", "jsonl", "--rules", str(rules), str(message))

    assert status == 0
    assert json.loads(out)["recipients"][0]["bounce_type"] == "hard"


def test_scan_with_bad_rules_file(
    message: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text("[[rule]]\nid = 'x'\nreason = 'nope'\n")

    status, out, err = run(capsys, "scan", "--rules", str(rules), str(message))

    assert status == 2
    assert out == ""
    assert "rule 'x': unknown reason 'nope'" in err


def test_scan_message_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain.eml").write_text(PLAIN)

    _, out, _ = run(capsys, "scan", "--format", "jsonl", str(tmp_path / "plain.eml"))
    record = json.loads(out)

    assert record["recipients"] == []
    assert record["verdict"] == {
        "bounce_type": "ignored",
        "reason": "undefined",
        "rule": "kind-not-bounce",
    }


def test_explain_recipient(message: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", str(message))

    assert status == 0
    assert "pat@example.net: soft, mailbox_full" in out
    assert "rule: status-mailbox-full (priority 800" in out
    assert "matched status: '5.2.2'" in out


def test_explain_message_without_recipients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain.eml").write_text(PLAIN)

    _, out, _ = run(capsys, "explain", str(tmp_path / "plain.eml"))

    assert "message: ignored, undefined" in out
    assert "rule: kind-not-bounce" in out


def test_explain_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "explain", str(tmp_path / "absent.eml"))

    assert status == 2
    assert "no such file or folder" in err


def test_explain_notes_pattern_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "long.eml"
    message.write_text(DSN.replace("552 5.2.2 Mailbox full", "550 " + "x" * 200))
    rules = tmp_path / "slow.toml"
    rules.write_text(
        "[[rule]]\nid = 'slow'\nreason = 'blocked'\npriority = 5000\ndiagnostic = '(x+x+)+y'\n"
    )

    status, out, _ = run(capsys, "explain", "--rules", str(rules), str(message))

    assert status == 0
    assert out.endswith(
        "    note: a pattern of rule slow ran out of time on this diagnostic"
        " and counted as not matching\n"
    )


def test_rules_check_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text(HARD_WHEN_FULL)

    status, out, _ = run(capsys, "rules", "check", str(rules))

    assert status == 0
    assert out == f"{rules}: valid, 1 rule(s), 1 of them replacing defaults\n"


def test_rules_check_lists_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text(
        "[[rule]]\nid = 'x'\nreason = 'nope'\nstatus = '5.*'\n"
        "[[rule]]\nid = 'y'\nreason = 'blocked'\ndiagnostic = '(a'\n"
    )

    status, _, err = run(capsys, "rules", "check", str(rules))

    assert status == 1
    assert "rule 'x': unknown reason" in err
    assert "rule 'y': invalid pattern" in err
    assert "2 error(s)" in err


def test_rules_check_every_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text(
        "[[rule]]\nid = 'x'\nreason = 'blocked'\nstatus = ['5.1', 'banana', '9.9.9', '5.1.1.1']\n"
    )

    status, _, err = run(capsys, "rules", "check", str(rules))

    assert status == 1
    for value in ("'5.1'", "'banana'", "'9.9.9'", "'5.1.1.1'"):
        assert f"invalid status condition {value}" in err
    assert err.endswith(f"bouncekit: 4 error(s) in {rules}\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[rule]]\nid = 'x'\nreason = 'user_unknown'\n", "the rule has no condition"),
        ("[[rule]]\nid = 'no-such-default'\nenabled = false\n", "no default rule"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nreply_code = '5'\n", "reply_code"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\ndomain = '@example.com'\n", "'@'"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\ndiagnostic = ''\n", "empty pattern"),
    ],
)
def test_rules_check_rule_that_cannot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text(text)

    status, out, err = run(capsys, "rules", "check", str(rules))

    assert status == 1
    assert out == ""
    assert problem in err
    assert err.endswith(f"bouncekit: 1 error(s) in {rules}\n")


def test_rules_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules=v2.toml"

    status, _, err = run(capsys, "rules", "check", str(path))

    assert status == 1
    assert err.startswith(f"{path}: rule file not found\n")


def test_rules_check_empty_path(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "rules", "check", "")

    assert status == 1
    assert err.startswith("<empty path>: invalid rule file path '': the path is empty.")


def mbox_of_two(tmp_path: Path) -> Path:
    box = tmp_path / "two.mbox"
    first = Path(__file__).parent.parent / "examples" / "user-unknown.eml"
    data = first.read_bytes()
    box.write_bytes(
        b"From MAILER-DAEMON Tue Mar  5 10:00:00 2024\n"
        + data
        + b"\n"
        + b"From MAILER-DAEMON Tue Mar  5 10:00:01 2024\n"
        + data
    )
    return box


def test_explain_mbox_every_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = mbox_of_two(tmp_path)
    status, out, _ = run(capsys, "explain", str(box))
    assert status == 0
    assert f"{box}#0: dsn" in out
    assert f"{box}#1: dsn" in out


def test_explain_mbox_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = mbox_of_two(tmp_path)
    status, out, _ = run(capsys, "explain", f"{box}#1")
    assert status == 0
    assert f"{box}#1: dsn" in out
    assert f"{box}#0" not in out


def test_explain_mbox_index_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = mbox_of_two(tmp_path)
    status, _, err = run(capsys, "explain", f"{box}#5")
    assert status == 2
    assert "has no message 5: it contains 2 messages, numbered from 0" in err


def test_explain_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    status, _, err = run(capsys, "explain", str(tmp_path / "empty.eml"))
    assert status == 2
    assert "contains no message" in err


def test_explain_full_output_reported(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    example = Path(__file__).resolve().parents[1] / "examples" / "user-unknown.eml"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "bouncekit", "explain", str(example)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("bouncekit: cannot write the output: [Errno 28]")


@pytest.mark.parametrize("command", ["scan", "explain"])
def test_empty_rules_path(command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, command, "--rules", "", str(tmp_path))

    assert status == 2
    assert "the path is empty" in err


def test_explain_pop3_url_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "explain", "pop3s://bounces@127.0.0.1:995")

    assert status == 2
    assert out == ""
    assert "run bouncekit scan on the URL" in err
