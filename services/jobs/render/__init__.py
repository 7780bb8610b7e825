"""Rendering on this machine: FFmpeg from the imageio-ffmpeg wheel, Pillow for images and text,
the brand fonts' wheels, resvg for SVG logos, eSpeak NG (espeakng-loader) for speech, numpy for
music, PyAV to inspect the results.

- timeline: how long each scene file is rendered and where each scene starts in the ad.
- sizes: frame sizes for an aspect ratio and a short side.
- images: checks product images and prepares the canvas a scene moves across.
- fonts: the brand fonts (services.common.brand_kit.FONTS) as files, from their wheels.
- text: headlines, names and buttons as small transparent images, in a brand font.
- logos: a brand's logo (PNG, or SVG through resvg) as an RGBA image.
- layouts: a scene's still parts per layout (full_bleed, product_on_color, split, typographic,
  end_card) in the brand's colors, and how each moves.
- scenes: one silent H.264 scene: its layout animated in one ffmpeg run.
- speech, music, audio: the voiceover and music tracks.
- composite: the final ad (the plan's transitions, ducked music, AAC, faststart).
- ffmpeg: runs the binary, checkpointing and killing it on cancellation.
- probe: codecs, sizes and durations of a file, and its decoded audio.

Every temporary file lives under the job's io.workdir.
"""
