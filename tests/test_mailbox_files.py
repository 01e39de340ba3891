"""The Maildir, mbox and in-memory mailboxes: same contract as POP3."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from bouncekit import parse
from bouncekit.mailbox import (
    CommitResult,
    Mailbox,
    MailboxError,
    MaildirMailbox,
    MarksLostWarning,
    MboxMailbox,
    MemoryMailbox,
)
from synthetic_bounces import make_bounce, original_message_id


def make_maildir(root: Path, count: int) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(1, count + 1):
        folder = "new" if n % 2 else "cur"
        suffix = ":2,S" if folder == "cur" else ""
        (root / folder / f"1700000000.M{n}.host{suffix}").write_bytes(make_bounce(n))
    return root


def make_mbox(path: Path, count: int) -> Path:
    with path.open("wb") as out:
        for n in range(1, count + 1):
            out.write(b"From MAILER-DAEMON Fri Dec  4 10:00:00 2026\n")
            out.write(make_bounce(n).replace(b"\r\n", b"\n") + b"\n")
    return path


def test_memory_satisfies_protocol() -> None:
    assert isinstance(MemoryMailbox(), Mailbox)


def test_maildir_ids_drop_flags(tmp_path: Path) -> None:
    box = MaildirMailbox(make_maildir(tmp_path / "bounces", 3))
    uids = [info.uid for info in box.list_messages()]
    assert uids == ["1700000000.M1.host", "1700000000.M3.host", "1700000000.M2.host"]


def test_maildir_commit_deletes_marked(tmp_path: Path) -> None:
    box = MaildirMailbox(make_maildir(tmp_path / "bounces", 3))
    box.mark_deleted("1700000000.M2.host")
    result = box.commit()
    assert result.deleted == {"1700000000.M2.host"}
    assert [info.uid for info in box.list_messages()] == [
        "1700000000.M1.host",
        "1700000000.M3.host",
    ]


def test_maildir_exception_keeps_mail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    maildir = make_maildir(tmp_path / "bounces", 3)

    def fail_after_marking() -> None:
        with MaildirMailbox(maildir) as box:
            for item in box.iter_messages():
                box.mark_deleted(item.uid)
            raise OSError("the database is down")

    with caplog.at_level(logging.WARNING), pytest.raises(OSError, match="database") as caught:
        fail_after_marking()
    assert len(MaildirMailbox(maildir).list_messages()) == 3
    assert "3 mark(s) lost" in caught.value.__notes__[0]
    assert "3 mark(s) lost" in caplog.text


def test_maildir_vanished_file_reported(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "bounces", 3)
    items = MaildirMailbox(maildir).iter_messages()
    first = next(items)
    # Another program removes a listed message while the loop runs.
    (maildir / "cur" / "1700000000.M2.host:2,S").unlink()
    rest = list(items)
    assert first.data == make_bounce(1)
    assert [item.uid for item in rest] == ["1700000000.M3.host", "1700000000.M2.host"]
    assert rest[0].data == make_bounce(3)
    assert rest[1].data is None
    assert "no message with unique-id '1700000000.M2.host'" in (rest[1].error or "")


def test_maildir_headers_only(tmp_path: Path) -> None:
    box = MaildirMailbox(make_maildir(tmp_path / "bounces", 1))
    head = box.fetch("1700000000.M1.host", headers_only=True)
    assert head.endswith(b"\r\n\r\n")
    assert b"Final-Recipient" not in head


def test_not_a_maildir(tmp_path: Path) -> None:
    with pytest.raises(MailboxError, match="not a Maildir"):
        MaildirMailbox(tmp_path)


def test_mbox_read_and_delete(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 3)
    box = MboxMailbox(path)
    items = list(box.iter_messages())
    ids = [parse(item.data or b"").original_message_id for item in items]
    box.mark_deleted(items[0].uid)
    box.commit()
    box.close()
    remaining = [
        parse(item.data or b"").original_message_id for item in MboxMailbox(path).iter_messages()
    ]
    assert ids == [original_message_id(n) for n in (1, 2, 3)]
    assert remaining == [original_message_id(n) for n in (2, 3)]


def test_memory_mark_unknown_id() -> None:
    box = MemoryMailbox([b"Subject: one\r\n\r\n"])
    with pytest.raises(MailboxError, match="no message with unique-id 'nine'"):
        box.mark_deleted("nine")


def test_memory_close_returns_marks() -> None:
    box = MemoryMailbox({"a": b"Subject: a\r\n\r\n", "b": b"Subject: b\r\n\r\n"})
    box.mark_deleted("b")
    lost = box.close()
    assert lost == {"b"}
    assert list(box.messages) == ["a", "b"]


def test_memory_iteration_skips_marked() -> None:
    box = MemoryMailbox({"a": b"A", "b": b"B", "c": b"C"})
    box.mark_deleted("b")
    assert [item.uid for item in box.iter_messages()] == ["a", "c"]
    assert [item.uid for item in box.iter_messages(uids=["c"])] == ["c"]


def test_mbox_ids_stable_across_commits(tmp_path: Path) -> None:
    """Deleting in batches removes exactly the messages marked, because ids do not shift."""
    path = make_mbox(tmp_path / "bounces.mbox", 6)
    box = MboxMailbox(path)
    items = list(box.iter_messages())
    for count, item in enumerate(items[:3], 1):
        box.mark_deleted(item.uid)
        if count % 2 == 0:
            box.commit()
    box.commit()
    box.close()
    remaining = [
        parse(item.data or b"").original_message_id for item in MboxMailbox(path).iter_messages()
    ]
    assert remaining == [original_message_id(n) for n in (4, 5, 6)]


def test_mbox_failed_commit_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit whose file write fails deletes nothing, then or at close, and can be retried."""
    path = make_mbox(tmp_path / "bounces.mbox", 3)
    box = MboxMailbox(path)
    items = list(box.iter_messages())
    box.mark_deleted(items[0].uid)

    def full_disk(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    # The standard library's mbox writes a new file and renames it over the old one.
    with monkeypatch.context() as patch:
        patch.setattr(os, "rename", full_disk)
        with pytest.raises(MailboxError, match="nothing was deleted"):
            box.commit()
    untouched = [
        parse(item.data or b"").original_message_id for item in MboxMailbox(path).iter_messages()
    ]
    assert untouched == [original_message_id(n) for n in (1, 2, 3)]
    assert box.marked == frozenset({items[0].uid})
    assert [entry.name for entry in tmp_path.iterdir()] == ["bounces.mbox"]

    box.commit()
    box.close()
    remaining = [
        parse(item.data or b"").original_message_id for item in MboxMailbox(path).iter_messages()
    ]
    assert remaining == [original_message_id(n) for n in (2, 3)]


def test_mbox_identical_copies_get_own_ids(tmp_path: Path) -> None:
    path = tmp_path / "copies.mbox"
    one = b"From a@example.org Tue Mar  5 10:00:00 2024\nSubject: same\n\nbody\n\n"
    path.write_bytes(one * 3)
    uids = [info.uid for info in MboxMailbox(path).list_messages()]
    assert len(set(uids)) == 3
    assert uids[1] == f"{uids[0]}.2"


def test_maildir_name_too_long(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 300)
    with pytest.raises(MailboxError) as caught:
        MaildirMailbox(path)
    assert str(caught.value) == (
        f"cannot open Maildir {str(path)!r}: cannot read {str(path / 'cur')!r}: File name too long"
    )


def test_maildir_unreadable_new(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "bounces", 3)
    box = MaildirMailbox(maildir)
    # Any failure to read the folder (no permission, or no folder any more) is reported alike.
    (maildir / "new").rename(tmp_path / "moved")
    (maildir / "new").write_bytes(b"")
    with pytest.raises(MailboxError) as caught:
        box.list_messages()
    assert str(caught.value) == (
        f"cannot read folder {str(maildir / 'new')!r} of Maildir {str(maildir)!r}: Not a directory"
    )
    with pytest.raises(MailboxError, match="cannot read folder"):
        next(box.iter_messages())


def test_maildir_folder_replaces_message(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "bounces", 2)
    box = MaildirMailbox(maildir)
    items = box.iter_messages()
    first = next(items)
    # Another program puts a folder where the second message was.
    (maildir / "cur" / "1700000000.M2.host:2,S").unlink()
    (maildir / "cur" / "1700000000.M2.host:2,S").mkdir()
    second = next(items)
    expected = (
        "cannot read message '1700000000.M2.host' from "
        f"{str(maildir / 'cur' / '1700000000.M2.host:2,S')!r}: Is a directory"
    )
    assert first.data == make_bounce(1)
    assert second.data is None
    assert second.error == expected
    with pytest.raises(MailboxError) as caught:
        box.fetch("1700000000.M2.host")
    assert str(caught.value) == expected


def test_mbox_name_too_long(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 300)
    with pytest.raises(MailboxError) as caught:
        MboxMailbox(path)
    assert str(caught.value) == f"cannot open mbox {str(path)!r}: File name too long"


def test_mbox_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(MailboxError) as caught:
        MboxMailbox(tmp_path)
    assert str(caught.value) == (
        f"{str(tmp_path)!r} is a folder, not an mbox file; open a Maildir with MaildirMailbox"
    )


def test_mbox_commit_file_gone(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 3)
    box = MboxMailbox(path)
    uid = box.list_messages()[0].uid
    box.mark_deleted(uid)
    path.unlink()
    with pytest.raises(MailboxError) as caught:
        box.commit()
    assert str(caught.value) == (
        f"mbox {str(path)!r}: deleting 1 message(s) failed, nothing was deleted: "
        "the file no longer exists"
    )
    assert box.marked == frozenset({uid})


def test_mbox_commit_folder_in_place(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 3)
    box = MboxMailbox(path)
    uid = box.list_messages()[0].uid
    box.mark_deleted(uid)
    path.rename(tmp_path / "moved.mbox")
    path.mkdir()
    with pytest.raises(MailboxError) as caught:
        box.commit()
    assert str(caught.value) == (
        f"mbox {str(path)!r}: deleting 1 message(s) failed, nothing was deleted: Is a directory"
    )
    assert len(MboxMailbox(tmp_path / "moved.mbox").list_messages()) == 3


def closed_message(box: Mailbox, where: str) -> str:
    return f"{where} is closed; create a new {type(box).__name__} to read it again"


CLOSED_CALLS = {
    "list_messages": lambda box, uid: box.list_messages(),
    "fetch": lambda box, uid: box.fetch(uid),
    "iter_messages": lambda box, uid: next(box.iter_messages()),
    "mark_deleted": lambda box, uid: box.mark_deleted(uid),
    "commit": lambda box, uid: box.commit(),
}


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
def test_mbox_closed_use(tmp_path: Path, call: Callable[[Mailbox, str], object]) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 2)
    box = MboxMailbox(path)
    uid = box.list_messages()[0].uid
    box.close()
    with pytest.raises(MailboxError) as caught:
        call(box, uid)
    assert str(caught.value) == closed_message(box, f"mbox {str(path)!r}")


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
def test_maildir_closed_use(tmp_path: Path, call: Callable[[Mailbox, str], object]) -> None:
    maildir = make_maildir(tmp_path / "bounces", 2)
    with MaildirMailbox(maildir) as box:
        uid = box.list_messages()[0].uid
    with pytest.raises(MailboxError) as caught:
        call(box, uid)
    assert str(caught.value) == closed_message(box, f"Maildir {str(maildir)!r}")


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
def test_memory_closed_use(call: Callable[[Mailbox, str], object]) -> None:
    box = MemoryMailbox([b"Subject: one\r\n\r\n"])
    box.close()
    with pytest.raises(MailboxError) as caught:
        call(box, "0")
    assert str(caught.value) == closed_message(box, "memory mailbox")


