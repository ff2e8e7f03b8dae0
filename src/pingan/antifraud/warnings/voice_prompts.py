"""Voice prompts spoken by espeak-ng in Mandarin (`cmn`), as 8 kHz mono 16-bit WAV, cached.

The cache key is the template id, its version, the parameters and the voice settings, so a prompt
is rendered once and reused for every call with the same text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from pingan.core.settings import get_settings

VOICE = "cmn"
SPEED_WPM = 165
SAMPLE_RATE = 8000
INSTALL_HINT = "apt-get install -y espeak-ng sox (or `make warnings-peers`)"


class PromptUnavailable(RuntimeError):
    """espeak-ng or sox is not installed, or failed on the text."""


def prompt_cache_dir() -> Path:
    """Where rendered prompts are kept (under the data dir)."""
    return get_settings().data_dir / "warnings" / "prompts"


def prompt_key(*, template_id: str, version: str, params: dict[str, str]) -> str:
    """The cache key of a prompt: the same template, version, parameters and voice give the same key."""
    blob = json.dumps(
        {"t": template_id, "v": version, "p": params, "voice": VOICE, "wpm": SPEED_WPM, "hz": SAMPLE_RATE},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def render_prompt(
    text: str, *, template_id: str, version: str, params: dict[str, str], cache_dir: Path | None = None
) -> Path:
    """The WAV of `text`, rendered on first use and cached; raises PromptUnavailable without espeak-ng/sox."""
    folder = cache_dir or prompt_cache_dir()
    target = folder / f"{prompt_key(template_id=template_id, version=version, params=params)}.wav"
    if target.exists():
        return target
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        raise PromptUnavailable(f"espeak-ng and sox are needed to speak prompts: {INSTALL_HINT}")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".wav.tmp")
    os.close(fd)
    try:
        spoken = subprocess.run(  # noqa: S603 - fixed argv, no shell; the text is an argument
            [espeak, "-v", VOICE, "-s", str(SPEED_WPM), "--stdout", text],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [
                sox,
                "-q",
                "-t",
                "wav",
                "-",
                "-r",
                str(SAMPLE_RATE),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed",
                "-t",
                "wav",
                tmp_name,
            ],
            input=spoken,
            check=True,
            capture_output=True,
            timeout=60,
        )
        # Rename is atomic: concurrent renderers of the same prompt never see half a file.
        os.replace(tmp_name, target)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise PromptUnavailable(f"rendering the prompt failed: {exc}") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def read_pcm16(path: Path) -> bytes:
    """The 16-bit little-endian mono samples of an 8 kHz WAV prompt."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise PromptUnavailable(f"{path} is not 8 kHz mono 16-bit")
        return w.readframes(w.getnframes())
