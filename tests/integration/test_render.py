"""The local renderer: real ffmpeg (imageio-ffmpeg), real eSpeak NG, files inspected with PyAV.

No stack needed. Images are made with Pillow in temporary directories; renders are 360 px on the
short side and a second or so long, to keep the suite quick on two cores.
"""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import psutil
import pytest
from PIL import Image

from devstack.stack import ROOT
from services.jobs.media_types import Cancelled, InputError, JobIO, Scene, TransientProviderError
from services.jobs.providers.local import LocalProvider
from services.jobs.render import audio, composite, ffmpeg, images, probe, scenes, text, timeline
from services.jobs.render.audio import _write_wav
from services.jobs.render.sizes import size_for
from tests.support.brand_kit import product_shot

SHORT = 360


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("images")
    product_shot(600, 600, (220, 110, 60)).save(path / "square.png")
    product_shot(800, 600, (60, 130, 220)).save(path / "wide.jpg", quality=90)
    product_shot(540, 960, (110, 190, 100)).save(path / "tall.webp", quality=90)
    return path


@pytest.fixture(scope="module")
def product_images(image_dir) -> list[Path]:
    return [image_dir / "square.png", image_dir / "wide.jpg", image_dir / "tall.webp"]


def job_io(workdir: Path, checkpoint=lambda: None) -> JobIO:
    workdir.mkdir(parents=True, exist_ok=True)
    return JobIO(workdir=workdir, checkpoint=checkpoint)


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.int16)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        at += size
    return boxes


# --- image checks ---


def test_real_images_pass_the_check(product_images):
    assert [images.check_image(p).format for p in product_images] == ["PNG", "JPEG", "WEBP"]


def test_truncated_image_is_refused_with_its_name(tmp_path, product_images):
    for source in product_images[:2]:
        data = source.read_bytes()
        broken = tmp_path / f"broken{source.suffix}"
        broken.write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError, match=rf"broken\{source.suffix}.*(corrupt|truncated)"):
            images.check_image(broken)


def test_non_image_named_png_is_refused(tmp_path):
    fake = tmp_path / "photo.png"
    fake.write_text("this is not an image at all")
    with pytest.raises(InputError, match=r"photo\.png is not a PNG, JPEG or WebP image"):
        images.check_image(fake)
    gif = tmp_path / "animation.jpg"
    Image.new("RGB", (10, 10), "red").save(gif, format="GIF")
    with pytest.raises(InputError, match=r"animation\.jpg is not a PNG, JPEG or WebP"):
        images.check_image(gif)


def test_image_over_40_megapixels_is_refused_before_decoding(tmp_path):
    big = tmp_path / "huge.png"
    Image.new("RGB", (8000, 6000), (20, 40, 60)).save(big, compress_level=1)
    with pytest.raises(InputError, match=r"huge\.png is too large: 8000x6000 is 48\.0 megapixels"):
        images.check_image(big)


