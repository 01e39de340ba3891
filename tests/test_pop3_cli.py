"""
Tests for the POP3 options of ``bouncekit scan``: ``--keep-seen``, the password
prompt, ``--auth``, ``--timeout`` and the usage errors, against the private
Dovecot server or the scripted fake server, both on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from as_user import run_cli, unprivileged_user
from bouncekit import _cli
from bouncekit._pop3_scan import Pop3Target
from bouncekit._seen_ids import HEADER
from dovecot_server import HOST, OAUTH_TOKEN, OAUTH_USER, PASSWORD, DovecotServer
from synthetic_bounces import make_bounce, original_message_id

# Nothing listens on port 1 of 127.0.0.1, so a scan that connected would give an error record.
UNUSED_URL = f"pop3s://bounces@{HOST}:1"


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    """Return a new user whose mailbox contains bounces 1 to 3."""
    name = dovecot.add_user()
    dovecot.deliver(name, (make_bounce(n) for n in range(1, 4)))
    return name


def url_of(dovecot: DovecotServer, user: str) -> str:
    return f"pop3s://{user}@{HOST}:{dovecot.pop3s_port}"


def scan(
    dovecot: DovecotServer, urls: list[str], *options: str, password: str = PASSWORD
) -> tuple[int, list[dict[str, object]]]:
    """Run ``bouncekit scan`` on *urls* and return the exit status and the JSON records."""
    argv = ["scan", *urls, "--format", "jsonl", "--ca-file", str(dovecot.ca_file), *options]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOUNCEKIT_POP3_PASSWORD", password)
        out = StringIO()
        patch.setattr("sys.stdout", out)
        status = _cli.main(argv)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = _cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_seen_file_two_mailboxes(dovecot: DovecotServer, tmp_path: Path) -> None:
    first, second = dovecot.add_user(), dovecot.add_user()
    dovecot.deliver(first, (make_bounce(n) for n in range(1, 4)))
    dovecot.deliver(second, [make_bounce(4)])
    seen = str(tmp_path / "seen.txt")
    urls = [url_of(dovecot, first), url_of(dovecot, second)]
    status, records = scan(dovecot, urls, "--keep-seen", seen)
    again_status, again = scan(dovecot, urls, "--keep-seen", seen)
    lines = Path(seen).read_text("utf-8").splitlines()
    assert status == 0
    assert len(records) == 4
    assert again_status == 0
    assert again == []
    assert lines[0] == HEADER
    assert sum(line.startswith(f"{first}@{HOST}:{dovecot.pop3s_port}\t") for line in lines) == 3
    assert sum(line.startswith(f"{second}@{HOST}:{dovecot.pop3s_port}\t") for line in lines) == 1


def test_seen_file_keeps_other_mailbox(dovecot: DovecotServer, tmp_path: Path) -> None:
    first, second = dovecot.add_user(), dovecot.add_user()
    dovecot.deliver(first, (make_bounce(n) for n in range(1, 3)))
    dovecot.deliver(second, [make_bounce(3)])
    seen = str(tmp_path / "seen.txt")
    scan(dovecot, [url_of(dovecot, first)], "--keep-seen", seen)
    scan(dovecot, [url_of(dovecot, second)], "--keep-seen", seen)
    dovecot.deliver(first, [make_bounce(4)])
    _, records = scan(dovecot, [url_of(dovecot, first)], "--keep-seen", seen)
    assert [record["original_message_id"] for record in records] == [original_message_id(4)]


def test_seen_file_drops_deleted_ids(dovecot: DovecotServer, user: str, tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    scan(dovecot, [url_of(dovecot, user)], "--keep-seen", str(seen), "--delete")
    scan(dovecot, [url_of(dovecot, user)], "--keep-seen", str(seen))
    assert seen.read_text("utf-8").splitlines() == [HEADER]


def test_seen_file_save_fails(
    dovecot: DovecotServer, user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = tmp_path / "seen.txt"
    # A folder where the lock file goes makes the save fail after the scan.
    (tmp_path / "seen.txt.lock").mkdir()
    status, records = scan(dovecot, [url_of(dovecot, user)], "--keep-seen", str(seen))
    err = capsys.readouterr().err
    assert status == 1
    assert len(records) == 3
    assert err == (
        f"bouncekit: cannot write --keep-seen file {str(seen)!r}: Is a directory; "
        "the messages of this run will be reported again\n"
    )
    assert not seen.exists()


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"# Notes\n\nSome text.\n", "its first line is not"),
        (b"000000016b133024\n000000026b133024\n", "its first line is not"),
        (HEADER.encode() + b"\nno tab here\n", "line 2 is not USER@HOST:PORT"),
        (b"caf\xe9\n", "it is not UTF-8 text"),
    ],
)
def test_seen_file_foreign_rejected(
    content: bytes,
    detail: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    monkeypatch.chdir(tmp_path)
    Path("notes.md").write_bytes(content)
    status, out, err = run(["scan", UNUSED_URL, "--keep-seen", "notes.md"], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith(
        "bouncekit: 'notes.md' is not a bouncekit seen-ids file; pass a new path to --keep-seen"
    )
    assert detail in err
    assert Path("notes.md").read_bytes() == content


def test_seen_file_is_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    status, out, err = run(["scan", UNUSED_URL, "--keep-seen", str(tmp_path)], capsys)
    assert status == 2
    assert out == ""
    assert err == f"bouncekit: cannot use --keep-seen {str(tmp_path)!r}: it is a folder; " + (
        "give the path of a file\n"
    )


def test_seen_file_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    path = str(tmp_path / "missing" / "seen.txt")
    status, out, err = run(["scan", UNUSED_URL, "--keep-seen", path], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith(f"bouncekit: cannot write --keep-seen file {path!r}: the folder")
    assert ".tmp" not in err


def test_seen_file_folder_is_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    (tmp_path / "plain").write_text("a file")
    path = str(tmp_path / "plain" / "seen.txt")
    status, _, err = run(["scan", UNUSED_URL, "--keep-seen", path], capsys)
    assert status == 2
    assert "does not exist" in err


@pytest.mark.parametrize(
    "option",
    [
        ["--delete"],
        ["--keep-seen", "seen.txt"],
        ["--starttls"],
        ["--ca-file", "ca.pem"],
        ["--auth", "plain"],
        ["--timeout", "5"],
    ],
)
def test_pop3_option_without_url(
    option: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "md" / sub).mkdir(parents=True)
    (tmp_path / "md" / "new" / "1.host").write_bytes(make_bounce(1))
    status, out, err = run(["scan", "md", *option], capsys)
    assert status == 2
    assert out == ""
    assert err == (
        f"bouncekit: {option[0]} applies only to pop3:// and pop3s:// paths, and no PATH is "
        "one; remove the option\n"
    )
    assert (tmp_path / "md" / "new" / "1.host").exists()
    assert not (tmp_path / "seen.txt").exists()


def test_verp_separator_needs_verp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_bytes(make_bounce(1))
    status, out, err = run(["scan", str(tmp_path), "--verp-separator", "="], capsys)
    assert status == 2
    assert out == ""
    assert "--verp-separator applies only with --verp" in err


def test_help_mixed_paths(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli.main(["scan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "they apply to the POP3 URLs only" in text
    assert "(default: 60)" in text


def test_pop3_options_with_mixed_paths(dovecot: DovecotServer, user: str, tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "md" / sub).mkdir(parents=True)
    (tmp_path / "md" / "new" / "1.host").write_bytes(make_bounce(9))
    status, records = scan(dovecot, [url_of(dovecot, user), str(tmp_path / "md")], "--delete")
    assert status == 0
    assert len(records) == 4
    assert (tmp_path / "md" / "new" / "1.host").exists()


def run_on_terminal(argv: list[str], typed: bytes) -> tuple[int, str, str]:
    """
    Run the command line with a pseudo-terminal as standard input, and type *typed* at the prompt.

    getpass discards what was typed before the prompt (TCSAFLUSH), so the input
    is written only once the prompt is on standard error.
    """
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "BOUNCEKIT_POP3_PASSWORD"}
    with subprocess.Popen(
        [sys.executable, "-m", "bouncekit", *argv],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    ) as process:
        os.close(terminal)
        assert process.stderr is not None
        err = b""
        while b": " not in err:
            chunk = process.stderr.read1(1024)
            if not chunk:
                break
            err += chunk
        os.write(controller, typed)
        out, rest = process.communicate(timeout=30)
    os.close(controller)
    return process.returncode, out.decode(), (err + rest).decode()


def test_prompt_ctrl_d() -> None:
    status, out, err = run_on_terminal(["scan", "--format", "csv", UNUSED_URL], b"\x04")
    assert status == 2
    assert out == ""
    assert err.endswith(": \nbouncekit: no password given\n")
    assert "Traceback" not in err


def test_prompt_empty_password() -> None:
    status, out, err = run_on_terminal(["scan", "--format", "csv", UNUSED_URL], b"\n")
    assert status == 2
    assert out == ""
    assert err.endswith("bouncekit: empty POP3 password for bounces@127.0.0.1; nothing was read\n")


def test_no_terminal_no_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOUNCEKIT_POP3_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", StringIO(""))
    status, out, err = run(["scan", "--format", "csv", UNUSED_URL], capsys)
    assert status == 2
    assert out == ""
    assert "set BOUNCEKIT_POP3_PASSWORD" in err


def test_no_terminal_empty_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "")
    monkeypatch.setattr("sys.stdin", StringIO(""))
    status, out, err = run(["scan", "--format", "csv", UNUSED_URL], capsys)
    assert status == 2
    assert out == ""
    assert err == (
        "bouncekit: BOUNCEKIT_POP3_PASSWORD is empty; set it to the POP3 password, "
        "or run on a terminal to be prompted\n"
    )


def test_empty_mailbox_note(
    dovecot: DovecotServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = dovecot.add_user()
    url = f"pop3s://{empty}@{HOST}:{dovecot.pop3s_port}"
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
    argv = ["scan", url, "--format", "jsonl", "--ca-file", str(dovecot.ca_file)]
    status, out, err = run(argv, capsys)
    assert status == 0
    assert out == ""
    assert err == f"bouncekit: {url!r} contains no message\n"


def test_mailbox_note_only_when_empty(
    dovecot: DovecotServer,
    user: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
    argv = ["scan", url_of(dovecot, user), "--format", "jsonl", "--ca-file", str(dovecot.ca_file)]
    status, out, err = run(argv, capsys)
    assert status == 0
    assert len(out.splitlines()) == 3
    assert err == ""


def test_timeout_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    # The kernel completes the connection, and the server never reads or sends a byte.
    with socket.create_server((HOST, 0)) as silent:
        url = f"pop3s://bounces@{HOST}:{silent.getsockname()[1]}"
        status, out, _ = run(["scan", "--format", "jsonl", "--timeout", "0.3", url], capsys)
    [record] = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    address = url[len("pop3s://bounces@") :]
    assert record["error"] == f"the TLS handshake with {address} timed out after 0.3 s"


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_timeout_invalid(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        _cli.main(["scan", UNUSED_URL, "--timeout", value])
    assert stopped.value.code == 2
    assert "expected a finite number of seconds greater than 0" in capsys.readouterr().err


def test_auth_xoauth2(dovecot: DovecotServer) -> None:
    url = f"pop3s://{OAUTH_USER}@{HOST}:{dovecot.pop3s_port}"
    status, records = scan(dovecot, [url], "--auth", "xoauth2", password=OAUTH_TOKEN)
    assert status == 0
    assert all(record["error"] is None for record in records)


def test_auth_apop(dovecot: DovecotServer, user: str) -> None:
    status, records = scan(dovecot, [url_of(dovecot, user)], "--auth", "apop")
    assert status == 0
    assert [record["original_message_id"] for record in records] == [
        original_message_id(n) for n in range(1, 4)
    ]


def test_auth_plain(dovecot: DovecotServer, user: str) -> None:
    status, records = scan(dovecot, [url_of(dovecot, user)], "--auth", "plain")
    assert status == 0
    assert len(records) == 3


@pytest.mark.parametrize("scheme", ["imap", "imaps", "https"])
def test_unsupported_scheme(scheme: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["scan", f"{scheme}://bounces@{HOST}:1"], capsys)
    assert status == 2
    assert out == ""
    assert err == (
        f"bouncekit: unsupported scheme {scheme!r}; bouncekit reads pop3:// and pop3s:// "
        "URLs, files and folders\n"
    )


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        (f"pop3s://{HOST}:1", [], "needs a user and a host"),
        (f"pop3s://bounces@{HOST}:1", ["--starttls"], "pop3s:// already uses TLS"),
        (f"pop3://bounces@{HOST}:1", [], "add --starttls"),
    ],
)
def test_url_usage_mistake(
    url: str,
    options: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    status, out, err = run(["scan", "--format", "jsonl", url, *options], capsys)
    assert status == 2
    assert out == ""
    assert message in err


def test_seen_file_unreadable(shared_tmp: Path) -> None:
    seen = shared_tmp / "seen.txt"
    seen.write_text(HEADER + "\n")
    seen.chmod(0)
    done = run_cli(
        "scan",
        UNUSED_URL,
        "--keep-seen",
        str(seen),
        user=unprivileged_user(),
        env={"BOUNCEKIT_POP3_PASSWORD": "x"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"bouncekit: cannot read --keep-seen file {str(seen)!r}: Permission denied\n"
    )


def test_seen_file_folder_read_only(shared_tmp: Path) -> None:
    seen = shared_tmp / "seen.txt"
    done = run_cli(
        "scan",
        UNUSED_URL,
        "--keep-seen",
        str(seen),
        user=unprivileged_user(),
        env={"BOUNCEKIT_POP3_PASSWORD": "x"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"bouncekit: cannot write --keep-seen file {str(seen)!r}: "
        f"no permission to create files in {str(shared_tmp)!r}\n"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("pop3s://bounces@[::1", "has an invalid host: '[' opens an IPv6 address but no ']'"),
        ("pop3s://u@[127.0.0.1]", "brackets are only for IPv6 addresses; write 127.0.0.1"),
        ("pop3s://u@[mail.example.com]", "'mail.example.com' in brackets is not an IPv6"),
        ("pop3s://u@[::1]x", "'x' follows the ']' of the IPv6 address"),
        ("pop3s://u@::1:995", "an IPv6 address must be in brackets"),
        ("pop3s://u@mail]:995", "has an invalid host: it contains ']'"),
        ("pop3s://u@mail example.com", "has an invalid host: it contains ' '"),
        ("pop3s://u@mail.example.com/INBOX", "has a path, query or fragment ('/INBOX')"),
        ("pop3s://u@mail.example.com#2", "has a path, query or fragment ('#2')"),
        ("pop3s://u;AUTH=+APOP@mail.example.com", "remove ';AUTH=...' and use --auth"),
    ],
)
def test_url_malformed(
    url: str, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEKIT_POP3_PASSWORD", "x")
    status, out, err = run(["scan", "--format", "jsonl", url], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith(f"bouncekit: {url!r} ")
    assert problem in err
    assert "Traceback" not in err


def test_url_ipv6_literal() -> None:
    target = Pop3Target.parse("pop3s://bounces@[::1]:21995", starttls=False)
    assert target == Pop3Target("::1", 21995, "bounces", "tls")
    assert target.mailbox == "bounces@[::1]:21995"


def test_url_ipv6_default_port() -> None:
    target = Pop3Target.parse("pop3://bounces@[2001:DB8::25]/", starttls=True)
    assert target == Pop3Target("2001:db8::25", 110, "bounces", "starttls")


def test_url_trailing_slash(dovecot: DovecotServer, user: str) -> None:
    status, records = scan(dovecot, [url_of(dovecot, user) + "/"])
    assert status == 0
    assert len(records) == 3


def test_tls_to_plain_port(dovecot: DovecotServer, user: str) -> None:
    url = f"pop3s://{user}@{HOST}:{dovecot.pop3_port}"
    status, records = scan(dovecot, [url])
    assert status == 1
    assert len(records) == 1
    error = str(records[0]["error"])
    assert error.startswith(f"TLS handshake with {HOST}:{dovecot.pop3_port} failed: ")
    assert "[SSL: WRONG_VERSION_NUMBER]" in error
    assert error.endswith(
        f"; port {dovecot.pop3_port} may be a plain POP3 port: for STLS on it, pass "
        'security="starttls" (CLI: a pop3:// URL with --starttls), or connect to the '
        "implicit TLS port, usually 995"
    )


def test_sources_name_each_mailbox(dovecot: DovecotServer) -> None:
    first, second = dovecot.add_user(), dovecot.add_user()
    dovecot.deliver(first, [make_bounce(1)])
    dovecot.deliver(second, [make_bounce(2)])
    urls = [url_of(dovecot, first), url_of(dovecot, second)]
    status, records = scan(dovecot, urls)
    sources = [str(record["source"]) for record in records]
    assert status == 0
    assert sources[0].startswith(f"pop3s://{first}@{HOST}:{dovecot.pop3s_port}/")
    assert sources[1].startswith(f"pop3s://{second}@{HOST}:{dovecot.pop3s_port}/")
    assert sources[0] != sources[1]


def test_bad_ca_file_before_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOUNCEKIT_POP3_PASSWORD", raising=False)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    status, out, err = run(["scan", "--ca-file", str(not_pem), UNUSED_URL, UNUSED_URL], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith(f"bouncekit: cannot load --ca-file {str(not_pem)!r}: ")
    assert err.count("\n") == 1
