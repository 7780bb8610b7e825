"""Scene layouts: what a scene's frames are made of, in the brand's colors and font.

Pillow draws every still part once (the background, the product with its shadow, the headline, the
logo); a layout answers those files and how each moves, and scenes.py animates them in one ffmpeg
run (a moving crop of the background, overlays whose position and opacity follow the time).
Everything is placed in shares of the frame, per frame shape, so 9:16, 1:1 and 16:9 are each
composed rather than cropped from one another.

- full_bleed: the product image filling the frame in slow pan/zoom, the headline on a brand-color
  panel.
- product_on_color: the product as a card (or its own cut-out, when the image has transparency)
  with a soft shadow, floating on a gradient of the primary color.
- split: the headline on a primary-color block, the product beside it (wide and square frames) or
  below it (tall frames).
- typographic: no product; a big headline and an accent bar on the primary color (on the
  background color in even-numbered scenes).
- end_card: the logo (or the brand's name when there is none), the call to action as a button in
  the primary color, on the brand's background color.

Headlines keep out of the band where the composite burns the voice captions (centred at 75 % of
the height in tall frames, 86 % in others).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from services.common.brand_kit import DEFAULT_COLORS, DEFAULT_FONT
from services.jobs.media_types import BrandKit, InputError, Scene, Size
from services.jobs.render import images, logos, text

LAYOUTS = ("full_bleed", "product_on_color", "split", "typographic", "end_card")
PRODUCT_LAYOUTS = frozenset({"full_bleed", "product_on_color", "split"})  # need a product image
DEFAULT_LAYOUT = "full_bleed"
DEFAULT_BRAND = BrandKit(colors=dict(DEFAULT_COLORS), font=DEFAULT_FONT)

ZOOM = 1.15  # full_bleed: the closest the pan/zoom gets; its canvas is drawn at this scale
HEADLINE_SHARE, HEADLINE_MIN_SHARE = 0.085, 0.05  # of the short side
TITLE_SHARE, TITLE_MIN_SHARE = 0.12, 0.07  # typographic scenes and the brand name on an end card
CTA_SHARE = 0.068
SHADOW_ALPHA = 0.45
# split, in wide and square frames: the product's place, as shares of the frame's width
SPLIT_PRODUCT_CENTRE_X, SPLIT_PRODUCT_WIDTH = 0.73, 0.44


@dataclass(frozen=True)
class Layer:
    """An RGBA still laid over the background at (x, y). It can come in (from `slide` away from its
    place, fading in when `fades`) at enter_s, go out the same way at exit_s, and drift by `drift`
    pixels over the whole scene."""

    path: Path
    x: int
    y: int
    width: int
    height: int
    enter_s: float | None = None
    exit_s: float | None = None
    move_s: float = 0.4
    fades: bool = True
    slide: tuple[int, int] = (0, 0)
    drift: tuple[int, int] = (0, 0)

    @property
    def fading(self) -> bool:
        return self.fades and (self.enter_s is not None or self.exit_s is not None)


@dataclass(frozen=True)
class Composition:
    """A scene's parts: the background (an RGB PPM of the frame size, or ZOOM times it when it
    pans and zooms; or a video of the frame size when `moving`) and the layers over it, bottom
    first."""

    background: Path
    pans: bool
    layers: tuple[Layer, ...]
    moving: bool = False  # the background is a video of the scene's frames, not a still


def image_for(scene: Scene, image_paths: list[Path]) -> Path:
    """The image the plan chose for the scene; a plan from before that choice: scene n shows image
    (n-1) mod len(images), so consecutive scenes differ when there are several."""
    if not image_paths:
        raise InputError("a scene needs at least one product image")
    index = scene.image if scene.image is not None else scene.n - 1
    return image_paths[index % len(image_paths)]


def canvas_size(size: Size) -> tuple[int, int]:
    return _even_up(size.width * ZOOM), _even_up(size.height * ZOOM)


def compose(
    scene: Scene,
    brand: BrandKit | None,
    image_paths: list[Path],
    size: Size,
    duration_s: float,
    workdir: Path,
) -> Composition:
    """Draw the still parts of `scene` into `workdir` and say how they move over `duration_s`."""
    layout = scene.layout or DEFAULT_LAYOUT
    draw = _LAYOUTS.get(layout)
    if draw is None:
        raise InputError(f"unknown scene layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    return draw(_Frame(scene, brand or DEFAULT_BRAND, image_paths, size, duration_s, workdir))


@dataclass(frozen=True)
class _Frame:
    scene: Scene
    brand: BrandKit
    image_paths: list[Path]
    size: Size
    duration_s: float
    workdir: Path

    @property
    def w(self) -> int:
        return self.size.width

    @property
    def h(self) -> int:
        return self.size.height

    @property
    def short(self) -> int:
        return min(self.w, self.h)

    @property
    def tall(self) -> bool:
        return self.h > self.w

    @property
    def wide(self) -> bool:
        return self.w > self.h

    def color(self, role: str) -> tuple[int, int, int]:
        return _rgb(self.brand.colors.get(role) or DEFAULT_COLORS[role])

    def headline_text(self) -> str | None:
        return self.scene.on_screen_text

    def product(self, at_least: tuple[int, int]) -> Image.Image:
        """The scene's product image, decoded no larger than needed for `at_least` pixels."""
        path = image_for(self.scene, self.image_paths)
        return images.load_image(path, at_least)

    def save_background(self, image: Image.Image) -> Path:
        out = self.workdir / "background.ppm"
        image.convert("RGB").save(out, format="PPM")
        return out

    def save_layer(self, image: Image.Image, name: str) -> Path:
        out = self.workdir / f"{name}.png"
        image.save(out, format="PNG", compress_level=0)  # scratch: written once, read once
        return out

    def timing(self) -> tuple[float, float, float]:
        """When a headline comes in and starts going out, and how long each move takes: in after
        the incoming transition's middle, out before the outgoing one's."""
        move = min(0.4, self.duration_s * 0.2)
        enter = min(0.3, self.duration_s * 0.12)
        exit_ = max(enter + move, self.duration_s - move - min(0.25, self.duration_s * 0.08))
        return enter, exit_, move

    def headline(
        self,
        words: str | None,
        style: text.Style,
        max_width: int,
        share: tuple[float, float] = (HEADLINE_SHARE, HEADLINE_MIN_SHARE),
        max_lines: int = 3,
    ) -> Image.Image | None:
        return text.text_block(
            words, style, max_width, round(self.short * share[0]), round(self.short * share[1]), max_lines
        )

    def moving_headline(
        self, block: Image.Image | None, x: int, y: int, slide: tuple[int, int]
    ) -> list[Layer]:
        """The headline at (x, y), coming in from `slide` away and going out the same way."""
        if block is None:
            return []
        enter, exit_, move = self.timing()
        return [
            Layer(
                self.save_layer(block, "headline"),
                x,
                y,
                block.width,
                block.height,
                enter_s=enter,
                exit_s=exit_,
                move_s=move,
                slide=slide,
            )
        ]

    def product_layer(self, box: tuple[int, int], centre: tuple[int, int], slide: tuple[int, int]) -> Layer:
        card, inset = _product_card(self.product(box), box, self.short)
        return Layer(
            self.save_layer(card, "product"),
            round(centre[0] - inset[0] - (card.width - 2 * inset[0]) / 2),
            round(centre[1] - inset[1] - (card.height - 2 * inset[1]) / 2),
            card.width,
            card.height,
            enter_s=0.0,
            move_s=min(0.6, self.duration_s * 0.3),
            fades=False,
            slide=slide,
            drift=(0, -round(self.h * 0.025)),
        )


