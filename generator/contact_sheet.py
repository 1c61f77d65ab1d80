"""A contact sheet: every frame of an artwork in one PNG, with its iteration and key scores.

Tiles sit in a grid (the source image first when given), each with a caption of up to three
short lines under it. A chosen frame gets a green border, a near-copy a red one and the words
"NEAR-COPY", so a person sees at a glance what the automatic choice saw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

GREEN = (30, 160, 70)
RED = (200, 40, 40)
GREY = (90, 90, 90)


@dataclass(frozen=True)
class SheetTile:
    image: Image.Image
    title: str  # e.g. "#12" or "source"
    lines: Sequence[str] = ()  # e.g. ("prompt 0.312  source 0.81", "critic -0.12")
    chosen: bool = False
    near_copy: bool = False


def contact_sheet(
    tiles: Sequence[SheetTile], *, thumb: int = 192, columns: int | None = None
) -> Image.Image:
    if not tiles:
        raise ValueError("a contact sheet needs at least one image")
    columns = columns or min(len(tiles), max(1, math.ceil(math.sqrt(len(tiles) * 1.5))))
    rows = math.ceil(len(tiles) / columns)
    font = ImageFont.load_default(size=max(10, thumb // 14))
    line_height = max(12, thumb // 12)
    caption = line_height * 4
    pad = 8
    cell_w, cell_h = thumb + 2 * pad, thumb + caption + 2 * pad
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, tile in enumerate(tiles):
        x = (index % columns) * cell_w + pad
        y = (index // columns) * cell_h + pad
        picture = tile.image.convert("RGB")
        picture.thumbnail((thumb, thumb), Image.Resampling.LANCZOS)
        sheet.paste(picture, (x + (thumb - picture.width) // 2, y + (thumb - picture.height) // 2))
        border = RED if tile.near_copy else GREEN if tile.chosen else None
        if border:
            draw.rectangle((x - 3, y - 3, x + thumb + 2, y + thumb + 2), outline=border, width=4)
        title = (
            tile.title
            + ("  NEAR-COPY" if tile.near_copy else "")
            + ("  CHOSEN" if tile.chosen else "")
        )
        draw.text((x, y + thumb + 4), title, fill=border or (0, 0, 0), font=font)
        for number, line in enumerate(tile.lines[:3], start=1):
            draw.text((x, y + thumb + 4 + number * line_height), line, fill=GREY, font=font)
    return sheet