def test_close_twice_returns_nothing() -> None:
    box = MemoryMailbox([b"Subject: one\r\n\r\n"])
    box.mark_deleted("0")
    first = box.close()
    second = box.close()
    assert first == {"0"}
    assert second == frozenset()


def test_close_inside_loop_stops_it(tmp_path: Path) -> None:
    box = MboxMailbox(make_mbox(tmp_path / "bounces.mbox", 3))
    items = box.iter_messages()
    first = next(items)
    box.close()
    with pytest.raises(MailboxError, match="is closed"):
        next(items)
    assert parse(first.data or b"").original_message_id == original_message_id(1)


def test_mbox_empty_commit_no_file_access(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 2)
    box = MboxMailbox(path)
    box.list_messages()
    # With nothing marked, commit() does not open the file, so a file it cannot open is no error.
    path.rename(tmp_path / "moved.mbox")
    path.mkdir()
    result = box.commit()
    assert result == CommitResult()
    assert [entry.name for entry in sorted(tmp_path.iterdir())] == ["bounces.mbox", "moved.mbox"]


def test_maildir_empty_commit_no_listing(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "bounces", 2)
    box = MaildirMailbox(maildir)
    (maildir / "new").rename(tmp_path / "moved")
    result = box.commit()
    assert result == CommitResult()


