"""The colours an agent file may name, as RGB, for every provider and the terminal."""

from __future__ import annotations

# The names config validation accepts (see config/validate.py), solarized-ish.
RGB = {
    "red": (220, 50, 47),
    "green": (133, 153, 0),
    "yellow": (181, 137, 0),
    "blue": (38, 139, 210),
    "magenta": (211, 54, 130),
    "cyan": (42, 161, 152),
    "orange": (203, 75, 22),
    "purple": (108, 113, 196),
    "pink": (255, 121, 198),
    "gray": (147, 161, 161),
}


def rgb(color: str | None) -> tuple[int, int, int] | None:
    """A colour name or ``#rrggbb`` as RGB; ``None`` for no (or an unknown) colour."""
    if not color:
        return None
    if color.startswith("#") and len(color) == 7:
        try:
            return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
        except ValueError:
            return None
    return RGB.get(color)
