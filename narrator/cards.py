"""Pictures for the video and cover art: title cards, the cover fitted to 1080p, Y4M frames."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.container import HEIGHT, SAFE_X, SAFE_Y, WIDTH
from narrator.errors import MissingToolError, SettingError

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageFont import FreeTypeFont

FONT_HINT = "install it with 'sudo apt-get install fonts-dejavu-core' (or run scripts/setup.sh)"
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}

BACKGROUND = (16, 24, 32)
TITLE_COLOUR = (255, 255, 255)
CHAPTER_COLOUR = (220, 226, 236)  # 14:1 on the background, well past WCAG's 7:1
ACCENT = (224, 165, 38)
#: Card text stays above the lower third, where burned cues go.
TEXT_BOTTOM = HEIGHT * 2 // 3
TITLE_SIZES = (110, 96, 84, 72, 64)
CHAPTER_SIZES = (76, 68, 60, 52)
TITLE_LINES = 3
CHAPTER_LINES = 3
#: Formats every tag writer embeds as they are; other images are converted to PNG.
EMBEDDABLE = {"JPEG": ".jpg", "PNG": ".png"}


def font_file(bold: bool) -> Path:
    """DejaVu Sans (bold or book); MissingToolError with the package to install."""
    for folder in FONT_FOLDERS:
        if (folder / FONT_FILES[bold]).is_file():
            return folder / FONT_FILES[bold]
    matcher = shutil.which("fc-match")
    if matcher is not None:
        pattern = "DejaVu Sans:bold" if bold else "DejaVu Sans"
        found = subprocess.run(
            [matcher, "-f", "%{file}", pattern], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found.endswith(FONT_FILES[bold]):
            return Path(found)
    raise MissingToolError(f"the DejaVu Sans font was not found: {FONT_HINT}")


def wrap(text: str, font: FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is kept whole."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def fit(
    text: str, bold: bool, sizes: tuple[int, ...], most: int
) -> tuple[FreeTypeFont, list[str]]:
    """The largest size at which ``text`` fits in ``most`` lines; at the smallest, cut with '…'."""
    from PIL import ImageFont

    path = str(font_file(bold))
    width = WIDTH - 2 * SAFE_X
    for size in sizes:
        font = ImageFont.truetype(path, size)
        lines = wrap(text, font, width)
        if len(lines) <= most and all(font.getlength(line) <= width for line in lines):
            return font, lines
    kept = lines[:most]
    for number, line in enumerate(kept):
        last_of_cut = len(lines) > most and number == most - 1
        if last_of_cut or font.getlength(line) > width:
            while line and font.getlength(f"{line}…") > width:
                line = line[:-1]
            kept[number] = f"{line.rstrip()}…"
    return font, kept


def title_card(title: str, chapter: str | None) -> Image:
    """A 1920×1080 card: the title, an accent rule, and the chapter's title under it.

    Text is left-aligned inside the title-safe area and above the lower third.
    """
    from PIL import Image, ImageDraw

    card = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(card)
    y = SAFE_Y + HEIGHT // 10
    font, lines = fit(title, True, TITLE_SIZES, TITLE_LINES)
    size = int(font.size)
    for line in lines:
        draw.text((SAFE_X, y), line, font=font, fill=TITLE_COLOUR)
        y += size * 6 // 5
    y += size // 3
    draw.rectangle((SAFE_X, y, SAFE_X + 160, y + 8), fill=ACCENT)
    y += 8 + size // 2
    if chapter and chapter != title:
        font, lines = fit(chapter, False, CHAPTER_SIZES, CHAPTER_LINES)
        size = int(font.size)
        for line in lines:
            if y + size > TEXT_BOTTOM:
                break
            draw.text((SAFE_X, y), line, font=font, fill=CHAPTER_COLOUR)
            y += size * 5 // 4
    return card


def open_cover(path: Path, load: bool = True) -> Image:
    """The cover image, upright (its EXIF orientation applied) and loaded.

    SettingError naming the file when it is missing, unreadable or larger than
    Pillow's safe limit (about 89 megapixels: a bigger file may be a decompression
    bomb). With ``load`` False, only its header is read.
    """
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise SettingError(f"--cover {path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if not load:
                    return image
                image.load()
                return ImageOps.exif_transpose(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise SettingError(
            f"--cover {path}: the image is too large to read safely: "
            f"give one under {(Image.MAX_IMAGE_PIXELS or 0) // 1_000_000} megapixels"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        reason = "not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else exc
        raise SettingError(f"--cover {path}: {reason}: give a JPEG or PNG file") from None


def check_cover(path: Path) -> None:
    """Raise SettingError now, before any synthesis, if ``path`` is no readable image."""
    open_cover(path, load=False)


#: Cover art as the stores take it: 8-bit RGB, at most this many pixels a side (Apple
#: Podcasts asks for 1400 to 3000; a larger picture only makes the file bigger).
COVER_SIDE = 3000


def embeddable_cover(path: Path, folder: Path) -> Path:
    """The cover as a JPEG or PNG in ``folder``, ready to embed.

    A JPEG or PNG in 8-bit RGB (or grey), upright and at most COVER_SIDE a side,
    is copied as it is; any other is converted: to an RGB JPEG from a JPEG (CMYK,
    turned or too large), to a PNG from anything else. Always a copy: ffmpeg reads
    a name with '%' in it as a numbered sequence.
    """
    import shutil

    from PIL import Image

    image = open_cover(path)
    with Image.open(path) as original:
        kind = original.format or ""
        upright = original.getexif().get(_ORIENTATION, 1) == 1
    plain = image.mode in ("RGB", "L") and max(image.size) <= COVER_SIDE and upright
    if kind in EMBEDDABLE and plain:
        copied = folder / f"cover{EMBEDDABLE[kind]}"
        shutil.copyfile(path, copied)
        return copied
    if image.mode == "P":
        image = image.convert("RGBA")
    if max(image.size) > COVER_SIDE:
        image.thumbnail((COVER_SIDE, COVER_SIDE), Image.Resampling.LANCZOS)
    if kind == "JPEG":  # a photo stays a JPEG (CMYK, turned, or too large)
        converted = folder / "cover.jpg"
        image.convert("RGB").save(converted, "JPEG", quality=92)
    else:
        converted = folder / "cover.png"
        image.convert("RGBA" if "A" in image.getbands() else "RGB").save(converted, "PNG")
    return converted


#: The EXIF tag that says which way up a photo is.
_ORIENTATION = 0x0112


def cover_picture(path: Path) -> Image:
    """The cover scaled to fit 1920×1080, its aspect kept, centred on black."""
    from PIL import Image, ImageOps

    image = open_cover(path)
    if "A" in image.getbands():
        flat = Image.new("RGB", image.size, (0, 0, 0))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    fitted = ImageOps.contain(image.convert("RGB"), (WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    canvas.paste(fitted, ((WIDTH - fitted.width) // 2, (HEIGHT - fitted.height) // 2))
    return canvas


def write_y4m(picture: Image, path: Path, rate: int) -> None:
    """One frame of YUV 4:2:0, BT.709 limited range, as a Y4M file at ``rate`` frames/s.

    Raw frames cost ffmpeg no decoding or scaling, however often they are
    repeated; the frame rate becomes the time base of the concat demuxer.
    """
    import numpy as np

    rgb = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255.0
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    blue_diff = (blue - luma) / 1.8556
    red_diff = (red - luma) / 1.5748

    def plane(values: np.ndarray, scale: float, offset: float) -> bytes:
        return np.clip(np.rint(values * scale + offset), 0, 255).astype(np.uint8).tobytes()

    def half(values: np.ndarray) -> np.ndarray:
        height, width = values.shape
        halved: np.ndarray = values.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        return halved

    header = f"YUV4MPEG2 W{picture.width} H{picture.height} F{rate}:1 Ip A1:1 C420jpeg\n"
    with path.open("wb") as out:
        out.write(header.encode("ascii"))
        out.write(b"FRAME\n")
        out.write(plane(luma, 219, 16))
        out.write(plane(half(blue_diff), 224, 128))
        out.write(plane(half(red_diff), 224, 128))
