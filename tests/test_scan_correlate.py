"""``bouncekit scan`` with the correlation options."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bouncekit._cli import main
from bouncekit.correlate import SignedIdCodec, SQLiteCorrelator
from dovecot_server import HOST, PASSWORD, DovecotServer
from synthetic_bounces import make_bounce, original_message_id

KEY = "a signing key read from the environment"

REPORT = """\
From: MAILER-DAEMON@mx.example.org
To: bounces@example.com
Message-ID: <notice-1@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; alice@example.org
Action: failed
Status: 5.1.1

--b1
Content-Type: text/rfc822-headers

Message-ID: {message_id}
X-Campaign-Id: spring-2026

--b1--
"""


def write_report(folder: Path, name: str, message_id: str) -> Path:
    path = folder / name
    path.write_text(REPORT.format(message_id=message_id))
    return path


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]]]:
    status = main(["scan", "--format", "jsonl", *args])
    lines = capsys.readouterr().out.splitlines()
    return status, [json.loads(line) for line in lines]


def test_scan_correlate_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<spring-7@mail.example.com>", {"delivery": 7})
    report = write_report(tmp_path, "a.eml", "<spring-7@mail.example.com>")
    status, records = scan(capsys, "--correlate", f"sqlite:{tmp_path / 'sent.db'}", str(report))
    assert status == 0
    correlation = records[0]["correlation"]
    assert correlation["matched"] is True
    assert correlation["method"] == "message_id"
    assert correlation["identifier"] == "<spring-7@mail.example.com>"
    assert correlation["record"] == {"delivery": 7}


def test_scan_correlate_unknown_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    SQLiteCorrelator(tmp_path / "sent.db").close()
    report = write_report(tmp_path, "a.eml", "<spring-8@mail.example.com>")
    status, records = scan(capsys, "--correlate", f"sqlite:{tmp_path / 'sent.db'}", str(report))
    assert status == 0
    assert records[0]["correlation"]["matched"] is False


def test_scan_correlate_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("spring-2026", "campaign")
    report = write_report(tmp_path, "a.eml", "<rewritten@notes.example.org>")
    db = f"sqlite:{tmp_path / 'sent.db'}"
    _, records = scan(capsys, "--correlate", db, "--correlate-header", "X-Campaign-Id", str(report))
    assert records[0]["correlation"]["method"] == "header"
    assert records[0]["correlation"]["record"] == "campaign"


def test_scan_secret_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_TEST_KEY", KEY)
    message_id = SignedIdCodec([KEY], domain="mail.example.com").encode("spring-2026", "alice-17")
    report = write_report(tmp_path, "a.eml", message_id)
    status, records = scan(capsys, "--secret-env", "BOUNCEKIT_TEST_KEY", str(report))
    assert status == 0
    correlation = records[0]["correlation"]
    assert correlation["method"] == "signed_id"
    assert correlation["signed_id"]["delivery_id"] == "spring-2026"
    assert correlation["signed_id"]["recipient_id"] == "alice-17"


def test_scan_secret_forged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = SignedIdCodec(["a key that the sender never used"], domain="mail.example.com")
    report = write_report(tmp_path, "a.eml", forged.encode("spring-2026", "alice-17"))
    _, records = scan(capsys, "--secret", KEY, str(report))
    correlation = records[0]["correlation"]
    assert correlation["matched"] is False
    assert correlation["rejected"][0]["problem"] == "forged"


def test_scan_secret_env_missing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["scan", "--secret-env", "BOUNCEKIT_TEST_UNSET_VARIABLE", str(tmp_path)])
    assert status == 2
    assert "BOUNCEKIT_TEST_UNSET_VARIABLE" in capsys.readouterr().err


def test_scan_correlate_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["scan", "--correlate", f"sqlite:{tmp_path / 'typo.db'}", str(tmp_path)])
    assert status == 2
    assert "no correlation database" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()


def test_scan_correlate_other_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
    status = main(["scan", "--correlate", f"sqlite:{path}", str(tmp_path)])
    assert status == 2
    assert "not a bouncekit correlation database" in capsys.readouterr().err
    connection = sqlite3.connect(path)
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    connection.close()
    assert tables == ["t"]


def test_scan_correlate_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["scan", "--correlate", f"sqlite:{tmp_path}", str(tmp_path)])
    assert status == 2
    assert "is a folder" in capsys.readouterr().err


def test_scan_correlate_bad_scheme(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["scan", "--correlate", "postgres://db", str(tmp_path)])
    assert status == 2
    assert "sqlite:PATH" in capsys.readouterr().err


def test_scan_without_correlate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path, "a.eml", "<spring-7@mail.example.com>")
    _, records = scan(capsys, str(report))
    assert "correlation" not in records[0]


@pytest.mark.corpus
def test_corpus_ids_resolve(
    shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every original Message-ID the scan reports resolves through a store loaded with them."""
    emails = shared_dir / "corpus" / "emails"
    _, plain = scan(capsys, str(emails))
    ids = {line["original_message_id"] for line in plain if line["original_message_id"]}
    assert len(ids) > 100
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record_many((message_id, {"sent": message_id}) for message_id in sorted(ids))
    _, correlated = scan(capsys, "--correlate", f"sqlite:{tmp_path / 'sent.db'}", str(emails))
    unresolved = [
        line["source"]
        for line in correlated
        if line["original_message_id"]
        and line["correlation"]["record"] != {"sent": line["original_message_id"]}
    ]
    assert unresolved == []


@pytest.mark.dovecot
def test_scan_pop3_correlate(
    dovecot: DovecotServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = dovecot.add_user()
    dovecot.deliver(user, [make_bounce(1), make_bounce(2)])
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record(original_message_id(1), {"delivery": 1})
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
    url = f"pop3s://{user}@{HOST}:{dovecot.pop3s_port}"
    db = f"sqlite:{tmp_path / 'sent.db'}"
    _, records = scan(capsys, url, "--ca-file", str(dovecot.ca_file), "--correlate", db)
    assert [record["correlation"]["record"] for record in records] == [{"delivery": 1}, None]