@pytest.mark.parametrize(
    "content",
    [make_bounce(1), b"\xf9\x00\x13garbage", b"\nFrom MAILER-DAEMON Fri Dec  4 10:00:00 2026\n"],
    ids=["message", "binary", "blank-line-first"],
)
def test_mbox_not_mbox_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "user-unknown.eml"
    path.write_bytes(content)
    with pytest.raises(MailboxError) as caught:
        MboxMailbox(path)
    assert str(caught.value) == (
        f"{str(path)!r} is not an mbox file: it does not start with a 'From ' line; "
        "read a single message with bouncekit.parse"
    )


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n"], ids=["empty", "white-space"])
def test_mbox_empty_file_accepted(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.mbox"
    path.write_bytes(content)
    assert MboxMailbox(path).list_messages() == []


@pytest.mark.parametrize("messages", ["abc", b"raw message bytes"], ids=["str", "bytes"])
def test_memory_rejects_single_message(messages: str | bytes) -> None:
    with pytest.raises(TypeError) as caught:
        MemoryMailbox(messages)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "MemoryMailbox takes a list or mapping of messages, not a single "
        f"{type(messages).__name__}; pass [message] for one message"
    )


def test_memory_rejects_text_message() -> None:
    with pytest.raises(TypeError) as caught:
        MemoryMailbox([b"Subject: one\r\n\r\n", "Subject: two\r\n\r\n"])  # type: ignore[list-item]
    assert str(caught.value) == (
        "MemoryMailbox message '1' is of type str, not bytes; "
        "pass the raw message, for example text.encode()"
    )


