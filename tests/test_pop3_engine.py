"""The POP3 engine without I/O: bytes in, events out."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bouncekit.pop3 import (
    NEED_DATA,
    AuthResponse,
    Capabilities,
    Challenge,
    Command,
    ConnectionClosed,
    ErrorResponse,
    Greeting,
    LocalProtocolError,
    MessageData,
    MessageTooLarge,
    OkResponse,
    Pop3Connection,
    RemoteProtocolError,
    ScanListing,
    SessionState,
    Status,
    UniqueIdListing,
    apop_digest,
)

GREETING = b"+OK POP3 ready <1896.697170952@dbc.example.org>\r\n"
CAPA = b"+OK\r\nTOP\r\nUIDL\r\nPIPELINING\r\nSASL PLAIN XOAUTH2\r\n.\r\n"


def feed(conn: Pop3Connection, data: bytes, *, step: int | None = None) -> list[object]:
    """Feed *data* whole or *step* octets at a time; return every event produced."""
    events = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
    return events


def logged_in(*, pipelining: bool = True, **settings: int) -> Pop3Connection:
    """Return a connection in the TRANSACTION state."""
    conn = Pop3Connection(**settings)
    feed(conn, GREETING)
    conn.send(Command("CAPA"))
    feed(conn, CAPA if pipelining else b"-ERR\r\n")
    conn.send(Command("USER", ("bounces",)))
    feed(conn, b"+OK\r\n")
    conn.send(Command("PASS", ("secret",)))
    feed(conn, b"+OK\r\n")
    conn.send(Command("CAPA"))
    feed(conn, CAPA if pipelining else b"-ERR\r\n")
    return conn


def test_greeting_apop_timestamp() -> None:
    conn = Pop3Connection()
    [event] = feed(conn, GREETING)
    assert event == Greeting(
        text="POP3 ready <1896.697170952@dbc.example.org>",
        apop_timestamp="<1896.697170952@dbc.example.org>",
    )
    assert conn.state is SessionState.AUTHORIZATION


def test_apop_digest_rfc1939_example() -> None:
    # The example of RFC 1939 section 7.
    digest = apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf")
    assert digest == "c4c9334bac560ecc979e58001b3e22fb"


def test_bare_ok_and_err() -> None:
    conn = Pop3Connection()
    feed(conn, b"+OK\r\n")
    conn.send(Command("CAPA"))
    [capa] = feed(conn, b"-ERR\r\n")
    conn.send(Command("USER", ("bounces",)))
    [user] = feed(conn, b"+OK\r\n")
    assert capa == ErrorResponse(Command("CAPA"), "", None)
    assert user == OkResponse(Command("USER", ("bounces",)), "")


def test_response_code_parsed() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    conn.send(Command("USER", ("bounces",)))
    feed(conn, b"+OK\r\n")
    conn.send(Command("PASS", ("secret",)))
    [event] = feed(conn, b"-ERR [SYS/TEMP] Try again in a minute\r\n")
    assert isinstance(event, ErrorResponse)
    assert event.code == "SYS/TEMP"
    assert event.text == "Try again in a minute"
    assert conn.state is SessionState.AUTHORIZATION


def test_capabilities_parsed() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    conn.send(Command("CAPA"))
    [event] = feed(conn, CAPA)
    assert isinstance(event, Capabilities)
    assert event.entries["SASL"] == ("PLAIN", "XOAUTH2")
    assert conn.pipelining


def test_listings_and_stat() -> None:
    conn = logged_in()
    conn.send(Command("STAT"))
    conn.send(Command("LIST"))
    conn.send(Command("UIDL"))
    conn.send(Command("UIDL", ("2",)))
    events = feed(
        conn, b"+OK 2 320\r\n+OK\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n1 aa\r\n2 bb\r\n.\r\n+OK 2 bb\r\n"
    )
    assert events[0] == Status(Command("STAT"), 2, 320)
    assert events[1] == ScanListing(Command("LIST"), {1: 120, 2: 200})
    assert events[2] == UniqueIdListing(Command("UIDL"), {1: "aa", 2: "bb"})
    assert events[3] == UniqueIdListing(Command("UIDL", ("2",)), {2: "bb"})


def test_empty_listing() -> None:
    conn = logged_in()
    conn.send(Command("UIDL"))
    [event] = feed(conn, b"+OK\r\n.\r\n")
    assert event == UniqueIdListing(Command("UIDL"), {})


WIRE_MESSAGE = (
    b"+OK 120 octets\r\n"
    b"Subject: test\r\n"
    b"\r\n"
    b"..hidden line that starts with a dot\r\n"
    b"..\r\n"
    b"last line\r\n"
    b".\r\n"
)
MESSAGE = b"Subject: test\r\n\r\n.hidden line that starts with a dot\r\n.\r\nlast line\r\n"


@pytest.mark.parametrize("step", [None, 1, 2, 3, 5, 7])
def test_retr_unstuffed_any_split(step: int | None) -> None:
    conn = logged_in()
    conn.send(Command("RETR", ("1",)))
    [event] = feed(conn, WIRE_MESSAGE, step=step)
    assert event == MessageData(Command("RETR", ("1",)), 1, MESSAGE)


def test_retr_first_line_stuffed() -> None:
    conn = logged_in()
    conn.send(Command("TOP", ("1", "0")))
    [event] = feed(conn, b"+OK\r\n..starts with a dot\r\n.\r\n")
    assert isinstance(event, MessageData)
    assert event.data == b".starts with a dot\r\n"


def test_retr_empty_message() -> None:
    conn = logged_in()
    conn.send(Command("RETR", ("1",)))
    [event] = feed(conn, b"+OK 0 octets\r\n.\r\n")
    assert isinstance(event, MessageData)
    assert event.data == b""


def test_retr_line_over_2048_octets() -> None:
    long_line = b"<td>" + b"x" * 100_000 + b"</td>"
    conn = logged_in()
    conn.send(Command("RETR", ("1",)))
    [event] = feed(conn, b"+OK\r\nSubject: wide\r\n\r\n" + long_line + b"\r\n.\r\n", step=4096)
    assert isinstance(event, MessageData)
    assert event.data.splitlines()[2] == long_line


def test_pipelined_retr_in_order() -> None:
    conn = logged_in()
    for number in (1, 2, 3):
        conn.send(Command("RETR", (str(number),)))
    wire = b"".join(b"+OK\r\nmessage %d\r\n.\r\n" % n for n in (1, 2)) + b"-ERR no such message\r\n"
    events = feed(conn, wire, step=3)
    assert [type(event) for event in events] == [MessageData, MessageData, ErrorResponse]
    assert [getattr(event, "data", None) for event in events[:2]] == [
        b"message 1\r\n",
        b"message 2\r\n",
    ]


def test_size_limit_skips_one_message() -> None:
    conn = logged_in(max_message_size=1000)
    conn.send(Command("RETR", ("1",)))
    conn.send(Command("RETR", ("2",)))
    big = b"+OK\r\n" + b"y" * 70 + b"\r\n"
    wire = big + (b"z" * 70 + b"\r\n") * 100 + b".\r\n" + b"+OK\r\nsmall\r\n.\r\n"
    events = feed(conn, wire, step=500)
    assert events[0] == MessageTooLarge(Command("RETR", ("1",)), 1, 1000)
    assert events[1] == MessageData(Command("RETR", ("2",)), 2, b"small\r\n")


def test_eof_mid_retr() -> None:
    conn = logged_in()
    conn.send(Command("RETR", ("1",)))
    events = feed(conn, b"+OK\r\nSubject: cut\r\n")
    conn.receive_data(b"")
    assert events == []
    assert conn.next_event() == ConnectionClosed(clean=False)


def test_eof_after_quit_clean() -> None:
    conn = logged_in()
    conn.send(Command("QUIT"))
    feed(conn, b"+OK bye\r\n")
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed(clean=True)


def test_garbage_status_line() -> None:
    conn = logged_in()
    conn.send(Command("NOOP"))
    conn.receive_data(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(RemoteProtocolError, match="expected a \\+OK or -ERR"):
        conn.next_event()


def test_no_pipelining_without_capability() -> None:
    conn = logged_in(pipelining=False)
    conn.send(Command("RETR", ("1",)))
    with pytest.raises(LocalProtocolError, match="PIPELINING"):
        conn.send(Command("RETR", ("2",)))


def test_command_before_login_rejected() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    with pytest.raises(LocalProtocolError, match="authorization state"):
        conn.send(Command("RETR", ("1",)))


def test_line_break_in_argument_rejected() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    with pytest.raises(LocalProtocolError, match="CR, LF or NUL"):
        conn.send(Command("USER", ("bounces\r\nDELE 1",)))


def test_password_hidden_in_repr() -> None:
    command = Command("PASS", ("hunter2",))
    assert "hunter2" not in repr(command)
    assert "hunter2" not in str(command)


def test_stls_then_injected_data() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    conn.send(Command("STLS"))
    conn.receive_data(b"+OK begin TLS\r\n+OK injected\r\n")
    with pytest.raises(RemoteProtocolError, match="after accepting STLS"):
        conn.next_event()


def test_stls_blocks_commands_until_tls() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    conn.send(Command("STLS"))
    feed(conn, b"+OK begin TLS\r\n")
    with pytest.raises(LocalProtocolError, match="tls_established"):
        conn.send(Command("CAPA"))
    conn.tls_established()
    assert conn.send(Command("CAPA")) == b"CAPA\r\n"


def test_auth_two_step_exchange() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    assert conn.send(Command("AUTH", ("XOAUTH2",))) == b"AUTH XOAUTH2\r\n"
    [challenge] = feed(conn, b"+ \r\n")
    response = conn.send(AuthResponse(b"user=a\x01auth=Bearer t\x01\x01"))
    [done] = feed(conn, b"+OK logged in\r\n")
    assert challenge == Challenge(Command("AUTH", ("XOAUTH2",)), b"")
    assert response == base64.b64encode(b"user=a\x01auth=Bearer t\x01\x01") + b"\r\n"
    assert isinstance(done, OkResponse)
    assert conn.state is SessionState.TRANSACTION


def test_auth_line_over_255_rejected() -> None:
    conn = Pop3Connection()
    feed(conn, GREETING)
    with pytest.raises(LocalProtocolError, match="255"):
        conn.send(Command("AUTH", ("XOAUTH2", "A" * 300)))


def test_unexpected_data_without_command() -> None:
    conn = logged_in()
    conn.receive_data(b"+OK surprise\r\n")
    with pytest.raises(RemoteProtocolError, match="no command pending"):
        conn.next_event()


line_text = st.binary(max_size=300).map(lambda data: data.replace(b"\r", b"").replace(b"\n", b""))


@given(
    lines=st.lists(st.one_of(line_text, st.sampled_from([b".", b"..", b".x", b""])), max_size=20),
    step=st.integers(min_value=1, max_value=64),
    eol=st.sampled_from([b"\r\n", b"\n"]),
)
def test_retr_round_trip(lines: list[bytes], step: int, eol: bytes) -> None:
    body = b"".join(line + eol for line in lines)
    wire = (
        b"+OK"
        + eol
        + b"".join((b"." + line if line.startswith(b".") else line) + eol for line in lines)
    )
    conn = logged_in() if eol == b"\r\n" else logged_in_lf()
    conn.send(Command("RETR", ("1",)))
    [event] = feed(conn, wire + b"." + eol, step=step)
    assert isinstance(event, MessageData)
    assert event.data == body


def logged_in_lf() -> Pop3Connection:
    """Return a connection in the TRANSACTION state, with a server that ends lines in LF."""
    conn = Pop3Connection()
    feed(conn, GREETING.replace(b"\r\n", b"\n"))
    conn.send(Command("USER", ("bounces",)))
    feed(conn, b"+OK\n")
    conn.send(Command("PASS", ("secret",)))
    feed(conn, b"+OK\n")
    return conn


@pytest.mark.parametrize("step", [None, 1, 2, 3])
def test_bare_lf_server_retr(step: int | None) -> None:
    conn = logged_in_lf()
    assert conn.state is SessionState.TRANSACTION
    conn.send(Command("RETR", ("1",)))
    [event] = feed(conn, WIRE_MESSAGE.replace(b"\r\n", b"\n"), step=step)
    assert event == MessageData(Command("RETR", ("1",)), 1, MESSAGE.replace(b"\r\n", b"\n"))


def test_bare_lf_server_listing() -> None:
    conn = logged_in_lf()
    conn.send(Command("UIDL"))
    uidl = feed(conn, b"+OK\n1 aaa\n2 bbb\n.\n", step=2)
    conn.send(Command("STAT"))
    stat = feed(conn, b"+OK 2 300\n")
    assert uidl == [UniqueIdListing(Command("UIDL"), {1: "aaa", 2: "bbb"})]
    assert stat == [Status(Command("STAT"), 2, 300)]
