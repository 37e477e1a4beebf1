"""The touchscreen: the patient's screens, therapist mode and the demo, in pygame-ce.

Owns: the app and its state machine of screens (``app``, ``machine``, ``screens``,
``progress``, ``therapist``), the patient's session (``session``: no pygame), touch handling,
text, theme, sound, the kiosk's panel and systemd handshake, settings and PIN, the demo, and the
simulated patient who follows the screen (``sim``, loaded only when asked for).

May import: ``clinic``, ``exercises`` and ``device`` (below it). Never ``balance_board`` (the
command line above it).
"""

import os

# pygame-ce prints a banner when imported; the kiosk's journal and the commands' output stay clean
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
