"""Tests for ``bouncekit scan``: sources, output formats and error lines."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from as_user import run_cli, unprivileged_user
from bouncekit._cli import main
from bouncekit._scan import iter_messages
from bouncekit.correlate import SQLiteCorrelator

DSN = (
    "From: MAILER-DAEMON@mx.example.org\n"
    "To: bounces@example.com\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\n'
    "\n"
    "--BB\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "\n"
    "Final-Recipient: rfc822; {address}\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
    "\n"
    "--BB\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Message-ID: <{msgid}@example.com>\n"
    "\n"
    "--BB--\n"
)
PLAIN = "From: a@example.com\nTo: b@example.net\nSubject: hello\n\nHi.\n"


def dsn(address: str = "a@example.net", msgid: str = "m1") -> str:
    return DSN.format(address=address, msgid=msgid)


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["scan", *args])
    return status, capsys.readouterr().out


def test_jsonl_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.eml").write_text(dsn())
    status, out = scan(capsys, "--format", "jsonl", str(tmp_path / "one.eml"))
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert record["source"] == str(tmp_path / "one.eml")
    assert record["kind"] == "dsn"
    assert record["format"] == "rfc3464"
    assert record["original_message_id"] == "<m1@example.com>"
    assert record["error"] is None
    assert record["defects"] == []
    (recipient,) = record["recipients"]
    assert recipient["address"] == "a@example.net"
    assert recipient["action"] == "failed"
    assert recipient["status"] == "5.1.1"
    assert recipient["reply_code"] == "550"
    assert recipient["bounce_type"] == "hard"
    assert recipient["reason"] == "user_unknown"
    assert recipient["rule"]


def test_folder_is_read_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.eml").write_text(dsn("a@example.net"))
    (tmp_path / "sub" / "b.eml").write_text(dsn("b@example.net"))
    (tmp_path / "sub" / "c.eml").write_text(PLAIN)
    _, out = scan(capsys, "--format", "jsonl", str(tmp_path))
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["source"]).name for r in records] == ["a.eml", "b.eml", "c.eml"]
    assert [r["kind"] for r in records] == ["dsn", "dsn", "not_bounce"]
    assert records[2]["recipients"] == []


def test_mbox_messages_numbered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = tmp_path / "bounces.mbox"
    box.write_text(
        "From MAILER-DAEMON Tue Mar  5 10:00:00 2024\n" + dsn("a@example.net", "m1") + "\n"
        "From MAILER-DAEMON Tue Mar  5 10:00:01 2024\n" + dsn("b@example.net", "m2") + "\n"
    )
    _, out = scan(capsys, "--format", "jsonl", str(box))
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in records] == [f"{box}#0", f"{box}#1"]
    assert [r["recipients"][0]["address"] for r in records] == ["a@example.net", "b@example.net"]
    assert [r["original_message_id"] for r in records] == ["<m1@example.com>", "<m2@example.com>"]


def test_maildir_new_and_cur(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "box" / sub).mkdir(parents=True)
    (tmp_path / "box" / "new" / "1.host").write_text(dsn("new@example.net"))
    (tmp_path / "box" / "cur" / "2.host:2,S").write_text(dsn("cur@example.net"))
    (tmp_path / "box" / "tmp" / "3.host").write_text(dsn("tmp@example.net"))
    _, out = scan(capsys, "--format", "jsonl", str(tmp_path))
    addresses = [json.loads(line)["recipients"][0]["address"] for line in out.splitlines()]
    assert addresses == ["new@example.net", "cur@example.net"]


def test_empty_file_gives_no_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").write_bytes(b"")
    status, out = scan(capsys, "--format", "jsonl", str(tmp_path / "empty"))
    assert status == 0
    assert out == ""


def test_missing_path_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.eml").write_text(dsn())
    status, out = scan(
        capsys, "--format", "jsonl", str(tmp_path / "missing.eml"), str(tmp_path / "ok.eml")
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert len(records) == 2
    assert "no such file or folder" in records[0]["error"]
    assert records[0]["recipients"] == []
    assert records[1]["error"] is None


def test_csv_one_row_per_recipient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    (tmp_path / "b.eml").write_text(PLAIN)
    _, out = scan(capsys, "--format", "csv", str(tmp_path))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["address"] for row in rows] == ["a@example.net", ""]
    assert rows[0]["status"] == "5.1.1"
    assert rows[1]["kind"] == "not_bounce"


def test_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    _, out = scan(capsys, "--format", "table", str(tmp_path))
    header, row = out.splitlines()
    assert header.split() == ["source", "kind", "format", "address", "status", "type", "reason"]
    assert "a@example.net" in row
    assert "user_unknown" in row


def test_module_entry_point(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    done = subprocess.run(
        [sys.executable, "-m", "bouncekit", "scan", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["recipients"][0]["address"] == "a@example.net"
    assert done.stderr == ""


def test_usage_error_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["scan"])
    assert stopped.value.code == 2
    assert "PATH" in capsys.readouterr().err


def test_table_error_not_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / ("a-rather-long-folder-name-" * 3) / "missing.eml"
    status, out = scan(capsys, "--format", "table", str(missing))
    assert status == 1
    assert f"error: no such file or folder: {str(missing)!r}" in out


def test_table_source_keeps_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / ("deep-folder-" * 4)
    folder.mkdir()
    (folder / "message-0042.eml").write_text(dsn())
    _, out = scan(capsys, "--format", "table", str(folder))
    row = out.splitlines()[1]
    assert row.startswith("…")
    assert "message-0042.eml" in row


def test_error_summary_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", "--format", "jsonl", str(tmp_path / "missing.eml")])
    assert "1 record has an error" in capsys.readouterr().err


def test_correlate_needs_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "ids.sqlite"
    SQLiteCorrelator(store).close()
    (tmp_path / "a.eml").write_text(dsn())
    status = main(
        ["scan", "--format", "csv", "--correlate", f"sqlite:{store}", str(tmp_path / "a.eml")]
    )
    assert status == 2
    assert "add --format jsonl" in capsys.readouterr().err


def test_stdin_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bouncekit", "scan", "--format", "jsonl", "-"],
        input=dsn().encode(),
        capture_output=True,
        check=True,
    )
    record = json.loads(done.stdout)
    assert record["source"] == "<stdin>"
    assert record["recipients"][0]["address"] == "a@example.net"


def test_stdin_mbox() -> None:
    data = (
        "From MAILER-DAEMON Tue Mar  5 10:00:00 2024\n" + dsn("a@example.net") + "\n"
        "From MAILER-DAEMON Tue Mar  5 10:00:01 2024\n" + dsn("b@example.net") + "\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "bouncekit", "scan", "--format", "jsonl", "-"],
        input=data.encode(),
        capture_output=True,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [record["source"] for record in records] == ["<stdin>#0", "<stdin>#1"]


def test_locked_folder_error_record(shared_tmp: Path) -> None:
    (shared_tmp / "a.eml").write_text(dsn("a@example.net"))
    locked = shared_tmp / "locked"
    locked.mkdir()
    (locked / "b.eml").write_text(dsn("b@example.net"))
    (shared_tmp / "z.eml").write_text(dsn("z@example.net"))
    locked.chmod(0)
    done = run_cli("scan", "--format", "jsonl", str(shared_tmp), user=unprivileged_user())
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert [r["source"] for r in records] == [
        str(shared_tmp / "a.eml"),
        str(shared_tmp / "z.eml"),
        str(locked),
    ]
    assert records[2]["error"] == f"cannot read {str(locked)!r}: Permission denied"
    assert records[0]["error"] is None
    assert records[1]["error"] is None
    assert "cannot write the output" not in done.stderr


def test_locked_folder_given_directly(shared_tmp: Path) -> None:
    locked = shared_tmp / "locked"
    locked.mkdir()
    (locked / "b.eml").write_text(dsn("b@example.net"))
    locked.chmod(0)
    done = run_cli("scan", "--format", "jsonl", str(locked), user=unprivileged_user())
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert record["error"] == f"cannot read {str(locked)!r}: Permission denied"


def test_locked_maildir_new(shared_tmp: Path) -> None:
    box = shared_tmp / "md"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1.host").write_text(dsn("new@example.net"))
    (box / "cur" / "2.host:2,S").write_text(dsn("cur@example.net"))
    (box / "new").chmod(0)
    done = run_cli("scan", "--format", "jsonl", str(box), user=unprivileged_user())
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert records[0]["error"] == f"cannot read {str(box / 'new')!r}: Permission denied"
    assert records[1]["recipients"][0]["address"] == "cur@example.net"


def test_locked_file_error_record(shared_tmp: Path) -> None:
    (shared_tmp / "a.eml").write_text(dsn())
    (shared_tmp / "b.eml").write_text(dsn())
    (shared_tmp / "b.eml").chmod(0)
    done = run_cli("explain", str(shared_tmp), user=unprivileged_user())
    assert done.returncode == 2
    assert f"cannot read {str(shared_tmp / 'b.eml')!r}: Permission denied" in done.stderr
    assert "a.eml: dsn" in done.stdout


def test_folder_replaced_while_reading(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_text(dsn("a@example.net"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.eml").write_text(dsn("b@example.net"))
    items = iter_messages(tmp_path)
    first = next(items)
    shutil.rmtree(tmp_path / "sub")
    (tmp_path / "sub").write_text("now a file")
    rest = list(items)
    assert first.source == str(tmp_path / "a.eml")
    assert [item.source for item in rest] == [str(tmp_path / "sub")]
    assert rest[0].error == f"cannot read {str(tmp_path / 'sub')!r}: Not a directory"


def test_maildir_cur_replaced(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1.host").write_text(dsn("new@example.net"))
    (tmp_path / "cur" / "2.host:2,S").write_text(dsn("cur@example.net"))
    items = iter_messages(tmp_path)
    first = next(items)
    shutil.rmtree(tmp_path / "cur")
    (tmp_path / "cur").write_text("now a file")
    rest = list(items)
    assert first.data is not None
    assert [item.error for item in rest] == [
        f"cannot read {str(tmp_path / 'cur')!r}: Not a directory"
    ]


def test_fifo_in_folder_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    os.mkfifo(tmp_path / "pipe")
    status, out = scan(capsys, "--format", "jsonl", str(tmp_path))
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert records[0]["error"] is None
    assert records[1]["error"] == f"cannot read {str(tmp_path / 'pipe')!r}: not a regular file"


def test_path_under_file_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    status, out = scan(capsys, "--format", "jsonl", str(tmp_path / "a.eml" / "x"))
    [record] = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert record["error"] == f"no such file or folder: {str(tmp_path / 'a.eml' / 'x')!r}"


def test_full_output_reported(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    (tmp_path / "a.eml").write_text(dsn())
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "bouncekit", "scan", "--format", "jsonl", str(tmp_path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("bouncekit: cannot write the output: [Errno 28]")


ARF = (
    "From: abuse@isp.example\n"
    "To: fbl@example.com\n"
    "Subject: complaint\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=feedback-report; boundary="XX"\n'
    "\n"
    "--XX\n"
    "Content-Type: text/plain\n"
    "\n"
    "This is an abuse report.\n"
    "\n"
    "--XX\n"
    "Content-Type: message/feedback-report\n"
    "\n"
    "Feedback-Type: abuse\n"
    "User-Agent: test/1.0\n"
    "Version: 1\n"
    "Original-Rcpt-To: c@example.net\n"
    "\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: news@example.com\n"
    "To: c@example.net\n"
    "Message-ID: <m9@example.com>\n"
    "Subject: News\n"
    "\n"
    "Hi.\n"
    "--XX--\n"
)


def test_csv_added_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(ARF)
    (tmp_path / "b.eml").write_text("garbage")
    (tmp_path / "c.eml").write_text(dsn())
    _, out = scan(capsys, "--format", "csv", str(tmp_path))
    header = out.splitlines()[0].split(",")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert header[:13] == [
        "source",
        "kind",
        "format",
        "original_message_id",
        "address",
        "action",
        "status",
        "reply_code",
        "bounce_type",
        "reason",
        "rule",
        "diagnostic",
        "error",
    ]
    assert header[13:] == ["command", "remote_mta", "feedback_type", "defects"]
    assert rows[0]["feedback_type"] == "abuse"
    assert rows[1]["defects"].startswith("not-a-message: ")
    assert rows[2]["remote_mta"] == ""
    assert rows[2]["defects"] == ""


def test_csv_command_column(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "user-unknown.eml"
    _, out = scan(capsys, "--format", "csv", str(example))
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["command"] == "RCPT"
    assert row["remote_mta"] == "mx.example.org"


def test_empty_folder_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "box" / "cur").mkdir(parents=True)
    status = main(["scan", "--format", "jsonl", str(tmp_path / "box")])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out == ""
    assert captured.err == f"bouncekit: {str(tmp_path / 'box')!r} contains no message\n"


def test_correlate_folder_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_text(dsn())
    status = main(["scan", "--correlate", f"sqlite:{tmp_path}", str(tmp_path / "a.eml")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.startswith(f"bouncekit: --correlate {str(tmp_path)!r} is a folder;")


def two_message_mbox(path: Path) -> Path:
    path.write_text(
        "From MAILER-DAEMON Tue Mar  5 10:00:00 2024\n" + dsn("a@example.net", "m1") + "\n"
        "From MAILER-DAEMON Tue Mar  5 10:00:01 2024\n" + dsn("b@example.net", "m2") + "\n"
    )
    return path


def test_scan_mbox_message_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = two_message_mbox(tmp_path / "bounces.mbox")
    status, out = scan(capsys, "--format", "jsonl", f"{box}#1")
    [record] = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert record["source"] == f"{box}#1"
    assert record["recipients"][0]["address"] == "b@example.net"


def test_scan_message_number_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = two_message_mbox(tmp_path / "bounces.mbox")
    status, out = scan(capsys, "--format", "jsonl", f"{box}#2")
    [record] = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert record["error"] == (
        f"{str(box)!r} has no message 2: it contains 2 messages, numbered from 0"
    )


def test_explain_single_file_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.eml").write_text(dsn())
    status = main(["explain", f"{tmp_path / 'one.eml'}#0"])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.startswith(f"{tmp_path / 'one.eml'}#0: dsn (rfc3464), 1 recipient(s)\n")


def test_explain_single_file_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.eml").write_text(dsn())
    status = main(["explain", f"{tmp_path / 'one.eml'}#1"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == (
        f"bouncekit: {str(tmp_path / 'one.eml')!r} has no message 1: "
        "it contains 1 message, numbered from 0\n"
    )


def test_file_named_with_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml#3").write_text(dsn())
    status, out = scan(capsys, "--format", "jsonl", str(tmp_path / "a.eml#3"))
    [record] = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert record["source"] == str(tmp_path / "a.eml#3")


def test_non_utf8_name_jsonl(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    with open(folder + b"/caf\xe9.eml", "w") as message:
        message.write(dsn())
    done = subprocess.run(
        [sys.executable, "-m", "bouncekit", "scan", "--format", "jsonl", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    record = json.loads(done.stdout.decode("utf-8"))
    assert done.returncode == 0
    assert record["source"] == f"{tmp_path}/caf\\xe9.eml"


def test_non_utf8_name_csv(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    with open(folder + b"/caf\xe9.eml", "w") as message:
        message.write(dsn())
    done = subprocess.run(
        [sys.executable, "-m", "bouncekit", "scan", "--format", "csv", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    [row] = list(csv.DictReader(io.StringIO(done.stdout.decode("utf-8"))))
    assert row["source"] == f"{tmp_path}/caf\\xe9.eml"


def test_library_warning_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def scan_that_warns(args: object) -> int:
        logging.getLogger("bouncekit._mailbox").warning("unique-id 'a' is shared")
        return 0

    monkeypatch.setattr("bouncekit._cli._scan", scan_that_warns)
    status = main(["scan", str(tmp_path)])
    assert status == 0
    assert capsys.readouterr().err == "bouncekit: warning: unique-id 'a' is shared\n"
    assert not logging.getLogger("bouncekit").handlers[1:]


def test_non_ascii_digit_not_message_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.eml").write_text("From: a@example.org\nSubject: x\n\nhello\n")
    for suffix in ("\u00b2", "\u0661"):
        status, out = scan(capsys, "--format", "jsonl", str(tmp_path / f"m.eml#{suffix}"))
        [record] = [json.loads(line) for line in out.splitlines()]
        assert status == 1
        assert record["error"].startswith("no such file or folder")
