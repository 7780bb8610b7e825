"""The on-brand look of local scenes: layouts per frame shape, the brand's color on screen, the
logo on the end card, headlines that animate, consecutive scenes that differ and transitions
between them. Real ffmpeg renders at 360 px, frames read back with PyAV; no stack needed.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.jobs.generation.plan import make_plan
from services.jobs.media_types import BrandKit, InputError, JobIO, Scene, Size
from services.jobs.providers.local import LocalProvider
from services.jobs.render import composite, layouts, logos, timeline
from services.jobs.render.sizes import size_for
from tests.support.brand_kit import product_shot

SHORT = 360
PRIMARY = "#E4572E"
COLORS = {"primary": PRIMARY, "secondary": "#17BEBB", "background": "#1B1B3A"}


def logo_image() -> Image.Image:
    """A mark with transparency and detail enough for a template match."""
    logo = Image.new("RGBA", (320, 140), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((6, 6, 128, 128), fill=(250, 205, 40, 255))
    draw.polygon([(40, 100), (66, 24), (92, 100)], fill=(27, 27, 58, 255))
    for i, shade in enumerate((255, 200, 150)):
        draw.rectangle((150, 20 + i * 38, 310 - i * 40, 46 + i * 38), fill=(shade, shade, shade, 255))
    return logo


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("brand")
    shots = []
    for name, size, color in [
        ("bottle.png", (600, 600), (40, 150, 90)),
        ("can.jpg", (800, 600), (60, 110, 210)),
        ("box.webp", (540, 960), (150, 90, 200)),
    ]:
        product_shot(*size, color).save(path / name, quality=90)
        shots.append(path / name)
    logo_image().save(path / "logo.png")
    (path / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="70">'
        '<circle cx="35" cy="35" r="30" fill="#FACD28"/><rect x="75" y="10" width="80" height="14" fill="#fff"/>'
        '<rect x="75" y="30" width="60" height="14" fill="#ccc"/><rect x="75" y="50" width="40" height="14" '
        'fill="#999"/></svg>'
    )
    return {"dir": path, "images": shots, "logo": path / "logo.png", "svg": path / "logo.svg"}


def brand(assets: dict, logo: str | None = "logo") -> BrandKit:
    return BrandKit(
        colors=dict(COLORS), font="Fredoka One", logo=assets[logo] if logo else None, name="Acme Fizz"
    )


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def render(tmp_path: Path, scene: Scene, assets: dict, size: Size, kit: BrandKit | None) -> list[np.ndarray]:
    out = tmp_path / f"scene_{scene.n}_{scene.layout}_{size.width}x{size.height}.mp4"
    workdir = tmp_path / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    LocalProvider().render_scene(JobIO(workdir=workdir), scene, assets["images"], size, out, brand=kit)
    return frames_of(out)


def rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def share_near(frame: np.ndarray, color: str, tolerance: float = 40) -> float:
    return float((np.linalg.norm(frame - rgb(color), axis=2) < tolerance).mean())


@pytest.mark.parametrize("aspect", ["9:16", "1:1", "16:9"])
@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_every_layout_renders_at_every_aspect(tmp_path, assets, layout, aspect):
    size = size_for(aspect, SHORT)
    scene = Scene(2, "d", 1.0, on_screen_text="Real fruit. Real fizz.", layout=layout)
    frames = render(tmp_path, scene, assets, size, brand(assets))
    assert len(frames) == 30
    assert frames[0].shape == (size.height, size.width, 3)
    assert frames[15].std() > 10  # a composed picture, not a blank frame


@pytest.mark.parametrize("layout", ["product_on_color", "typographic"])
def test_the_primary_color_covers_a_visible_share(tmp_path, assets, layout):
    scene = Scene(1, "d", 1.0, on_screen_text="Real fruit.", layout=layout)
    frames = render(tmp_path, scene, assets, size_for("9:16", SHORT), brand(assets))
    assert share_near(frames[15], PRIMARY) > 0.15
    # The default look is not this brand's: the color comes from the brand kit.
    default = render(tmp_path / "default", scene, assets, size_for("9:16", SHORT), None)
    assert share_near(default[15], PRIMARY) < 0.02


def normalized_correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def best_match(frame: np.ndarray, template: np.ndarray, at: tuple[int, int], search: int = 6) -> float:
    """The best normalized cross-correlation of `template` (grey) in `frame` (grey) within
    `search` pixels of `at` (its expected top-left corner)."""
    h, w = template.shape
    best = -1.0
    for dy in range(-search, search + 1, 2):
        for dx in range(-search, search + 1, 2):
            y, x = at[1] + dy, at[0] + dx
            if 0 <= y and 0 <= x and y + h <= frame.shape[0] and x + w <= frame.shape[1]:
                best = max(best, normalized_correlation(frame[y : y + h, x : x + w], template))
    return best


def grey(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize(("aspect", "logo"), [("9:16", "logo"), ("16:9", "logo"), ("1:1", "svg")])
def test_the_end_card_shows_the_logo(tmp_path, assets, aspect, logo):
    size = size_for(aspect, SHORT)
    scene = Scene(5, "d", 1.5, on_screen_text="Shop now", role="cta", layout="end_card")
    last = render(tmp_path, scene, assets, size, brand(assets, logo))[-1]
    box, centre = layouts.logo_box(size)
    mark = logos.load_logo(assets[logo], box)
    backdrop = Image.new("RGBA", mark.size, (*rgb(COLORS["background"]).tolist(), 255))
    template = grey(np.asarray(Image.alpha_composite(backdrop, mark)))
    at = (centre[0] - mark.width // 2, centre[1] - mark.height // 2)
    assert best_match(grey(last), template, at) > 0.9
    # Without a logo the brand's name stands there instead, and the logo's match is gone.
    named = render(tmp_path / "nologo", scene, assets, size, brand(assets, None))[-1]
    assert best_match(grey(named), template, at) < 0.6


def test_an_unreadable_svg_logo_is_an_input_error(tmp_path):
    broken = tmp_path / "logo.svg"
    broken.write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect width='10'")
    with pytest.raises(InputError, match=r"logo\.svg is not a readable SVG"):
        logos.load_logo(broken, (100, 100))


@pytest.mark.parametrize("layout", ["full_bleed", "product_on_color", "split", "typographic"])
def test_the_headline_animates_in_and_out(tmp_path, assets, layout):
    size = size_for("9:16", SHORT)
    words = "Cold for 24 hours"
    titled = render(
        tmp_path / "t", Scene(3, "d", 2.0, on_screen_text=words, layout=layout), assets, size, brand(assets)
    )
    quiet = render(
        tmp_path / "q", Scene(3, "d", 2.0, on_screen_text=" ", layout=layout), assets, size, brand(assets)
    )
    workdir = tmp_path / "compose"
    workdir.mkdir()
    parts = layouts.compose(
        Scene(3, "d", 2.0, on_screen_text=words, layout=layout),
        brand(assets),
        assets["images"],
        size,
        2.0,
        workdir,
    )
    head = next(layer for layer in parts.layers if layer.path.stem == "headline")
    region = (slice(head.y, head.y + head.height), slice(head.x, head.x + head.width))

    def difference(i: int) -> float:
        return float(np.abs(titled[i][region] - quiet[i][region]).mean())

    assert difference(0) < 2  # not there yet
    assert difference(30) > 15  # in place mid-scene
    assert difference(59) < 2  # gone before the scene ends
    # On its way in at frame 10 (sliding and fading), in place at frame 30.
    assert np.abs(titled[10][region] - titled[30][region]).mean() > 2


def test_consecutive_scenes_of_a_drafted_script_differ(tmp_path, assets):
    script = [
        {
            "order": 1,
            "description": "Hook: a striking opening",
            "duration_s": 1.0,
            "on_screen_text": "Thirsty?",
        },
        {"order": 2, "description": "Product shot", "duration_s": 1.0, "on_screen_text": "Acme Fizz"},
        {"order": 3, "description": "Benefit: real fruit", "duration_s": 1.0, "on_screen_text": "Real fruit"},
        {"order": 4, "description": "Call to action", "duration_s": 1.0, "on_screen_text": "Shop now"},
    ]
    plan = make_plan(script, ["a", "b", "c"], "9:16", SHORT, "local")
    chosen = [s["layout"] for s in plan["scenes"]]
    assert all(a != b for a, b in zip(chosen, chosen[1:], strict=False))
    size = size_for("9:16", SHORT)
    middles = []
    for spec in plan["scenes"]:
        scene = Scene(
            spec["n"],
            spec["description"],
            1.0,
            spec["on_screen_text"],
            role=spec["role"],
            layout=spec["layout"],
        )
        middles.append(render(tmp_path, scene, assets, size, brand(assets))[15])
    for before, after in zip(middles, middles[1:], strict=False):
        assert np.abs(before - after).mean() > 25


@pytest.mark.parametrize("transition", ["crossfade", "slide", "wipe"])
def test_a_transition_frame_differs_from_both_neighbours(tmp_path, assets, transition):
    size = size_for("9:16", SHORT)
    tl = timeline.plan([1.0, 1.0], transition_s=0.4)
    kit = brand(assets)
    files = []
    for i, (layout, duration) in enumerate(
        zip(["typographic", "end_card"], tl.render_s, strict=True), start=1
    ):
        out = tmp_path / f"scene_{i}.mp4"
        scene = Scene(i, "d", duration, on_screen_text="Real fruit" if i == 1 else "Shop now", layout=layout)
        LocalProvider().render_scene(JobIO(workdir=tmp_path), scene, assets["images"], size, out, brand=kit)
        files.append(out)
    ad = tmp_path / "ad.mp4"
    composite.composite(JobIO(workdir=tmp_path), files, tl, None, None, size, ad, transitions=[transition])
    frames = frames_of(ad)
    assert len(frames) == tl.total_frames
    start, end = tl.xfade_offset_frames[0], tl.xfade_offset_frames[0] + tl.transition_frames
    before, middle, after = frames[start - 1], frames[(start + end) // 2], frames[end + 1]
    assert np.abs(middle - before).mean() > 8
    assert np.abs(middle - after).mean() > 8
    if transition == "crossfade":
        # A blend: close to the mean of the two pictures, everywhere.
        assert np.abs(middle - (before + after) / 2).mean() < 12
    else:
        # A slide or a wipe: part of the frame from each side, not a blend.
        rows = np.abs(middle - before).mean(axis=(0, 2))
        assert rows.min() < 8 and rows.max() > 30


def test_an_unknown_transition_is_an_input_error(tmp_path, assets):
    with pytest.raises(InputError, match=r"unknown transition 'spin'"):
        composite.xfade_names(["spin"], 1)
    assert composite.xfade_names(None, 2) == ["fade", "fade"]  # plans from before: crossfades


@pytest.mark.parametrize("aspect", ["9:16", "1:1", "16:9"])
@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_text_keeps_out_of_the_captions_band(tmp_path, assets, layout, aspect):
    """The composite burns the voice captions in a band centred at 75 % of the height (tall frames)
    or 86 % (others), up to 12 % of the height tall: headlines and buttons stay above it."""
    size = size_for(aspect, SHORT)
    long_text = "Real fruit, real fizz, and nothing else in every single can we make"
    scene = Scene(2, "d", 2.0, on_screen_text=long_text, layout=layout)
    parts = layouts.compose(scene, brand(assets), assets["images"], size, 2.0, tmp_path)
    centre = 0.75 if size.height > size.width else 0.86
    band_top = (centre - 0.06) * size.height
    texts = [layer for layer in parts.layers if layer.path.stem in ("headline", "cta")]
    assert texts
    for layer in texts:
        assert 0 <= layer.x and layer.x + layer.width <= size.width
        assert 0 <= layer.y and layer.y + layer.height <= band_top, layer.path.stem
