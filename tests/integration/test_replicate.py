"""The replicate provider against a local server speaking Replicate's HTTP API (tests/support/fake_replicate.py):
real HTTP, real media files in and out, real FFmpeg fitting the outputs."""

from __future__ import annotations

import base64
import subprocess
import wave
from dataclasses import replace
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from services.jobs.config import Settings
from services.jobs.media_types import (
    BrandKit,
    Cancelled,
    JobIO,
    MusicSettings,
    PermanentProviderError,
    Scene,
    Size,
    TransientProviderError,
    VoiceSettings,
)
from services.jobs.providers.replicate import ReplicateProvider, ReplicateTrainings
from services.jobs.render import composite, layouts, logos, timeline
from services.jobs.render.sizes import size_for
from tests.integration.test_layouts import best_match, frames_of, grey, logo_image, rgb, share_near
from tests.support.fake_replicate import TOKEN, fake_replicate, fake_replicate_server  # noqa: F401

VIDEO = "wavespeedai/wan-2.1-i2v-480p"
VOICE = "minimax/speech-02-turbo"
MUSIC_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
MUSIC = f"meta/musicgen:{MUSIC_VERSION}"
TRAINER = "ostris/wan-lora-trainer"
TRAINER_VERSION = "a" * 64
LORA = "https://example.com/brand-lora.safetensors"


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True
    )


@pytest.fixture(scope="module")
def media_files(fake_replicate_server):  # noqa: F811 - a fixture, imported above
    """Small real files the fake serves as model outputs."""
    d = fake_replicate_server.files_dir
    # 2 s of landscape video with a sound track (which the provider must drop).
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=16:duration=2", "-f", "lavfi", "-i",
           "sine=frequency=440:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", str(d / "clip.mp4"))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=16:duration=2", "-pix_fmt", "yuv420p",
           str(d / "grey.mp4"))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=660:duration=1", "-c:a", "libmp3lame", str(d / "speech.mp3"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=2", "-ac", "2", str(d / "music.wav"))
    (d / "big.bin").write_bytes(b"\0" * 300_000)
    return d


@pytest.fixture
def fake(fake_replicate, media_files):  # noqa: F811
    fake_replicate.script(VIDEO, polls=2, output="clip.mp4")
    fake_replicate.script(VOICE, polls=1, output="speech.mp3")
    fake_replicate.script(MUSIC, polls=1, output=["music.wav"])
    return fake_replicate


def settings(fake, **overrides) -> Settings:
    values = {
        "database_url": "postgresql://unused@localhost/unused",
        "redis_url": "redis://localhost:1/0",
        "debug": True,
        "replicate_api_token": TOKEN,
        "replicate_base_url": fake.base_url,
        "replicate_video_model": VIDEO,
        "replicate_voice_model": VOICE,
        "replicate_music_model": MUSIC,
        "replicate_timeout_s": 5,
        "replicate_poll_initial_s": 0.05,
        "replicate_poll_max_s": 0.2,
        "replicate_max_retries": 3,
        "replicate_lora_trainer": TRAINER,
        "replicate_lora_destination_owner": "zapcut",
    } | overrides
    return Settings(**values)


@pytest.fixture
def provider(fake):
    made = ReplicateProvider(settings(fake))
    yield made
    made.close()


class Recorder:
    def __init__(self, workdir: Path):
        self.progress: list[tuple[int, str]] = []
        self.io = JobIO(workdir=workdir, progress=lambda pct, stage: self.progress.append((pct, stage)))


@pytest.fixture
def job(tmp_path) -> Recorder:
    return Recorder(tmp_path)


@pytest.fixture
def product_png(tmp_path) -> Path:
    path = tmp_path / "product.png"
    Image.new("RGB", (120, 90), (200, 30, 30)).save(path)
    return path


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video
        info = {"duration": container.duration / av.time_base, "audio": len(container.streams.audio)}
        if video:
            stream = video[0]
            info |= {"codec": stream.codec_context.name, "size": (stream.width, stream.height)}
            info["frames"] = sum(1 for _ in container.decode(video=0))
        return info