def test_memory_rejects_int_uid() -> None:
    with pytest.raises(TypeError) as caught:
        MemoryMailbox({7: b"Subject: seven\r\n\r\n"})  # type: ignore[dict-item]
    assert str(caught.value) == "MemoryMailbox unique-id 7 is of type int, not str"


def mark_one_and_leave(box: Mailbox) -> None:
    """Mark the first message and leave the with block without commit(), as a forgetful caller."""
    with box:
        box.mark_deleted(box.list_messages()[0].uid)


def test_normal_exit_warns_marks_lost(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    maildir = make_maildir(tmp_path / "bounces", 3)
    with caplog.at_level(logging.WARNING), pytest.warns(MarksLostWarning) as caught:
        mark_one_and_leave(MaildirMailbox(maildir))
    assert [str(warning.message) for warning in caught] == [
        f"Maildir {str(maildir)!r} left its with block without commit(): 1 mark(s) lost, "
        "nothing deleted; call commit() inside the block to delete the marked messages"
    ]
    # The warning points at the caller's with statement, not at bouncekit.
    assert caught[0].filename == __file__
    assert "1 mark(s) lost" in caplog.text
    assert len(MaildirMailbox(maildir).list_messages()) == 3


def test_commit_exit_no_warning(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with MboxMailbox(path) as box:
            box.mark_deleted(box.list_messages()[0].uid)
            box.commit()
    assert [warning.category for warning in caught] == []


def test_exception_exit_note_not_warning() -> None:
    def mark_then_fail() -> None:
        with MemoryMailbox([b"Subject: one\r\n\r\n"]) as box:
            box.mark_deleted("0")
            raise KeyError("the store failed")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KeyError) as raised:
            mark_then_fail()
    assert [warning.category for warning in caught] == []
    assert raised.value.__notes__ == [
        "bouncekit: memory mailbox was not committed; 1 mark(s) lost, nothing deleted: 0"
    ]


def test_maildir_repr(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "bounces", 2)
    box = MaildirMailbox(maildir)
    opened = repr(box)
    box.mark_deleted("1700000000.M1.host")
    marked = repr(box)
    box.close()
    assert opened == f"MaildirMailbox({str(maildir)!r})"
    assert marked == f"MaildirMailbox({str(maildir)!r}, 1 marked)"
    assert repr(box) == f"MaildirMailbox({str(maildir)!r}, closed)"


def test_mbox_repr(tmp_path: Path) -> None:
    path = make_mbox(tmp_path / "bounces.mbox", 2)
    with MboxMailbox(path) as box:
        opened = repr(box)
    assert opened == f"MboxMailbox({str(path)!r})"
    assert repr(box) == f"MboxMailbox({str(path)!r}, closed)"


def test_memory_repr() -> None:
    box = MemoryMailbox({"a": b"A", "b": b"B", "c": b"C"})
    box.mark_deleted("a")
    box.mark_deleted("c")
    assert repr(box) == "MemoryMailbox(3 messages, 2 marked)"
    assert repr(MemoryMailbox([b"A"])) == "MemoryMailbox(1 message)"
