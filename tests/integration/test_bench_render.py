"""The render bench (bench/render.py) at a small frame size: both sides make the whole ad a
generation makes (captions, loudness, poster, preview), the same pictures. No stack needed."""

from __future__ import annotations

from PIL import Image

from bench import render
from services.jobs.render import mix, poster, probe
from tests.integration.test_sound import ebur128


def test_the_pipeline_and_the_floor_both_make_the_whole_ad(tmp_path):
    result = render.run(short_side=180, repeat=1, keep=tmp_path, progress=lambda message: None)

    pipeline, floor = tmp_path / "pipeline_1", tmp_path / "floor"
    assert result.cues > 0
    assert "-->" in (pipeline / "captions.vtt").read_text()
    for final in (pipeline / "final_ad.mp4", floor / "floor.mp4"):
        info = probe.probe(final)
        assert (info.video.width, info.video.height) == (result.size.width, result.size.height)
        assert info.audio is not None and abs(info.duration_s - result.total_s) < 0.1
        integrated, peak = ebur128(final)
        assert abs(integrated - mix.TARGET_LUFS) <= 1.0 and peak <= -1.0, (final, integrated, peak)
    for side in (pipeline, floor):
        with Image.open(side / "poster.jpg") as still:
            assert still.size == (result.size.width, result.size.height)
        preview = probe.probe(side / "preview.mp4").video
        assert (preview.width, preview.height) == poster.preview_size(result.size)
    # The same frames, captions included, up to the pipeline's extra near-lossless encode.
    assert result.psnr_db is not None and result.psnr_db > 35, result.psnr_db