def test_truncated_large_jpeg_is_caught_by_the_reduced_decode(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 3 // 4])
    shrunk = images.load_image(tmp_path / "full.jpg", (200, 200)).size
    assert shrunk[0] < 1600 and min(shrunk) >= 200  # decoded at a reduced scale, still big enough
    with pytest.raises(InputError, match=r"cut\.jpg is corrupt or truncated"):
        images.load_image(tmp_path / "cut.jpg", (200, 200))


def test_exif_orientation_is_applied(tmp_path):
    photo = Image.new("RGB", (400, 200), (200, 30, 30))
    exif = photo.getexif()
    exif[0x0112] = 6  # taken with the phone turned: display rotated 90 degrees clockwise
    photo.save(tmp_path / "turned.jpg", exif=exif)
    assert images.load_image(tmp_path / "turned.jpg").size == (200, 400)


@pytest.mark.parametrize("kind", ["corrupt", "not-an-image", "too-large"])
def test_bad_image_fails_the_scene_before_ffmpeg(tmp_path, kind):
    bad = tmp_path / "product.png"
    if kind == "corrupt":
        buffer = tmp_path / "good.png"
        product_shot(400, 400, (200, 100, 50)).save(buffer)
        data = buffer.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "not-an-image":
        bad.write_bytes(b"%PDF-1.4 not an image")
    else:
        Image.new("L", (7000, 6000), 128).save(bad, compress_level=1)
    out = tmp_path / "scene.mp4"
    with pytest.raises(InputError, match=r"product\.png"):
        scenes.render_scene(job_io(tmp_path / "work"), Scene(1, "d", 1.0), [bad], size_for("1:1", SHORT), out)
    assert not out.exists()
    assert not list(tmp_path.glob(".scene.partial*"))


# --- text ---


def test_long_text_wraps_inside_its_width(tmp_path):
    words = "Stay cold for twenty four hours with the bottle that goes everywhere you go " * 3
    style = text.Style(font="Lato", panel=text.PANEL_RGBA)
    block = text.text_block(words, style, max_width=300, px=30, min_px=18, max_lines=4)
    assert block is not None and block.mode == "RGBA"
    assert block.width <= 300 + 2 * 30  # the lines, plus the panel's padding
    assert block.height < 4 * 30 * 1.6  # four lines at most: shrunk, then cut with an ellipsis
    alpha = np.asarray(block.getchannel("A"))
    assert alpha.max() == 255 and alpha.min() == 0  # opaque letters, transparent corners
    assert text.text_block("   ", style, 300, 30, 18) is None


# --- scenes ---


@pytest.mark.parametrize(
    ("aspect", "dims"), [("9:16", (360, 640)), ("16:9", (640, 360)), ("1:1", (360, 360))]
)
def test_one_second_scene_for_each_aspect(tmp_path, product_images, aspect, dims):
    out = tmp_path / "scene.mp4"
    progress = []
    io = JobIO(workdir=tmp_path, progress=lambda pct, stage: progress.append(pct))
    scene = Scene(2, "d", 1.0, on_screen_text="Order today")
    LocalProvider().render_scene(io, scene, product_images, size_for(aspect, SHORT), out)
    info = probe.probe(out)
    assert info.video is not None and info.audio is None
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert (info.video.width, info.video.height) == dims
    assert info.video.fps == pytest.approx(30)
    assert abs(info.video.duration_s - 1.0) <= 0.05
    assert info.video.frames == 30
    assert progress and max(progress) <= 100


def test_scene_moves(tmp_path, product_images):
    out = tmp_path / "scene.mp4"
    scenes.render_scene(
        job_io(tmp_path / "w"), Scene(1, "d", 1.0), product_images, size_for("1:1", SHORT), out
    )
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    assert np.abs(frames[0] - frames[-1]).mean() > 3  # the zoom changed the picture


# --- audio ---


def test_voiceover_is_exact_with_silence_where_no_text(tmp_path):
    script = [
        Scene(1, "d", 1.0, voiceover_text="Meet the bottle."),
        Scene(2, "d", 1.0),
        Scene(3, "d", 1.0, voiceover_text="Order today."),
    ]
    out = tmp_path / "voiceover.wav"
    LocalProvider().voiceover(job_io(tmp_path / "w"), script, [0.0, 1.0, 2.0], 3.0, out)
    samples, rate = probe.audio_samples(out)
    assert len(samples) == round(3.0 * rate)
    assert probe.probe(out).audio.duration_s == pytest.approx(3.0, abs=1e-3)
    assert rms(samples[int(1.0 * rate) : int(2.0 * rate)]) == 0  # scene 2 has no text
    assert rms(samples[: int(1.0 * rate)]) > 0.02
    assert rms(samples[int(2.0 * rate) :]) > 0.02
    assert rms(samples[: int(0.1 * rate)]) == 0  # speech starts just after its scene


def test_voiceover_too_long_for_its_scene_stays_inside_it(tmp_path):
    long_text = "This sentence is far too long to be spoken in the single second this scene lasts."
    script = [Scene(1, "d", 1.0, voiceover_text=long_text), Scene(2, "d", 1.0)]
    out = tmp_path / "voiceover.mp3"
    LocalProvider().voiceover(job_io(tmp_path / "w"), script, [0.0, 1.0], 2.0, out)
    info = probe.probe(out)
    assert info.audio.codec == "mp3"
    samples, rate = probe.audio_samples(out)
    assert abs(len(samples) / rate - 2.0) <= 0.05
    assert rms(samples[: int(0.9 * rate)]) > 0.02
    assert rms(samples[int(1.05 * rate) :]) < 0.002  # nothing spills into scene 2


def test_music_is_exact_non_silent_and_a_chord(tmp_path):
    out = tmp_path / "music.wav"
    LocalProvider().music(job_io(tmp_path / "w"), 3.0, out)
    samples, rate = probe.audio_samples(out)
    assert len(samples) == round(3.0 * rate)
    assert rms(samples) > 0.03
    window = samples[rate // 2 : rate * 2]
    spectrum = np.abs(np.fft.rfft(window))
    freqs = np.fft.rfftfreq(len(window), 1 / rate)
    strong = freqs[spectrum > spectrum.max() * 0.1]
    notes = 1 + np.count_nonzero(np.diff(strong) > 20)  # strong bands more than 20 Hz apart
    assert notes >= 4  # a chord over a bass, not a single sine
    again = tmp_path / "again.wav"
    LocalProvider().music(job_io(tmp_path / "w"), 3.0, again)
    assert again.read_bytes() == out.read_bytes()


# --- composite ---


@pytest.fixture(scope="module")
def three_scenes(tmp_path_factory, product_images):
    """Three 1 s scenes rendered at their timeline lengths, the voiceover and the music."""
    path = tmp_path_factory.mktemp("ad")
    io = job_io(path / "work")
    size = size_for("9:16", SHORT)
    tl = timeline.plan([1.0, 1.0, 1.0])
    provider = LocalProvider()
    texts = ["Meet Zapcut", None, "Order today"]
    files = []
    for i, duration in enumerate(tl.render_s):
        out = path / f"scene_{i + 1}.mp4"
        provider.render_scene(
            io, Scene(i + 1, "d", duration, on_screen_text=texts[i]), product_images, size, out
        )
        files.append(out)
    script = [Scene(i + 1, "d", 1.0, voiceover_text=t) for i, t in enumerate(texts)]
    provider.voiceover(io, script, tl.starts_s, tl.total_s, path / "voiceover.wav")
    provider.music(io, tl.total_s, path / "music.wav")
    return {"dir": path, "files": files, "timeline": tl, "size": size}


def test_composite_is_a_browser_playable_ad(three_scenes):
    d = three_scenes
    for f, expected in zip(d["files"], d["timeline"].render_s, strict=True):
        assert abs(probe.probe(f).video.duration_s - expected) <= 0.05
    out = d["dir"] / "final_ad.mp4"
    io = job_io(d["dir"] / "work")
    composite.composite(
        io, d["files"], d["timeline"], d["dir"] / "voiceover.wav", d["dir"] / "music.wav", d["size"], out
    )
    info = probe.probe(out)
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert (info.video.width, info.video.height) == (360, 640)
    assert info.video.fps == pytest.approx(30)
    assert info.audio.codec == "aac" and info.audio.sample_rate == 48000
    assert abs(info.duration_s - 3.0) <= 0.2
    assert abs(info.video.duration_s - 3.0) <= 0.05
    boxes = top_level_boxes(out)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart
    samples, rate = probe.audio_samples(out)
    assert rms(samples) > 0.01


def test_composite_ducks_the_music_under_the_voice(three_scenes, tmp_path):
    d = three_scenes
    rate = 44100
    t = np.arange(3 * rate) / rate
    tone = (0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    _write_wav(tmp_path / "music.wav", np.stack([tone, tone], axis=1), rate)
    voice = np.where((t > 1.0) & (t < 2.0), 0.2 * np.sin(2 * np.pi * 1000 * t), 0).astype(np.float32)
    _write_wav(tmp_path / "voice.wav", voice[:, None], rate)
    out = tmp_path / "ducked.mp4"
    composite.composite(
        job_io(tmp_path / "w"),
        d["files"],
        d["timeline"],
        tmp_path / "voice.wav",
        tmp_path / "music.wav",
        d["size"],
        out,
    )
    samples, rate = probe.audio_samples(out)

    def music_level(start_s: float) -> float:
        window = samples[int(start_s * rate) : int((start_s + 0.25) * rate)]
        spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
        freqs = np.fft.rfftfreq(len(window), 1 / rate)
        return 20 * np.log10(spectrum[(freqs > 200) & (freqs < 240)].max())

    assert music_level(0.5) - music_level(1.5) > 6  # ducked by more than 6 dB under speech
    assert abs(music_level(0.5) - music_level(2.6)) < 2  # and back afterwards


def test_composite_accepts_other_sizes_and_lengths(three_scenes, tmp_path):
    """Scenes from another provider (another size, rate and length) are fitted to the timeline."""
    d = three_scenes
    other = tmp_path / "other.mp4"
    ffmpeg.run(
        job_io(tmp_path / "w"),
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=24:duration=0.7",
            "-c:v",
            "libx264",
            "-y",
            str(other),
        ],
        what="making a foreign scene",
    )
    music_mp3 = tmp_path / "music.mp3"
    audio.music_track(job_io(tmp_path / "w"), 3.0, music_mp3)  # the pipeline stores MP3s
    out = tmp_path / "mixed.mp4"
    files = [d["files"][0], other, d["files"][2]]
    composite.composite(job_io(tmp_path / "w"), files, d["timeline"], None, music_mp3, d["size"], out)
    info = probe.probe(out)
    assert (info.video.width, info.video.height) == (360, 640)
    assert abs(info.video.duration_s - 3.0) <= 0.05
    assert info.audio.codec == "aac"
    assert rms(probe.audio_samples(out)[0]) > 0.01


# --- ffmpeg runs ---


def _ffmpeg_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in Path(child.exe()).name:
                found.append(child)
        except psutil.Error:
            pass
    return found


def test_cancellation_kills_ffmpeg_promptly(tmp_path, product_images):
    calls = 0
    encoders: list[psutil.Process] = []

    def checkpoint():
        # The user cancels as soon as a checkpoint finds the encoder running.
        nonlocal calls
        calls += 1
        if running := _ffmpeg_children():
            encoders.extend(running)
            raise Cancelled("cancelled by the user")

    out = tmp_path / "long.mp4"
    with pytest.raises(Cancelled):
        # Far more work than a checkpoint's worth: almost two minutes of 1080p.
        scenes.render_scene(
            job_io(tmp_path / "work", checkpoint),
            Scene(1, "d", 110.0),
            product_images,
            size_for("9:16", 1080),
            out,
        )
    assert encoders, "ffmpeg was never seen running"
    assert calls >= 3  # two before ffmpeg started, then the one that found it running
    # Killed at the checkpoint that raised: nothing of it runs once the render has returned.
    assert _ffmpeg_children() == []
    for proc in encoders:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert not out.exists() and not list(tmp_path.glob(".long.partial*"))
    assert list((tmp_path / "work").iterdir()) == []


ORPHAN_SCRIPT = """
import sys
from pathlib import Path
from services.jobs.media_types import JobIO
from services.jobs.render import ffmpeg
ffmpeg.run(
    JobIO(workdir=Path(sys.argv[1])),
    ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "600", "-c:v", "libx264", "-f", "null", "-"],
    what="a long encode",
)
"""


def test_ffmpeg_dies_with_a_killed_worker(tmp_path):
    """A work horse killed outright (RQ's timeout, the OOM killer) must not leave ffmpeg running,
    although ffmpeg runs in its own process group."""
    worker = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(tmp_path)], cwd=ROOT)
    try:
        encoder = None
        deadline = time.monotonic() + 30
        while encoder is None and time.monotonic() < deadline and worker.poll() is None:
            children = psutil.Process(worker.pid).children()
            encoder = next((c for c in children if "ffmpeg" in c.name()), None)
            time.sleep(0.1)
        assert encoder is not None, "ffmpeg never started"
        worker.kill()
        worker.wait(timeout=10)
        gone, _alive = psutil.wait_procs([encoder], timeout=10)
        assert gone, "ffmpeg outlived the process that started it"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if encoder is not None and encoder.is_running():
            encoder.kill()


