"""The ``--keep-seen`` file when scans that share it overlap."""

from __future__ import annotations

from pathlib import Path

from bouncekit._seen_ids import SeenIds


def test_overlapping_saves_keep_both(tmp_path: Path) -> None:
    name = str(tmp_path / "seen.txt")
    first = SeenIds.load(name)
    second = SeenIds.load(name)
    first.update("a@pop.example.com:995", {"1", "2"}, {"1", "2"})
    second.update("b@pop.example.com:995", {"9"}, {"9"})
    second.save()
    first.save()
    again = SeenIds.load(name)
    assert again.ids("a@pop.example.com:995") == {"1", "2"}
    assert again.ids("b@pop.example.com:995") == {"9"}


def test_save_replaces_own_mailbox_only(tmp_path: Path) -> None:
    name = str(tmp_path / "seen.txt")
    earlier = SeenIds.load(name)
    earlier.update("a@pop.example.com:995", {"1"}, {"1"})
    earlier.update("b@pop.example.com:995", {"9"}, {"9"})
    earlier.save()
    later = SeenIds.load(name)
    later.update("a@pop.example.com:995", {"2"}, {"2"})
    later.save()
    again = SeenIds.load(name)
    assert again.ids("a@pop.example.com:995") == {"2"}
    assert again.ids("b@pop.example.com:995") == {"9"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["seen.txt", "seen.txt.lock"]
