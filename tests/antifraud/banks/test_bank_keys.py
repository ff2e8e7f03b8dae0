"""Bank keys: outside demo mode every bank has its own; only directory banks are believed; an answer
must come signed by the bank that was called."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pingan.antifraud.banks.adapter import HttpBankAdapter, TransientBankError
from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.banks.protocol import HEADER_TIMESTAMP, SignatureError, bank_key, sign, verify
from pingan.core.settings import DEMO_BANK_KEY_SEED, BankSettings, Settings

REAL = {
    "secret_key": "s" * 48,
    "pii_hmac_key": "h" * 48,
    "pii_enc_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "audit_key": "a" * 48,
}


def _own_keys() -> dict[str, str]:
    return {code: f"{code}-own-secret-key-0123456789abcdef" for code in BANKS_BY_CODE}


def test_outside_demo_mode_a_bank_without_its_own_key_stops_the_server() -> None:
    keys = _own_keys()
    del keys["ICBC"]
    settings = Settings(demo=False, bank=BankSettings(keys=keys), **REAL)
    with pytest.raises(SystemExit, match="ICBC: no key"):
        settings.check_production_keys(bank_codes=BANKS_BY_CODE)


def test_outside_demo_mode_a_key_derived_from_the_demo_seed_stops_the_server() -> None:
    keys = _own_keys()
    keys["CCB"] = bank_key("CCB", BankSettings(key_seed=DEMO_BANK_KEY_SEED)).hex()
    settings = Settings(demo=False, bank=BankSettings(keys=keys), **REAL)
    with pytest.raises(SystemExit, match="CCB: its key derives from the published demo seed"):
        settings.check_production_keys(bank_codes=BANKS_BY_CODE)


def test_outside_demo_mode_every_bank_with_its_own_key_starts() -> None:
    Settings(demo=False, bank=BankSettings(keys=_own_keys()), **REAL).check_production_keys(
        bank_codes=BANKS_BY_CODE
    )


def test_a_secret_seed_of_the_bureaus_own_counts_as_every_banks_key() -> None:
    settings = Settings(demo=False, bank=BankSettings(key_seed="bureau-secret-seed-0123456789"), **REAL)
    settings.check_production_keys(bank_codes=BANKS_BY_CODE)


def test_a_message_from_a_bank_code_outside_the_directory_is_refused() -> None:
    body = b"{}"
    headers = sign(bank_key("EVIL"), "EVIL", "POST", "/x", body)
    with pytest.raises(SignatureError, match="unknown bank code"):
        verify(headers, "POST", "/x", body)


def test_a_timestamp_with_non_ascii_digits_is_refused_as_a_bad_message() -> None:
    body = b"{}"
    headers = sign(bank_key("CCB"), "CCB", "POST", "/x", body)
    headers[HEADER_TIMESTAMP] = "١٧٠٠٠٠٠٠٠٠"  # Arabic-Indic digits: str.isdigit() says yes, int() takes them
    with pytest.raises(SignatureError, match="timestamp"):
        verify(headers, "POST", "/x", body)


@pytest.fixture
def impostor_bank() -> Iterator[str]:
    """A real HTTP peer answering every call with a valid signature, but CCB's, whoever was called."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            body = b'{"status": "received"}'
            self.send_response(200)
            for k, v in sign(bank_key("CCB"), "CCB", "RESPONSE", self.path, body).items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_answer_signed_by_another_bank_than_the_one_called_is_refused(impostor_bank: str) -> None:
    adapter = HttpBankAdapter(BankSettings(base_url=impostor_bank))
    try:
        with pytest.raises(TransientBankError, match="signed by CCB, not by ICBC"):
            adapter._call("ICBC", "POST", "/banks/ICBC/orders", b"{}")
        adapter._call("CCB", "POST", "/banks/CCB/orders", b"{}")  # the signer itself is believed
    finally:
        adapter.close()