def test_ffmpeg_crashing_is_retried_then_transient(tmp_path):
    """ffmpeg killed by a signal nobody here sent (a crash) gets a second run, then the error is
    transient, so the pipeline retries the step later."""
    crashed: list[int] = []
    stop = threading.Event()

    def crash_every_ffmpeg():
        while not stop.is_set():
            for proc in _ffmpeg_children():
                if proc.pid not in crashed:
                    crashed.append(proc.pid)
                    proc.send_signal(signal.SIGSEGV)
            time.sleep(0.05)

    # Found before the crasher runs: finding it runs `ffmpeg -version` once per process, which the
    # crasher would crash too, leaving the process without an ffmpeg for every later test.
    ffmpeg.executable()
    crasher = threading.Thread(target=crash_every_ffmpeg)
    crasher.start()
    try:
        with pytest.raises(
            TransientProviderError, match=r"a long encode failed: ffmpeg was killed by SIGSEGV"
        ):
            ffmpeg.run(
                job_io(tmp_path),
                ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "600", "-f", "null", "-"],
                what="a long encode",
            )
    finally:
        stop.set()
        crasher.join()
    assert len(crashed) == ffmpeg.CRASH_ATTEMPTS


def test_ffmpeg_failure_is_a_clear_error(tmp_path):
    with pytest.raises(
        ffmpeg.FFmpegError, match=r"probing a missing file failed: ffmpeg exited .*nowhere\.mp4"
    ):
        ffmpeg.run(
            job_io(tmp_path),
            ["-i", str(tmp_path / "nowhere.mp4"), "-f", "null", "-"],
            what="probing a missing file",
        )


def test_composite_names_an_unreadable_scene(three_scenes, tmp_path):
    d = three_scenes
    broken = tmp_path / "scene_2.mp4"
    broken.write_bytes(d["files"][1].read_bytes()[:200])
    files = [d["files"][0], broken, d["files"][2]]
    with pytest.raises(InputError, match=r"scene_2\.mp4"):
        composite.composite(
            job_io(tmp_path / "w"), files, d["timeline"], None, None, d["size"], tmp_path / "x.mp4"
        )
    assert not (tmp_path / "x.mp4").exists()


def test_probe_refuses_a_non_media_file(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match=r"junk\.mp4"):
        probe.probe(junk)


def test_audio_track_length_is_bounded(tmp_path):
    with pytest.raises(InputError):
        audio.music_track(job_io(tmp_path), 0, tmp_path / "m.wav")
    with pytest.raises(InputError, match=r"\.ogg"):
        audio.music_track(job_io(tmp_path), 1.0, tmp_path / "m.ogg")