def wav_rms(path: Path, start_s: float, end_s: float) -> float:
    with wave.open(str(path)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        wav.setpos(int(start_s * rate))
        samples = np.frombuffer(wav.readframes(int((end_s - start_s) * rate)), dtype=np.int16)
    return float(np.sqrt(np.mean(samples.reshape(-1, channels).astype(np.float64) ** 2)))


def wav_duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


# --- success paths ---------------------------------------------------------------------------------


def test_render_scene_makes_the_clip_from_a_prediction(fake, provider, job, product_png, tmp_path):
    scene = Scene(n=1, description="A red mug on a desk", duration_s=3.0, on_screen_text="Wake up bold")
    out = tmp_path / "scene-1.mp4"

    provider.render_scene(job.io, scene, [product_png], Size(360, 640, 30), out, lora=LORA)

    info = probe(out)
    assert info["codec"] == "h264" and info["size"] == (360, 640) and info["audio"] == 0
    assert info["frames"] == 90
    assert abs(info["duration"] - 3.0) < 0.1
    [create] = fake.calls("POST", f"/v1/models/{VIDEO}/predictions")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    sent = create.json["input"]
    assert sent["prompt"].startswith("A red mug on a desk") and "Wake up bold" in sent["prompt"]
    assert sent["image"].startswith("data:image/png;base64,")
    assert base64.b64decode(sent["image"].split(",", 1)[1]) == product_png.read_bytes()
    assert sent["lora_weights"] == LORA and sent["max_area"] == "480x832"
    assert 81 <= sent["num_frames"] <= 100 and sent["num_frames"] / sent["frames_per_second"] >= 3.0
    assert job.io.remote_job_id in fake.predictions
    assert fake.predictions[job.io.remote_job_id]["status"] == "succeeded"
    percents = [pct for pct, _ in job.progress]
    assert percents == sorted(percents) and percents[-1] == 100
    assert not list(tmp_path.glob("*.part"))
    # The output was fetched from the file host without our token.
    [download] = fake.calls("GET", "/files/clip.mp4")
    assert "authorization" not in download.headers


def test_voiceover_places_each_line_at_its_scene_start(fake, provider, job, tmp_path):
    scenes = [
        Scene(n=1, description="a", duration_s=2, voiceover_text="Meet the mug."),
        Scene(n=2, description="b", duration_s=2),
        Scene(n=3, description="c", duration_s=2, voiceover_text="Order today."),
    ]
    out = tmp_path / "voice.wav"

    provider.voiceover(job.io, scenes, [0.0, 2.0, 4.0], 6.0, out)

    assert abs(wav_duration(out) - 6.0) < 0.02
    loud, quiet = 1000, 50
    assert wav_rms(out, 0.1, 0.9) > loud  # scene 1 speaks
    assert wav_rms(out, 2.2, 3.8) < quiet  # scene 2 is silent
    assert wav_rms(out, 4.1, 4.9) > loud  # scene 3 speaks
    texts = [r.json["input"]["text"] for r in fake.calls("POST", f"/v1/models/{VOICE}/predictions")]
    assert texts == ["Meet the mug.", "Order today."]


def test_music_runs_a_pinned_version_and_fits_the_length(fake, provider, job, tmp_path):
    out = tmp_path / "music.mp3"

    provider.music(job.io, 5.0, out, music=MusicSettings(mood="calm", tempo_bpm=70))

    assert abs(probe(out)["duration"] - 5.0) < 0.15
    [create] = fake.calls("POST", "/v1/predictions", exact=True)
    assert create.json["version"] == MUSIC_VERSION
    assert create.json["input"]["duration"] == 5
    # The project's mood and tempo are the prompt.
    prompt = create.json["input"]["prompt"]
    assert prompt.startswith("calm") and "70 bpm" in prompt and "no vocals" in prompt


def test_music_without_settings_is_the_default_mood_at_its_tempo(fake, provider, job, tmp_path):
    provider.music(job.io, 2.0, tmp_path / "music.wav")
    [create] = fake.calls("POST", "/v1/predictions", exact=True)
    assert create.json["input"]["prompt"].startswith("upbeat") and "120 bpm" in create.json["input"]["prompt"]


# --- the brand kit, the voice, and design scenes -----------------------------------------------------

KIT_COLORS = {"primary": "#D62828", "secondary": "#F77F00", "background": "#003049"}


def kit(logo: Path | None = None) -> BrandKit:
    return BrandKit(colors=dict(KIT_COLORS), font="Fredoka One", logo=logo, name="Brewly")


def test_the_scene_prompt_carries_the_brand_kit_and_the_scenes_role(
    fake, provider, job, product_png, tmp_path
):
    scene = Scene(
        n=1,
        description="A red mug on a desk",
        duration_s=2.0,
        on_screen_text="Wake up bold",
        role="hook",
        layout="full_bleed",
    )
    provider.render_scene(job.io, scene, [product_png], Size(360, 640, 30), tmp_path / "s.mp4", brand=kit())

    [create] = fake.calls("POST", f"/v1/models/{VIDEO}/predictions")
    sent = create.json["input"]
    prompt = sent["prompt"]
    assert prompt.startswith("A red mug on a desk.")
    assert "Brewly" in prompt
    for role, hex_color, words in [
        ("primary", "#D62828", "red"),
        ("secondary", "#F77F00", "orange"),
        ("background", "#003049", "deep blue"),
    ]:
        assert f"{role} {words} ({hex_color})" in prompt
    assert "attention-grabbing opening shot" in prompt  # the hook's style
    assert "Wake up bold" in prompt and "show no text" in prompt
    # Only the wan model's real inputs, and the product image is still what it animates.
    assert set(sent) == {"prompt", "image", "num_frames", "frames_per_second", "max_area"}
    assert base64.b64decode(sent["image"].split(",", 1)[1]) == product_png.read_bytes()


def test_the_headline_is_laid_over_the_model_clip_in_the_brand_color(
    fake, provider, job, product_png, tmp_path
):
    fake.script(VIDEO, polls=1, output="grey.mp4")
    scene = Scene(n=1, description="d", duration_s=2.0, on_screen_text="Wake up bold", layout="full_bleed")
    size = Size(360, 640, 30)
    titled, plain = tmp_path / "titled.mp4", tmp_path / "plain.mp4"

    provider.render_scene(job.io, scene, [product_png], size, titled, brand=kit())
    provider.render_scene(
        job.io, replace(scene, on_screen_text=None), [product_png], size, plain, brand=kit()
    )

    middle = len(frames_of(titled)) // 2
    assert share_near(frames_of(titled)[middle], KIT_COLORS["primary"]) > 0.03  # the headline's panel
    assert share_near(frames_of(plain)[middle], KIT_COLORS["primary"]) < 0.001  # the grey clip alone
    info = probe(titled)
    assert info["size"] == (360, 640) and info["frames"] == 60 and info["audio"] == 0


@pytest.mark.parametrize("layout", ["typographic", "end_card"])
def test_design_scenes_are_drawn_locally_without_a_prediction(
    fake, provider, job, product_png, tmp_path, layout
):
    logo = tmp_path / "logo.png"
    logo_image().save(logo)
    scene = Scene(n=4, description="d", duration_s=1.5, on_screen_text="Shop now", role="cta", layout=layout)
    out = tmp_path / "scene.mp4"

    provider.render_scene(job.io, scene, [product_png], Size(360, 640, 30), out, brand=kit(logo))

    assert fake.calls("POST", "/v1/") == []
    assert job.io.remote_job_id is None
    assert probe(out)["frames"] == 45


def test_a_replicate_ad_ends_on_the_end_card_with_the_logo(fake, provider, job, product_png, tmp_path):
    """Footage from the video model, the end card drawn locally, the composite made as for any ad."""
    size = size_for("9:16", 360)
    logo = tmp_path / "logo.png"
    logo_image().save(logo)
    tl = timeline.plan([1.5, 1.5], transition_s=0.4)
    files = []
    for n, (layout, duration) in enumerate(
        zip(["full_bleed", "end_card"], tl.render_s, strict=True), start=1
    ):
        out = tmp_path / f"scene_{n}.mp4"
        scene = Scene(n, "a red mug", duration, on_screen_text="Shop now", role="cta", layout=layout)
        provider.render_scene(job.io, scene, [product_png], size, out, brand=kit(logo))
        files.append(out)
    ad = tmp_path / "ad.mp4"
    composite.composite(job.io, files, tl, None, None, size, ad, transitions=["crossfade"])

    assert len(fake.calls("POST", f"/v1/models/{VIDEO}/predictions")) == 1  # the footage scene only
    last = frames_of(ad)[-1]
    box, centre = layouts.logo_box(size)
    mark = logos.load_logo(logo, box)
    backdrop = Image.new("RGBA", mark.size, (*rgb(KIT_COLORS["background"]).tolist(), 255))
    template = grey(np.asarray(Image.alpha_composite(backdrop, mark)))
    assert best_match(grey(last), template, (centre[0] - mark.width // 2, centre[1] - mark.height // 2)) > 0.9


def test_voiceover_words_are_timed_in_the_track_for_the_captions(fake, provider, job, tmp_path):
    """The voice model tells no word times: they come from each clip's energy (1 s of tone here)."""
    scenes = [
        Scene(n=1, description="a", duration_s=2, voiceover_text="Meet the mug."),
        Scene(n=2, description="b", duration_s=2),
        Scene(n=3, description="c", duration_s=0.5, voiceover_text="Order today."),
    ]

    words = provider.voiceover(job.io, scenes, [0.0, 2.0, 4.0], 4.5, tmp_path / "voice.wav")

    assert [w.text for w in words] == ["Meet", "the", "mug.", "Order", "today."]
    assert words[0].start_s == pytest.approx(0.0, abs=0.05) and words[2].end_s == pytest.approx(1.0, abs=0.05)
    assert words[3].start_s == pytest.approx(4.0, abs=0.05)
    assert words[4].end_s <= 4.5  # cut with its clip at the end of the ad
    assert all(a.end_s <= b.start_s for a, b in zip(words, words[1:], strict=False))


def test_voiceover_speaks_in_the_projects_voice_language_and_pace(fake, provider, job, tmp_path):
    scenes = [Scene(n=1, description="a", duration_s=2, voiceover_text="Hallo Welt.")]

    provider.voiceover(
        job.io, scenes, [0.0], 2.0, tmp_path / "v.wav", voice=VoiceSettings("de-m1", "de", 1.2)
    )

    [create] = fake.calls("POST", f"/v1/models/{VOICE}/predictions")
    assert create.json["input"] == {
        "text": "Hallo Welt.",
        "voice_id": "Casual_Guy",
        "speed": 1.2,
        "language_boost": "German",
    }


# --- failures, deadlines, cancellation ---------------------------------------------------------------


def test_failed_prediction_is_permanent_with_its_message(fake, provider, job, product_png, tmp_path):
    fake.script(VIDEO, polls=1, outcome="failed", error="CUDA out of memory")
    scene = Scene(n=1, description="x", duration_s=2)
    with pytest.raises(PermanentProviderError, match="CUDA out of memory"):
        provider.render_scene(job.io, scene, [product_png], Size(320, 240), tmp_path / "s.mp4")
    assert not (tmp_path / "s.mp4").exists()


def test_prediction_canceled_at_replicate_is_permanent(fake, provider, job, tmp_path):
    fake.script(MUSIC, polls=1, outcome="canceled")
    with pytest.raises(PermanentProviderError, match="canceled at Replicate"):
        provider.music(job.io, 3.0, tmp_path / "m.wav")


def test_prediction_past_max_wait_is_cancelled_and_fails(fake, job, tmp_path):
    fake.script(MUSIC, outcome="never")
    provider = ReplicateProvider(settings(fake, replicate_max_wait_s=1.0))
    with pytest.raises(PermanentProviderError, match="timed out after 1s"):
        provider.music(job.io, 3.0, tmp_path / "m.wav")
    prediction_id = job.io.remote_job_id
    assert fake.calls("POST", f"/v1/predictions/{prediction_id}/cancel")
    assert fake.predictions[prediction_id]["status"] == "canceled"


def test_cancellation_at_a_checkpoint_cancels_the_prediction(fake, provider, job, tmp_path):
    fake.script(VOICE, outcome="never")
    checks = []

    def checkpoint():
        checks.append(1)
        if job.io.remote_job_id and len(checks) > 4:
            raise Cancelled()

    job.io.checkpoint = checkpoint
    scenes = [Scene(n=1, description="a", duration_s=2, voiceover_text="Hello")]
    with pytest.raises(Cancelled):
        provider.voiceover(job.io, scenes, [0.0], 2.0, tmp_path / "v.wav")
    prediction_id = job.io.remote_job_id
    assert len(fake.calls("POST", f"/v1/predictions/{prediction_id}/cancel")) == 1
    assert fake.predictions[prediction_id]["status"] == "canceled"


# --- HTTP errors and retries -------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(fake, provider, job, tmp_path):
    fake.fail_next("POST", "/v1/predictions", 429, retry_after="1")
    provider.music(job.io, 2.0, tmp_path / "m.wav")
    first, second = fake.calls("POST", "/v1/predictions")
    assert first.status == 429 and second.status == 0
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured (a lower bound only)
    assert len(fake.predictions) == 1


def test_5xx_is_retried(fake, provider, job, tmp_path):
    fake.fail_next("GET", "/v1/predictions/", 503)
    provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert wav_duration(tmp_path / "m.wav") == pytest.approx(2.0, abs=0.02)
    assert [r.status for r in fake.calls("GET", "/v1/predictions/")][0] == 503


def test_slow_answer_times_out_and_is_retried(fake, job, tmp_path, caplog):
    provider = ReplicateProvider(settings(fake, replicate_timeout_s=0.3))
    fake.delay_next("GET", "/v1/predictions/", 1.5)
    with caplog.at_level("WARNING", logger="services.jobs.providers.replicate"):
        provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert (tmp_path / "m.wav").exists()
    assert "no answer within 0.3s; retrying" in caplog.text


def test_persistent_5xx_gives_up_as_transient(fake, job, tmp_path):
    provider = ReplicateProvider(settings(fake, replicate_max_retries=2))
    fake.fail_next("POST", "/v1/predictions", 500, times=10)
    with pytest.raises(TransientProviderError, match="gave up after 3 attempts"):
        provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert len(fake.calls("POST", "/v1/predictions")) == 3


def test_wrong_token_is_permanent_at_once(fake, job, tmp_path):
    provider = ReplicateProvider(settings(fake, replicate_api_token="r8_wrong"))
    with pytest.raises(PermanentProviderError, match="401 Unauthenticated: You did not pass a valid"):
        provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert len(fake.requests) == 1


def test_invalid_input_is_permanent_with_the_api_detail(fake, provider, job, tmp_path):
    problem = {"title": "Input validation failed", "detail": "duration: bad", "status": 422}
    fake.fail_next("POST", "/v1/predictions", 422, body=problem)
    with pytest.raises(PermanentProviderError, match="422 Input validation failed: duration: bad"):
        provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert len(fake.calls("POST", "/v1/predictions")) == 1


def test_output_over_the_size_cap_is_refused(fake, job, tmp_path):
    fake.script(MUSIC, polls=0, output="big.bin")
    provider = ReplicateProvider(settings(fake, replicate_max_output_bytes=100_000))
    with pytest.raises(PermanentProviderError, match="over the 100000"):
        provider.music(job.io, 2.0, tmp_path / "m.wav")
    assert not list(tmp_path.glob("replicate-music*"))


@pytest.mark.parametrize("token", [None, "", "  "])
def test_missing_token_is_a_clear_error(fake, token):
    with pytest.raises(PermanentProviderError, match="replicate provider needs REPLICATE_API_TOKEN"):
        ReplicateProvider(settings(fake, replicate_api_token=token))


def test_unmapped_model_is_refused_up_front(fake):
    with pytest.raises(
        PermanentProviderError, match="no video input mapping for Replicate model acme/new-video"
    ):
        ReplicateProvider(settings(fake, replicate_video_model="acme/new-video"))


# --- trainings -------------------------------------------------------------------------------------


@pytest.fixture
def trainings(fake):
    fake.add_model(TRAINER, latest_version=TRAINER_VERSION)
    fake.script(TRAINER, polls=1, output={"version": "zapcut/brand-1:" + "b" * 64, "weights": LORA})
    made = ReplicateTrainings(settings(fake))
    yield made
    made.close()


def test_training_creates_its_destination_model_and_runs(fake, trainings):
    training = trainings.create("brand-1", {"input_images": "https://example.com/set.zip", "steps": 1000})

    [create_model] = fake.calls("POST", "/v1/models", exact=True)
    assert create_model.json == {
        "owner": "zapcut",
        "name": "brand-1",
        "visibility": "private",
        "hardware": "cpu",
    }
    [create] = fake.calls("POST", f"/v1/models/{TRAINER}/versions/{TRAINER_VERSION}/trainings")
    assert create.json["destination"] == "zapcut/brand-1" and create.json["input"]["steps"] == 1000
    assert trainings.get(training["id"])["status"] == "processing"
    done = trainings.wait(training, checkpoint=lambda: None)
    assert done["status"] == "succeeded" and trainings.weights_url(done) == LORA

    # A second training into the same model does not create it again.
    trainings.create("zapcut/brand-1", {"input_images": "https://example.com/set.zip"})
    assert len(fake.calls("POST", "/v1/models", exact=True)) == 1


def test_training_needs_a_destination_owner(fake):
    made = ReplicateTrainings(settings(fake, replicate_lora_destination_owner=None))
    with pytest.raises(PermanentProviderError, match="REPLICATE_LORA_DESTINATION_OWNER"):
        made.create("brand-3", {})
    made.close()
