"""The program on the correlation docs page runs, and finds the delivery of a bounce."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "correlation.md"

BOUNCE = """\
From: MAILER-DAEMON@mx.example.org
To: bounces@example.com
Message-ID: <notice-1@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1

--b1
Content-Type: message/rfc822

{returned}
--b1--
"""


def test_docs_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = re.search(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert found is not None
    monkeypatch.setenv("BOUNCE_ID_KEY", "a key of the docs page, long enough")
    monkeypatch.chdir(tmp_path)
    program: dict[str, Any] = {}
    exec(compile(found[1], str(PAGE), "exec"), program)

    sent = program["send_mailing"]("spring-2026", {"17": "alice@example.org"})
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(BOUNCE.format(address="alice@example.org", returned=sent[0].as_string()).encode())
    program["read_bounces"](str(tmp_path / "bounces"))
    program["store"].close()

    output = capsys.readouterr().out
    assert output.startswith("message_id {'mailing': 'spring-2026', 'recipient': '17'}")
