"""
A private Dovecot POP3 server for the tests and the benchmark.

Everything lives in one temporary folder: the configuration, a self-signed
certificate for 127.0.0.1, a passwd-file, the Maildirs and the sockets. The
server listens on 127.0.0.1 only, on two free ports (POP3 with STLS, and
POP3S with implicit TLS), and is stopped by its own pid.

Facts about Dovecot 2.3 that shape this file:

- Started as root, Dovecot rejects UID 0 for mail, so the mailboxes belong to
  ``nobody``. Started as another user, every process runs as that user, and
  nothing may chroot.
- UNIX socket paths are limited to 107 bytes, so the folder sits directly in
  the system's temporary folder, not under a checkout of any depth.
- A failed login makes later logins from the same address wait seconds
  unless the auth penalty socket is switched off.
- ``pop3_lock_session`` makes a second session for a user wait about 10 s
  before ``-ERR [IN-USE]``; tests give each case a user of its own.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

HOST = "127.0.0.1"
PASSWORD = "secret"
# A user that logs in with AUTH XOAUTH2 and a token much longer than the
# 255 octets of an AUTH command line (RFC 5034), as Microsoft 365 tokens are.
OAUTH_USER = "oauth"
OAUTH_TOKEN = "ya29." + "".join(f"bouncekit-test-token-{n:04d}." for n in range(64))
_user_numbers = itertools.count(1)
# Maildir file names must be unique; a counter makes them so within a process.
_file_numbers = itertools.count(1)


def find_dovecot() -> str | None:
    """Return the path of the ``dovecot`` binary, or ``None`` when it is not installed."""
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if os.access(found, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _make_certificate(folder: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (folder / "key.pem").chmod(0o600)


class DovecotServer:
    """
    One Dovecot instance in a temporary folder.

    Attributes:
        root: The folder with the configuration, the Maildirs and the sockets.
        pop3_port: POP3 with STLS offered.
        pop3s_port: POP3 over implicit TLS.
        ca_file: The server's self-signed certificate, to verify it against.
    """

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="bkdc-"))
        # The mail user (nobody, when run as root) must reach the Maildirs.
        self.root.chmod(0o755)
        self.pop3_port = _free_port()
        self.pop3s_port = _free_port()
        self.ca_file = self.root / "cert.pem"
        self.config = self.root / "dovecot.conf"
        self.passwd = self.root / "passwd"
        self._pid: int | None = None
        if os.getuid() == 0:
            owner = pwd.getpwnam("nobody")
            self.mail_uid, self.mail_gid = owner.pw_uid, owner.pw_gid
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()

    # -- configuration -------------------------------------------------------------------------

    def _service_users(self) -> tuple[str, str, str]:
        if os.getuid() != 0:
            me = pwd.getpwuid(os.getuid()).pw_name
            return me, _group_name(os.getgid()), me
        internal = "dovecot" if _user_exists("dovecot") else "nobody"
        login = "dovenull" if _user_exists("dovenull") else "nobody"
        group = _group_name(pwd.getpwnam(internal).pw_gid)
        return internal, group, login

    def _config_text(self) -> str:
        internal, group, login = self._service_users()
        # An unprivileged master cannot chroot(2) its login and helper processes.
        no_chroot = "  chroot =\n" if os.getuid() != 0 else ""
        root = self.root
        return f"""\
# Written by the bouncekit test suite; removed when the tests end.
protocols = pop3
listen = {HOST}
instance_name = bouncekit-test-{root.name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1

# The server accepts USER/PASS and AUTH PLAIN without TLS, so the tests can
# check that the client itself rejects them unless the caller allows them.
disable_plaintext_auth = no
# apop makes the greeting carry a timestamp; with a passwd-file, xoauth2
# compares the bearer token with the password, so a fake token works.
auth_mechanisms = plain login xoauth2 apop
auth_failure_delay = 0
auth_cache_size = 0

ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2

mail_location = maildir:{root}/mail/%u
pop3_uidl_format = %08Xu%08Xv
pop3_no_flag_updates = yes
pop3_lock_session = yes
mail_fsync = never

# The OAuth user's bearer token is its password in a passwd-file. Every other
# user name logs in with PASSWORD, because Dovecot 2.3.19 did not see a user
# appended to its passwd-file within the same second as its last read.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={root}/mail/%u
}}

service pop3-login {{
  inet_listener pop3 {{
    address = {HOST}
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = {HOST}
    port = {self.pop3s_port}
    ssl = yes
  }}
{no_chroot}}}
service anvil {{
  # No per-address auth penalty: tests fail logins on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{no_chroot}}}
service ipc {{
{no_chroot}}}
"""

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Write the configuration and start Dovecot; wait until it greets on the POP3 port."""
        _make_certificate(self.root)
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        os.chown(self.root / "mail", self.mail_uid, self.mail_gid)
        self.passwd.write_text(f"{OAUTH_USER}:{{PLAIN}}{OAUTH_TOKEN}\n")
        self.passwd.chmod(0o644)
        self._make_maildir(OAUTH_USER)
        self.config.write_text(self._config_text())
        with (self.root / "startup.log").open("wb") as log:
            # The master keeps the streams it inherits open, so they go to a file.
            subprocess.run(
                [self.binary, "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                check=False,
                timeout=30,
            )
        pid_file = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._pid is None and pid_file.exists() and pid_file.read_text().strip():
                self._pid = int(pid_file.read_text())
            if self._greets():
                return
            time.sleep(0.05)
        msg = f"Dovecot did not start on {HOST}:{self.pop3_port}:\n{self.log_tail()}"
        self.stop()
        raise RuntimeError(msg)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.pop3_port), timeout=1) as probe:
                return probe.recv(64).startswith(b"+OK")
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of Dovecot's startup output and log, for error messages."""
        text = ""
        for name in ("startup.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def stop(self) -> None:
        """Stop Dovecot (``doveadm stop``, then SIGTERM to its pid) and remove the folder."""
        subprocess.run(
            ["doveadm", "-c", str(self.config), "stop"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if self._pid is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(self._pid):
                time.sleep(0.05)
            if _alive(self._pid):
                os.kill(self._pid, signal.SIGTERM)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- users and mail ------------------------------------------------------------------------

    def add_user(self) -> str:
        """Add a user with an empty Maildir and return its name; it logs in with PASSWORD."""
        name = f"user{next(_user_numbers)}"
        self._make_maildir(name)
        return name

    def _make_maildir(self, user: str) -> None:
        maildir = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        _chown_tree(maildir, self.mail_uid, self.mail_gid)

    def maildir(self, user: str) -> Path:
        """Return the Maildir of *user*."""
        return self.root / "mail" / user

    def deliver(self, user: str, messages: Iterable[bytes]) -> int:
        """Write *messages* into the Maildir as an MTA does (tmp, then rename); return the count."""
        maildir = self.maildir(user)
        count = 0
        stamp = int(time.time())
        for data in messages:
            count += 1
            name = f"{stamp}.M{next(_file_numbers)}P{os.getpid()}.bouncekit-test"
            temporary = maildir / "tmp" / name
            temporary.write_bytes(data)
            os.chown(temporary, self.mail_uid, self.mail_gid)
            temporary.rename(maildir / "new" / name)
        return count


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_name(gid: int) -> str:
    import grp  # noqa: PLC0415 - Unix only, like the rest of this file

    return grp.getgrgid(gid).gr_name


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for child in path.rglob("*"):
        os.chown(child, uid, gid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
