"""The touchscreen: pygame-ce screens driven as a state machine (``display.app``)."""