def _full_bleed(f: _Frame) -> Composition:
    canvas = f.workdir / "background.ppm"
    images.prepare_canvas(f.product(canvas_size(f.size)), canvas_size(f.size), canvas)
    return Composition(canvas, True, tuple(_full_bleed_headline(f)))


def _full_bleed_headline(f: _Frame) -> list[Layer]:
    primary = f.color("primary")
    style = text.Style(font=f.brand.font, color=_contrast(primary), panel=(*primary, 235))
    block = f.headline(f.headline_text(), style, round(f.w * 0.84))
    if block is None:
        return []
    y = round(f.h * (0.1 if f.tall else 0.08))
    return f.moving_headline(block, (f.w - block.width) // 2, y, (-round(f.w * 0.08), 0))


def over_footage(
    scene: Scene, brand: BrandKit | None, footage: Path, size: Size, duration_s: float, workdir: Path
) -> Composition:
    """A full_bleed scene whose moving background is footage made elsewhere (a video model's clip,
    already of the frame size and the scene's length): the same animated headline on its panel."""
    f = _Frame(scene, brand or DEFAULT_BRAND, [], size, duration_s, workdir)
    return Composition(footage, False, tuple(_full_bleed_headline(f)), moving=True)


def _product_on_color(f: _Frame) -> Composition:
    primary = f.color("primary")
    top, bottom = _mix(primary, (255, 255, 255), 0.12), _mix(primary, (0, 0, 0), 0.35)
    background = _gradient((f.w, f.h), top, bottom, glow=(f.w // 2, round(f.h * 0.55), round(f.short * 0.45)))
    style = text.Style(font=f.brand.font, color=_contrast(top))
    block = f.headline(f.headline_text(), style, round(f.w * 0.86))
    head_y = round(f.h * (0.09 if f.tall else 0.07))
    head_bottom = head_y + (block.height if block is not None else 0)
    if f.tall:
        box, centre_y = (round(f.w * 0.82), round(f.h * 0.44)), round(f.h * 0.53)
    elif f.wide:
        box, centre_y = (round(f.w * 0.5), round(f.h * 0.58)), round(f.h * 0.6)
    else:
        box, centre_y = (round(f.w * 0.7), round(f.h * 0.56)), round(f.h * 0.6)
    # The product never covers the headline: below it, a little smaller when the text is long.
    room = f.h - round(f.h * 0.04) - head_bottom
    box = (box[0], min(box[1], room))
    centre_y = max(centre_y, head_bottom + round(f.h * 0.02) + box[1] // 2)
    product = f.product_layer(box, (f.w // 2, centre_y), (0, round(f.h * 0.06)))
    layers = [product]
    if block is not None:
        layers += f.moving_headline(block, (f.w - block.width) // 2, head_y, (0, round(f.h * 0.04)))
    return Composition(f.save_background(background), False, tuple(layers))


def _split(f: _Frame) -> Composition:
    primary, backdrop = f.color("primary"), _mix(f.color("background"), (255, 255, 255), 0.08)
    background = Image.new("RGB", (f.w, f.h), backdrop)
    draw = ImageDraw.Draw(background)
    style_color = _contrast(primary)
    if f.tall:
        panel_h = round(f.h * 0.4)
        draw.rectangle((0, 0, f.w, panel_h), fill=primary)
        draw.rectangle((0, panel_h, f.w, panel_h + max(2, f.h // 120)), fill=f.color("secondary"))
        block = f.headline(
            f.headline_text(), text.Style(font=f.brand.font, color=style_color), round(f.w * 0.84)
        )
        layers = [
            f.product_layer(
                (round(f.w * 0.8), round(f.h * 0.46)), (f.w // 2, round(f.h * 0.67)), (0, round(f.h * 0.05))
            )
        ]
        if block is not None:
            y = max(0, (panel_h - block.height) // 2)
            layers += f.moving_headline(block, (f.w - block.width) // 2, y, (0, round(f.h * 0.04)))
    else:
        panel_w = round(f.w * 0.46)
        draw.rectangle((0, 0, panel_w, f.h), fill=primary)
        draw.rectangle((panel_w, 0, panel_w + max(2, f.w // 120), f.h), fill=f.color("secondary"))
        margin = round(f.w * 0.05)
        block = f.headline(
            f.headline_text(),
            text.Style(font=f.brand.font, color=style_color, align="left"),
            panel_w - 2 * margin,
            max_lines=4,
        )
        layers = [
            f.product_layer(
                (round(f.w * SPLIT_PRODUCT_WIDTH), round(f.h * 0.7)),
                (round(f.w * SPLIT_PRODUCT_CENTRE_X), round(f.h * 0.46)),
                (round(f.w * 0.06), 0),
            )
        ]
        if block is not None:
            y = max(0, round(f.h * 0.42) - block.height // 2)
            layers += f.moving_headline(block, margin, y, (-round(f.w * 0.08), 0))
    return Composition(f.save_background(background), False, tuple(layers))


def caption_span(layout: str, size: Size) -> tuple[float, float] | None:
    """Where the voice captions of a scene of this layout go across the frame, as (centre, width)
    shares of its width; None: centred, as wide as captions go. A split scene in a wide or square
    frame has them under its product: centred, they would straddle the headline block's edge."""
    if layout == "split" and size.height <= size.width:
        return SPLIT_PRODUCT_CENTRE_X, SPLIT_PRODUCT_WIDTH
    return None


def _typographic(f: _Frame) -> Composition:
    # Odd scenes on the primary color, even ones on the background color with primary text and
    # bar: two typographic scenes in a row (a brand without product images) still differ.
    primary, backdrop = f.color("primary"), f.color("background")
    if f.scene.n % 2:
        fill, words_color, bar_color = primary, _contrast(primary), f.color("secondary")
    else:
        fill, bar_color = backdrop, primary
        words_color = (*primary, 255) if _contrast_ratio(primary, backdrop) >= 3 else _contrast(backdrop)
    background = _gradient((f.w, f.h), fill, _mix(fill, (0, 0, 0), 0.22))
    words = f.scene.on_screen_text or f.scene.voiceover_text or f.brand.name
    style = text.Style(font=f.brand.font, color=words_color)
    block = f.headline(words, style, round(f.w * 0.84), (TITLE_SHARE, TITLE_MIN_SHARE), max_lines=4)
    layers: list[Layer] = []
    centre_y = round(f.h * (0.38 if f.tall else 0.42))
    if block is not None:
        y = max(0, centre_y - block.height // 2)
        bar = Image.new("RGBA", (round(f.w * 0.2), max(4, round(f.short * 0.018))), (*bar_color, 255))
        enter, _exit, move = f.timing()
        layers.append(
            Layer(
                f.save_layer(bar, "accent"),
                (f.w - bar.width) // 2,
                y + block.height + round(f.short * 0.03),
                bar.width,
                bar.height,
                enter_s=enter + move / 2,
                move_s=move,
                slide=(-round(f.w * 0.3), 0),
            )
        )
        layers += f.moving_headline(block, (f.w - block.width) // 2, y, (0, round(f.h * 0.05)))
    return Composition(f.save_background(background), False, tuple(layers))


def _end_card(f: _Frame) -> Composition:
    backdrop = f.color("background")
    primary = f.color("primary")
    background = Image.new("RGB", (f.w, f.h), backdrop)
    draw = ImageDraw.Draw(background)
    band = max(4, round(f.h * 0.012))
    draw.rectangle((0, 0, f.w, band), fill=primary)
    draw.rectangle((0, f.h - band, f.w, f.h), fill=f.color("secondary"))
    box, centre = logo_box(f.size)
    move = min(0.5, f.duration_s * 0.25)
    layers: list[Layer] = []
    mark: Image.Image | None
    if f.brand.logo is not None:
        mark = logos.load_logo(f.brand.logo, box)
    else:
        name_color = (*primary, 255) if _contrast_ratio(primary, backdrop) >= 3 else _contrast(backdrop)
        mark = f.headline(
            f.brand.name or None,
            text.Style(font=f.brand.font, color=name_color),
            box[0],
            (TITLE_SHARE, TITLE_MIN_SHARE),
        )
    mark_bottom = centre[1]
    if mark is not None:
        x, y = centre[0] - mark.width // 2, centre[1] - mark.height // 2
        layers.append(
            Layer(
                f.save_layer(mark, "logo"),
                x,
                y,
                mark.width,
                mark.height,
                enter_s=min(0.1, f.duration_s * 0.05),
                move_s=move,
                slide=(0, -round(f.h * 0.03)),
            )
        )
        mark_bottom = y + mark.height
    call = f.scene.on_screen_text
    style = text.Style(font=f.brand.font, color=_contrast(primary), panel=(*primary, 255))
    button = f.headline(call, style, round(f.w * 0.8), (CTA_SHARE, HEADLINE_MIN_SHARE), max_lines=2)
    if button is not None:
        y = mark_bottom + round(f.h * 0.06)
        layers.append(
            Layer(
                f.save_layer(button, "cta"),
                (f.w - button.width) // 2,
                y,
                button.width,
                button.height,
                enter_s=min(0.45, f.duration_s * 0.2),
                move_s=move,
                slide=(0, round(f.h * 0.04)),
            )
        )
    return Composition(f.save_background(background), False, tuple(layers))


def logo_box(size: Size) -> tuple[tuple[int, int], tuple[int, int]]:
    """The end card's logo: the box it is fitted into and its centre."""
    if size.height > size.width:
        return (round(size.width * 0.56), round(size.height * 0.2)), (
            size.width // 2,
            round(size.height * 0.34),
        )
    return (round(size.width * 0.36), round(size.height * 0.3)), (size.width // 2, round(size.height * 0.36))


_LAYOUTS = {
    "full_bleed": _full_bleed,
    "product_on_color": _product_on_color,
    "split": _split,
    "typographic": _typographic,
    "end_card": _end_card,
}


def _product_card(
    image: Image.Image, box: tuple[int, int], short: int
) -> tuple[Image.Image, tuple[int, int]]:
    """The product fitted into `box`, its own cut-out when the image has transparency and a
    rounded card otherwise, over a soft shadow; and where the product sits in the returned image."""
    fitted = ImageOps.contain(image, (max(1, box[0]), max(1, box[1])), Image.Resampling.BICUBIC)
    lowest_alpha = fitted.getchannel("A").getextrema()[0] if fitted.mode == "RGBA" else 255
    if isinstance(lowest_alpha, int) and lowest_alpha < 250:
        mask = fitted.getchannel("A")
    else:
        mask = Image.new("L", fitted.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (0, 0, fitted.width - 1, fitted.height - 1), radius=max(2, round(short * 0.03)), fill=255
        )
    blur = max(2, round(short * 0.03))
    offset = max(1, round(short * 0.02))
    pad = 2 * blur + offset
    card = Image.new("RGBA", (fitted.width + 2 * pad, fitted.height + 2 * pad), (0, 0, 0, 0))
    # The shadow is blurred at a quarter of the size: as soft, for a sixteenth of the work.
    small = (max(1, card.width // 4), max(1, card.height // 4))
    shadow_mask = Image.new("L", card.size, 0)
    shadow_mask.paste(mask.point(lambda a: round(a * SHADOW_ALPHA)), (pad, pad + offset))
    shadow_mask = (
        shadow_mask.resize(small, Image.Resampling.BILINEAR)
        .filter(ImageFilter.GaussianBlur(blur / 4))
        .resize(card.size, Image.Resampling.BILINEAR)
    )
    card.putalpha(shadow_mask)
    front = fitted.convert("RGB")
    card.paste(front, (pad, pad), mask)
    return card, (pad, pad)


def _gradient(
    size: tuple[int, int],
    top: tuple[int, int, int],
    bottom: tuple[int, int, int],
    glow: tuple[int, int, int] | None = None,
) -> Image.Image:
    """A vertical gradient from `top` to `bottom`, with a soft light at `glow` (x, y, radius) when
    given. Drawn at an eighth of the size and scaled up: both are smooth, so this looks the same
    for a sixtieth of the pixels."""
    width, height = size
    small_w, small_h = max(2, width // 8), max(2, height // 8)
    ramp = np.linspace(0.0, 1.0, small_h, dtype=np.float32)[:, None]
    column = np.array(top, np.float32)[None, :] * (1 - ramp) + np.array(bottom, np.float32)[None, :] * ramp
    pixels = np.repeat(column[:, None, :], small_w, axis=1)
    small = Image.fromarray(np.round(pixels).astype(np.uint8), "RGB")
    if glow is not None:
        cx, cy, r = (v / 8 for v in glow)
        light = Image.new("L", small.size, 0)
        ImageDraw.Draw(light).ellipse((cx - r, cy - r, cx + r, cy + r), fill=70)
        small.paste((255, 255, 255), mask=light.filter(ImageFilter.GaussianBlur(max(1.0, r / 2))))
    return small.resize(size, Image.Resampling.BILINEAR)


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * share) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((text.luminance(a), text.luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _contrast(color: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """White or near-black text, whichever reads better on `color`."""
    white, dark = (255, 255, 255), (17, 17, 17)
    return (*white, 255) if _contrast_ratio(white, color) >= _contrast_ratio(dark, color) else (*dark, 255)


def _even_up(value: float) -> int:
    rounded = round(value)
    return rounded + rounded % 2
