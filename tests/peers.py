"""Real peers on loopback for tests, benchmarks and trials: Kannel with its fake SMSC, and a SIPp UAS.

Each starts on free ports chosen at start, with its configuration generated into a folder of its
own, and stops its processes on `stop()`. Nothing here is used in production, where the operator's
own Kannel and SIP trunk are configured instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SIPP_DTMF_DIR = Path("/usr/share/sip-tester")
KANNEL_HINT = "apt-get install -y kannel kannel-extras (or `make warnings-peers`)"
SIPP_HINT = "apt-get install -y sip-tester (or `make warnings-peers`)"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_pair() -> int:
    """An even UDP port whose next port is free too (RTP and RTCP)."""
    for _ in range(50):
        p = free_port(socket.SOCK_DGRAM) & ~1
        try:
            for q in (p, p + 1, p + 2, p + 3):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue
    raise RuntimeError("no free UDP port pair")


def _wait_tcp(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed")
    return path


def kannel_available() -> bool:
    """True when bearerbox, smsbox and fakesmsc are installed."""
    return all(shutil.which(b) for b in ("bearerbox", "smsbox")) and os.access(FAKESMSC, os.X_OK)


def sipp_available() -> bool:
    """True when sipp and its RFC 2833 DTMF captures are installed."""
    return shutil.which("sipp") is not None and (SIPP_DTMF_DIR / "dtmf_2833_1.pcap").exists()


@dataclass
class KannelStack:
    """bearerbox + smsbox + fakesmsc on free loopback ports, configured under `folder`."""

    folder: Path
    username: str = "pingan"
    password: str = "pingan-kannel"
    admin_port: int = field(default_factory=free_port)
    box_port: int = field(default_factory=free_port)
    smsc_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    bearerbox: subprocess.Popen[bytes] | None = None
    smsbox: subprocess.Popen[bytes] | None = None
    fakesmsc: subprocess.Popen[bytes] | None = None

    @property
    def sendsms_url(self) -> str:
        """The smsbox's sendsms URL."""
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def fakesmsc_log(self) -> Path:
        return self.folder / "fakesmsc.out"

    def config_text(self) -> str:
        """kannel.conf for this stack.

        The message store is one file (`store-type = file`), not a spool folder of a file per
        message: measured with 3000 texts through sendsms, the spool cost bearerbox 1.36 ms of CPU
        a text against 0.14 to 0.21 ms for the file store, which keeps queued texts across a
        bearerbox restart just the same.
        """
        f = self.folder
        return f"""group = core
admin-port = {self.admin_port}
admin-password = {self.password}
admin-interface = 127.0.0.1
smsbox-port = {self.box_port}
box-allow-ip = 127.0.0.1
log-file = "{f}/bearerbox.log"
log-level = 1
dlr-storage = internal
store-type = file
store-location = "{f}/store.file"

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{f}/smsbox.log"
log-level = 1
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 3
concatenation = true
"""

    def start(self) -> KannelStack:
        """Write the config and start bearerbox, smsbox and fakesmsc; wait until each listens."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "kannel.conf").write_text(self.config_text())
        self.bearerbox = subprocess.Popen(
            [_binary("bearerbox"), str(self.folder / "kannel.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        _wait_tcp(self.admin_port, 10, self.bearerbox)
        _wait_tcp(self.smsc_port, 10, self.bearerbox)
        self.start_smsbox()
        self.start_fakesmsc()
        return self

    def start_smsbox(self) -> None:
        """Start (or restart) the smsbox, the HTTP side that pingan talks to."""
        self.smsbox = subprocess.Popen(
            [_binary("smsbox"), str(self.folder / "kannel.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        _wait_tcp(self.sendsms_port, 10, self.smsbox)

    def stop_smsbox(self) -> None:
        """Stop the smsbox: sendsms refuses connections until `start_smsbox`."""
        _stop(self.smsbox)
        self.smsbox = None

    def start_fakesmsc(self) -> None:
        """Connect the fake SMSC, which prints every message it is handed."""
        log = self.fakesmsc_log.open("ab")
        # Interactive mode reads MO messages from stdin; an open pipe that never writes keeps it alive.
        self.fakesmsc = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "0"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "Fakesmsc client connected" in self._bearerbox_log():
                return
            time.sleep(0.05)
        raise RuntimeError("fakesmsc did not connect to bearerbox")

    def _bearerbox_log(self) -> str:
        path = self.folder / "bearerbox.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def delivered(self) -> list[tuple[str, str, str]]:
        """(sender, receiver, text) of every message the fake SMSC received, concatenated parts joined."""
        out: list[tuple[str, str, str]] = []
        if not self.fakesmsc_log.exists():
            return out
        parts: dict[tuple[str, str, int], dict[int, bytes]] = {}
        pattern = r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>"
        for m in re.finditer(pattern, self.fakesmsc_log.read_text(errors="replace")):
            sender, receiver, kind, rest = m.groups()
            if kind == "udh":
                udh_enc, _, payload = rest.split(" ", 2)
                udh = urllib.parse.unquote_to_bytes(udh_enc)
                raw = urllib.parse.unquote_to_bytes(payload)
                # Concatenation IE (00 03 ref total seq): collect parts until all have come.
                ref, total, seq = udh[3], udh[4], udh[5]
                got = parts.setdefault((sender, receiver, ref), {})
                got[seq] = raw
                if len(got) == total:
                    joined = b"".join(got[i] for i in sorted(got))
                    out.append((sender, receiver, joined.decode("utf-16-be", errors="replace")))
                    del parts[(sender, receiver, ref)]
                continue
            raw = urllib.parse.unquote_to_bytes(rest)
            text = (
                raw.decode("utf-16-be", errors="replace")
                if kind in ("ucs-2", "data")
                else raw.decode("latin-1")
            )
            out.append((sender, receiver, text))
        return out

    def stop(self) -> None:
        """Stop every process of the stack."""
        if self.fakesmsc is not None and self.fakesmsc.stdin is not None:
            self.fakesmsc.stdin.close()
        _stop(self.fakesmsc)
        _stop(self.smsbox)
        _stop(self.bearerbox)


def _uas_scenario(mode: str, digits: str, pause_ms: int) -> str:
    invite = '  <recv request="INVITE" crlf="true"/>\n'
    trying = """  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]pa[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
"""
    if mode == "busy":
        return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pingan busy UAS">
{invite}  <send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]pa[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"""
    if mode == "no_answer":
        return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pingan ringing UAS">
{invite}{trying}  <recv request="CANCEL"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]pa[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]pa[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"""
    plays = "".join(
        f'  <pause milliseconds="{pause_ms}"/>\n'
        f'  <nop><action><exec play_pcap_audio="{SIPP_DTMF_DIR}/dtmf_2833_{d}.pcap"/></action></nop>\n'
        for d in digits
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pingan answering UAS">
{invite}{trying}  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]pa[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15

]]></send>
  <recv request="ACK" crlf="true"/>
{plays}  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""


@dataclass
class SippUas:
    """A SIPp user agent server on loopback: answers and sends RFC 2833 digits, or is busy, or rings."""

    folder: Path
    mode: str = "answer"  # answer | busy | no_answer
    digits: str = "1"
    pause_ms: int = 400
    port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    media_port: int = field(default_factory=free_udp_pair)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def message_log(self) -> Path:
        return self.folder / f"sipp-{self.port}-messages.log"

    def start(self) -> SippUas:
        """Write the scenario and start sipp in the background."""
        self.folder.mkdir(parents=True, exist_ok=True)
        scenario = self.folder / f"uas-{self.mode}-{self.port}.xml"
        scenario.write_text(_uas_scenario(self.mode, self.digits, self.pause_ms))
        self.proc = subprocess.Popen(
            [
                _binary("sipp"),
                "-sf",
                str(scenario),
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-mi",
                "127.0.0.1",
                "-mp",
                str(self.media_port),
                "-nostdin",
                "-trace_msg",
                "-message_file",
                str(self.message_log),
                "-trace_err",
                "-error_file",
                str(self.folder / f"sipp-{self.port}-errors.log"),
                "-max_socket",
                "4096",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            cwd=self.folder,
        )
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError(f"sipp exited with {self.proc.returncode}; see {self.folder}")
        return self

    def messages(self) -> str:
        """The SIP messages SIPp traced so far."""
        return self.message_log.read_text(errors="replace") if self.message_log.exists() else ""

    def stop(self) -> None:
        """Stop sipp."""
        _stop(self.proc)
