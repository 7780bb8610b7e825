"""Rendering on this machine: FFmpeg from the imageio-ffmpeg wheel, Pillow for images and text,
eSpeak NG (espeakng-loader) for speech, numpy for music, PyAV to inspect the results.

- timeline: how long each scene file is rendered and where each scene starts in the ad.
- sizes: frame sizes for an aspect ratio and a short side.
- images: checks product images and prepares the canvas a scene moves across.
- text: a scene's on-screen text as a small transparent overlay.
- scenes: one silent H.264 scene with pan/zoom motion and its text.
- speech, music, audio: the voiceover and music tracks.
- composite: the final ad (transitions, ducked music, AAC, faststart).
- ffmpeg: runs the binary, checkpointing and killing it on cancellation.
- probe: codecs, sizes and durations of a file, and its decoded audio.

Every temporary file lives under the job's io.workdir.
"""
