"""Sound for the touchscreen: spoken prompts, tones, a metronome; silence when audio fails.

Speech is pre-rendered with espeak-ng (when it is installed) into a cache folder, one WAV per
sentence named by a hash of the words and voice, so a prompt costs nothing at the moment it is
needed and the cache survives restarts. Without espeak-ng there is no speech; without a working
audio device there is no sound at all, and every cue is still on the screen (the app never
depends on sound: many stroke survivors have hearing loss, and the speaker may be off).

Tones are generated here (no asset files): ``start`` (a rising pair), ``success`` (a major
third), ``time-up`` (a falling pair), ``tick`` (a short click for paced exercises).

Example::

    sound = Sound(cache_dir=folder / "speech", volume=0.8)
    sound.prepare(["Stand on the board."])   # renders in the background
    sound.play("start")
    sound.say("Stand on the board.")
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pygame

log = logging.getLogger(__name__)

RATE_HZ = 22050
VOICE = "en-gb"
WORDS_PER_MIN = 140  # slower than espeak's 175: easier after a stroke (aphasia)

TONES = {
    # name: ((frequency Hz, duration s), ...)
    "start": ((523.25, 0.12), (783.99, 0.18)),
    "success": ((659.25, 0.15), (830.61, 0.15), (987.77, 0.25)),
    "time-up": ((783.99, 0.15), (523.25, 0.30)),
    "tick": ((1760.0, 0.03),),
}


def tone_samples(notes, rate_hz: int = RATE_HZ) -> np.ndarray:
    """16-bit mono samples of a sequence of (frequency, duration) notes, each faded in and out
    over 5 ms so it starts and ends without a click."""
    parts = []
    for freq, duration in notes:
        t = np.arange(int(duration * rate_hz)) / rate_hz
        wave = np.sin(2 * np.pi * freq * t)
        fade = min(len(t) // 2, int(0.005 * rate_hz))
        if fade:
            ramp = np.linspace(0.0, 1.0, fade)
            wave[:fade] *= ramp
            wave[-fade:] *= ramp[::-1]
        parts.append(wave)
    return (np.concatenate(parts) * 0.6 * 32767).astype(np.int16)


def speech_file(cache_dir: Path, text: str) -> Path:
    key = hashlib.sha1(f"{VOICE}|{WORDS_PER_MIN}|{text}".encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{key}.wav"


class Sound:
    """The app's sound. ``available`` is False (and every call a no-op) when audio failed."""

    def __init__(
        self,
        cache_dir: Path | None,
        volume: float = 0.8,
        *,
        speech: bool = True,
        espeak: str | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.volume = volume
        self.speech = speech
        self.espeak = espeak if espeak is not None else shutil.which("espeak-ng")
        self.played: list[str] = []  # what was played, newest last (for tests and the log)
        self.problem: str | None = None
        self._sounds: dict = {}
        self._spoken: dict[str, object] = {}
        self._threads: list[threading.Thread] = []
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(RATE_HZ, -16, 1, 1024)
            channels = pygame.mixer.get_init()[2]
            for name, notes in TONES.items():
                samples = tone_samples(notes)
                if channels > 1:
                    samples = np.repeat(samples[:, None], channels, axis=1)
                self._sounds[name] = pygame.sndarray.make_sound(np.ascontiguousarray(samples))
            self._voice_channel = pygame.mixer.Channel(0)
            pygame.mixer.set_reserved(1)  # speech never cut off by a tone
        except Exception as exc:  # no sound card, no driver, busy device: carry on silently
            self.problem = f"sound is off: {exc}"
            self._sounds = {}
            log.warning("%s", self.problem)

    @property
    def available(self) -> bool:
        return bool(self._sounds)

    def set_volume(self, volume: float) -> None:
        self.volume = min(1.0, max(0.0, volume))

    def play(self, name: str) -> None:
        """One of ``TONES`` by name."""
        sound = self._sounds.get(name)
        if sound is None or self.volume <= 0:
            return
        try:
            sound.set_volume(self.volume)
            sound.play()
            self.played.append(name)
        except Exception as exc:
            log.warning("could not play %s: %s", name, exc)

    # --- speech -------------------------------------------------------------------------------
    def prepare(self, texts, *, wait: bool = False) -> None:
        """Render the sentences not yet in the cache, in a background thread."""
        if not (self.speech and self.espeak and self.cache_dir is not None):
            return
        missing = [t for t in dict.fromkeys(texts) if not speech_file(self.cache_dir, t).exists()]
        if not missing:
            return
        thread = threading.Thread(target=self._render, args=(missing,), daemon=True)
        thread.start()
        self._threads.append(thread)
        if wait:
            thread.join()

    def _render(self, texts) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for text in texts:
            target = speech_file(self.cache_dir, text)
            partial = target.with_suffix(".part")
            try:
                subprocess.run(
                    [self.espeak, "-v", VOICE, "-s", str(WORDS_PER_MIN), "-w", str(partial), text],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
                partial.replace(target)  # never a half-written WAV in the cache
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("espeak-ng could not render %r: %s", text, exc)
                partial.unlink(missing_ok=True)
                return

    def say(self, text: str) -> bool:
        """Speak ``text`` if it is in the cache; True when it was played."""
        if not (self.speech and self.available and self.volume > 0 and self.cache_dir):
            return False
        path = speech_file(self.cache_dir, text)
        try:
            sound = self._spoken.get(text)
            if sound is None:
                if not path.exists():
                    return False
                sound = self._spoken[text] = pygame.mixer.Sound(str(path))
            sound.set_volume(self.volume)
            self._voice_channel.play(sound)
            self.played.append(f"say:{text}")
            return True
        except Exception as exc:  # a damaged cache file: drop it, render again next time
            log.warning("could not speak %r: %s", text, exc)
            path.unlink(missing_ok=True)
            self._spoken.pop(text, None)
            return False

    def close(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)
