"""The signed Message-ID codec: round trips, key rotation, and damaged or forged ids."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bouncekit.correlate import (
    AlteredIdError,
    CorrelationError,
    ForgedIdError,
    SignedIdCodec,
    SignedIdError,
    UnsignedIdError,
    normalize_message_id,
)

OLD_KEY = b"old key, retired after rotation"
NEW_KEY = b"new key that signs from today on"
CODEC = SignedIdCodec([NEW_KEY], domain="mail.example.com")

# RFC 5322 section 3.6.4: msg-id = "<" dot-atom-text "@" dot-atom-text ">".
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"<{ATEXT}(?:\.{ATEXT})*@{ATEXT}(?:\.{ATEXT})*>")


def test_encode_is_rfc5322_msg_id() -> None:
    message_id = CODEC.encode("c42-000123", "981234")
    assert MSG_ID.fullmatch(message_id)


def test_encode_uses_domain() -> None:
    assert CODEC.encode("c42", "7").endswith("@mail.example.com>")


def test_encode_is_unique() -> None:
    ids = {CODEC.encode("c42", "7") for _ in range(1000)}
    assert len(ids) == 1000


def test_decode_round_trip() -> None:
    issued = datetime.datetime(2026, 3, 1, 12, 30, 5, tzinfo=datetime.UTC)
    decoded = CODEC.decode(CODEC.encode("c42-000123", 981234, issued_at=issued))
    assert decoded.delivery_id == "c42-000123"
    assert decoded.recipient_id == "981234"
    assert decoded.issued_at == issued
    assert decoded.domain == "mail.example.com"
    assert decoded.key_index == 0


def test_decode_utf8_ids() -> None:
    decoded = CODEC.decode(CODEC.encode("Kampagne-Größe", "Zoë"))
    assert (decoded.delivery_id, decoded.recipient_id) == ("Kampagne-Größe", "Zoë")


def test_decode_without_brackets() -> None:
    message_id = CODEC.encode("c42", "7")
    assert CODEC.decode(message_id[1:-1]).delivery_id == "c42"


def test_decode_after_case_change() -> None:
    message_id = CODEC.encode("c42", "7")
    assert CODEC.decode(message_id.upper()).recipient_id == "7"


def test_decode_after_normalisation() -> None:
    message_id = CODEC.encode("c42", "7")
    folded = f" {message_id[:20]}\r\n {message_id[20:]} (returned)"
    assert CODEC.decode(normalize_message_id(folded) or "").delivery_id == "c42"


def test_decode_after_key_rotation() -> None:
    old_codec = SignedIdCodec([OLD_KEY], domain="mail.example.com")
    message_id = old_codec.encode("c41", "12")
    rotated = SignedIdCodec([NEW_KEY, OLD_KEY], domain="mail.example.com")
    decoded = rotated.decode(message_id)
    assert decoded.delivery_id == "c41"
    assert decoded.key_index == 1


def test_rotated_codec_signs_with_first_key() -> None:
    rotated = SignedIdCodec([NEW_KEY, OLD_KEY], domain="mail.example.com")
    assert CODEC.decode(rotated.encode("c43", "1")).key_index == 0


def test_decode_retired_key_is_forged() -> None:
    old_codec = SignedIdCodec([OLD_KEY], domain="mail.example.com")
    with pytest.raises(ForgedIdError):
        CODEC.decode(old_codec.encode("c41", "12"))


def test_decode_other_key_is_forged() -> None:
    forger = SignedIdCodec([b"a key the forger chose himself"], domain="mail.example.com")
    with pytest.raises(ForgedIdError) as caught:
        CODEC.decode(forger.encode("c42", "7"))
    assert caught.value.message_id.startswith("<bk1.")


def _replace_char(text: str, index: int) -> str:
    replacement = "b" if text[index] != "b" else "c"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("index", [6, 12, 20, 30])
def test_decode_edited_payload_is_rejected(index: int) -> None:
    message_id = CODEC.encode("c42-000123", "981234")
    with pytest.raises((ForgedIdError, AlteredIdError)):
        CODEC.decode(_replace_char(message_id, index))


def test_decode_edited_signature_is_forged() -> None:
    message_id = CODEC.encode("c42", "7")
    at = message_id.index("@")
    with pytest.raises(ForgedIdError):
        CODEC.decode(_replace_char(message_id, at - 3))


def test_decode_swapped_signature_is_forged() -> None:
    first = CODEC.encode("c42", "7")
    second = CODEC.encode("c42", "8")
    signature = first[first.rindex(".", 0, first.index("@")) : first.index("@")]
    start = second.rindex(".", 0, second.index("@"))
    spliced = second[:start] + signature + second[second.index("@") :]
    with pytest.raises(ForgedIdError):
        CODEC.decode(spliced)


@pytest.mark.parametrize("keep", [10, 40, 60])
def test_decode_truncated_is_altered(keep: int) -> None:
    message_id = CODEC.encode("c42-000123", "981234")
    with pytest.raises(AlteredIdError):
        CODEC.decode(message_id[:keep] + ">")


def test_decode_truncated_signature_is_altered() -> None:
    message_id = CODEC.encode("c42", "7")
    at = message_id.index("@")
    with pytest.raises(AlteredIdError):
        CODEC.decode(message_id[: at - 4] + message_id[at:])


def test_decode_rewritten_id_is_unsigned() -> None:
    # The id a relay wrote in place of the sender's Message-ID.
    with pytest.raises(UnsignedIdError):
        CODEC.decode("<OF1A2B3C4D.5E6F7A8B-ON00000000@notes.example.org>")


def test_signed_id_errors_are_correlation_errors() -> None:
    with pytest.raises(CorrelationError):
        CODEC.decode("<x@y>")


def test_looks_signed() -> None:
    assert CODEC.looks_signed(CODEC.encode("c42", "7"))
    assert not CODEC.looks_signed("<a@example.com>")


def test_codec_short_key() -> None:
    with pytest.raises(CorrelationError, match="shorter than the minimum of 16"):
        SignedIdCodec([b"short"], domain="mail.example.com")


def test_codec_no_key() -> None:
    with pytest.raises(CorrelationError, match="no signing key"):
        SignedIdCodec([], domain="mail.example.com")


def test_codec_bad_domain() -> None:
    with pytest.raises(CorrelationError, match="invalid Message-ID domain"):
        SignedIdCodec([NEW_KEY], domain="mail example.com")


def test_codec_repr_hides_keys() -> None:
    assert "signs from today" not in repr(CODEC)


def test_codec_text_key() -> None:
    text_codec = SignedIdCodec("new key that signs from today on", domain="mail.example.com")
    assert CODEC.decode(text_codec.encode("c42", "7")).key_index == 0


def test_encode_without_domain() -> None:
    with pytest.raises(CorrelationError, match="without a domain"):
        SignedIdCodec([NEW_KEY]).encode("c42", "7")


@pytest.mark.parametrize("value", ["", "x" * 65])
def test_encode_id_length(value: str) -> None:
    with pytest.raises(CorrelationError, match="1 to 64 bytes"):
        CODEC.encode(value, "7")


def test_encode_max_length() -> None:
    message_id = CODEC.encode("d" * 64, "r" * 64)
    assert len(message_id) == 256 + len("mail.example.com")


ID_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=16)


@given(delivery_id=ID_TEXT, recipient_id=ID_TEXT)
def test_decode_round_trip_any_ids(delivery_id: str, recipient_id: str) -> None:
    decoded = CODEC.decode(CODEC.encode(delivery_id, recipient_id))
    assert (decoded.delivery_id, decoded.recipient_id) == (delivery_id, recipient_id)


@given(position=st.integers(min_value=0), character=st.sampled_from("abcxyz234567.-@<>=+"))
def test_decode_edit_never_yields_other_ids(position: int, character: str) -> None:
    message_id = CODEC.encode("c42-000123", "981234")
    index = position % len(message_id)
    edited = message_id[:index] + character + message_id[index + 1 :]
    try:
        decoded = CODEC.decode(edited)
    except SignedIdError:
        return
    # An edit that still decodes changed nothing that the signature covers: it
    # touched the domain or the opening bracket (brackets are stripped before
    # decoding), or put in the character that was there.
    assert edited == message_id or index == 0 or index > message_id.index("@")
    assert (decoded.delivery_id, decoded.recipient_id) == ("c42-000123", "981234")


@pytest.mark.parametrize("value", [None, 1.5, b"abc", True, ["x"]])
def test_encode_id_wrong_type(value: object) -> None:
    with pytest.raises(TypeError, match="must be a str or an int"):
        CODEC.encode(value, "r1")  # type: ignore[arg-type]


def test_decode_not_text() -> None:
    with pytest.raises(TypeError, match="as str"):
        CODEC.decode(None)  # type: ignore[arg-type]
