"""Draws the Teams app icons: color.png (192×192, full colour) and outline.png (32×32).

Teams asks for a full-colour icon and a white-on-transparent outline icon. Both are committed;
run this (it needs Pillow: `pip install pillow`) only to change them:

    python deploy/teams-app/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (43, 87, 154, 255)  # #2B579A, the manifest's accentColor
WHITE = (255, 255, 255, 255)


def _check(draw: ImageDraw.ImageDraw, size: int, width: int) -> None:
    """A check mark, the app's one symbol (approve)."""
    points = [(0.26 * size, 0.52 * size), (0.43 * size, 0.69 * size), (0.75 * size, 0.33 * size)]
    draw.line(points, fill=WHITE, width=width, joint="curve")


def color_icon() -> Image.Image:
    image = Image.new("RGBA", (192, 192), ACCENT)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((36, 36, 156, 156), radius=20, outline=WHITE, width=10)
    _check(draw, 192, 16)
    return image


def outline_icon() -> Image.Image:
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((3, 3, 28, 28), radius=4, outline=WHITE, width=2)
    _check(draw, 32, 3)
    return image


def main() -> None:
    color_icon().convert("RGB").save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)


if __name__ == "__main__":
    main()
