"""Object keys: built from ids, and raw keys checked against the same layout (DESIGN.md section 5).

    generated-videos/{project_id}/{generation_id}/final_ad.mp4
    generated-videos/{project_id}/{generation_id}/{poster.jpg|preview.mp4|captions.vtt|...}
    product-images/{brand_id}/{name}
    brand-assets/{brand_id}/{name}
    scene-videos/{project_id}/{generation_id}/scene_{n}.mp4   (scene_{n}-16x9.mp4: another placement)
    audio/{project_id}/{generation_id}/{type}_{n}.mp3
    voice-samples/{name}.mp3  (the voice catalog's samples: no owner, never deleted by an event)

A generation's outputs are keyed by the generation, so one generation never overwrites or deletes
another's; the project comes first, so deleting a project is still one prefix per kind. Raw keys of
the layout before generation ids (generated-videos/{project_id}/final_ad.mp4, ...) still parse, so
the rows that name them can be presigned and deleted; nothing builds them any more.

Anything else is InvalidArgument, with a message that says what is wrong. Keys always hold ids in
canonical lower-case form, so the same object never gets two keys.

A presigned PUT never goes to a brand file's own key: it lands on the file's staging key,
`incoming/` followed by that key (`incoming/product-images/{brand_id}/{name}`), which media checks
and copies to the file's key at confirm. No client ever gets a URL that writes a key a brand lists.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from services.common.errors import InvalidArgument

FINAL_VIDEOS = "generated-videos/"
PRODUCT_IMAGES = "product-images/"
BRAND_ASSETS = "brand-assets/"
SCENE_VIDEOS = "scene-videos/"
AUDIO = "audio/"
VOICE_SAMPLES = "voice-samples/"
INCOMING = "incoming/"  # staging keys of presigned uploads, expired by the bucket after a day
PREFIXES = (FINAL_VIDEOS, PRODUCT_IMAGES, BRAND_ASSETS, SCENE_VIDEOS, AUDIO, VOICE_SAMPLES, INCOMING)
BRAND_FILE_PREFIXES = (PRODUCT_IMAGES, BRAND_ASSETS)

MAX_KEY_LENGTH = 1024
MAX_NUMBER = 2**32 - 1  # the protobuf field is a uint32

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_AUDIO_TYPE = re.compile(r"[a-z0-9]{1,20}")
_SAMPLE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}\.mp3")
_NUMBER = r"0|[1-9][0-9]{0,9}"
# What a generation hands out beside its scenes and audio: each file once per placement (the
# suffix names the aspect; none for the generation's first aspect, as before placements).
GENERATION_FILES = {"final_ad": "mp4", "poster": "jpg", "preview": "mp4", "captions": "vtt"}
ASPECT_SLUGS = {"9:16": "9x16", "1:1": "1x1", "16:9": "16x9"}
_ASPECT_SUFFIX = r"(?:-(?:9x16|1x1|16x9))?"
_GENERATION_FILE = (
    "(?:" + "|".join(rf"{stem}{_ASPECT_SUFFIX}\.{ext}" for stem, ext in GENERATION_FILES.items()) + ")"
)
GENERATION_FILE_RULE = (
    ", ".join(f"{stem}.{ext}" for stem, ext in GENERATION_FILES.items())
    + ", each optionally with -9x16, -1x1 or -16x9 before the extension"
)
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9._/-]*")

NAME_RULE = "1-200 characters of A-Z a-z 0-9 . _ - not starting with '.' and without '..'"
AUDIO_TYPE_RULE = "1-20 characters of a-z 0-9"


@dataclass(frozen=True)
class ObjectKey:
    """A checked key and the owner it belongs to (one of brand_id and ad_project_id is set, neither
    for a voice sample; generation_id too for a generation's output, except in keys of the layout
    before it)."""

    key: str
    brand_id: uuid.UUID | None = None
    ad_project_id: uuid.UUID | None = None
    generation_id: uuid.UUID | None = None


# --- building keys from ids --------------------------------------------------------------------


def final_video(project_id: str, generation_id: str) -> ObjectKey:
    pid, gid = _uuid(project_id, "project_id"), _uuid(generation_id, "generation_id")
    return ObjectKey(f"{FINAL_VIDEOS}{pid}/{gid}/final_ad.mp4", ad_project_id=pid, generation_id=gid)


def generation_file(project_id: str, generation_id: str, name: str) -> ObjectKey:
    pid, gid = _uuid(project_id, "project_id"), _uuid(generation_id, "generation_id")
    if not re.fullmatch(_GENERATION_FILE, name or ""):
        raise InvalidArgument(
            f"a generation's file name must be one of {GENERATION_FILE_RULE}, got {_shown(name)}"
        )
    return ObjectKey(f"{FINAL_VIDEOS}{pid}/{gid}/{name}", ad_project_id=pid, generation_id=gid)


def product_image(brand_id: str, name: str) -> ObjectKey:
    bid = _uuid(brand_id, "brand_id")
    return ObjectKey(f"{PRODUCT_IMAGES}{bid}/{_name(name)}", brand_id=bid)


def brand_asset(brand_id: str, name: str) -> ObjectKey:
    bid = _uuid(brand_id, "brand_id")
    return ObjectKey(f"{BRAND_ASSETS}{bid}/{_name(name)}", brand_id=bid)


def scene_video(project_id: str, generation_id: str, n: int, aspect: str = "") -> ObjectKey:
    """`aspect`: "" for the generation's primary placement (no suffix), else "16:9", "1:1" or
    "9:16", which suffix the name (scene_2-16x9.mp4)."""
    pid, gid = _uuid(project_id, "project_id"), _uuid(generation_id, "generation_id")
    suffix = ""
    if aspect:
        if aspect not in ASPECT_SLUGS:
            raise InvalidArgument(f"aspect must be one of {', '.join(ASPECT_SLUGS)}, got {_shown(aspect)}")
        suffix = f"-{ASPECT_SLUGS[aspect]}"
    key = f"{SCENE_VIDEOS}{pid}/{gid}/scene_{_number(n, 'n')}{suffix}.mp4"
    return ObjectKey(key, ad_project_id=pid, generation_id=gid)


def audio_track(project_id: str, generation_id: str, audio_type: str, n: int) -> ObjectKey:
    pid, gid = _uuid(project_id, "project_id"), _uuid(generation_id, "generation_id")
    if not _AUDIO_TYPE.fullmatch(audio_type or ""):
        raise InvalidArgument(f"audio type must be {AUDIO_TYPE_RULE} (e.g. voiceover, music)")
    key = f"{AUDIO}{pid}/{gid}/{audio_type}_{_number(n, 'n')}.mp3"
    return ObjectKey(key, ad_project_id=pid, generation_id=gid)


def voice_sample(name: str) -> ObjectKey:
    if not _SAMPLE_NAME.fullmatch(name or ""):
        raise InvalidArgument(f"a voice sample's name is a-z 0-9 - ending in .mp3, got {_shown(name or '')}")
    return ObjectKey(f"{VOICE_SAMPLES}{name}")


# --- checking raw keys and prefixes ------------------------------------------------------------

# A generation's folder inside its project's; optional only so that keys written before outputs
# were keyed by generation still parse (docs/architecture.md, "Storage").
_GENERATION = rf"(?:(?P<generation>{_UUID})/)?"
_LAYOUT_RULES = [
    (
        FINAL_VIDEOS,
        rf"(?P<project>{_UUID})/(?:final_ad\.mp4|(?P<generation>{_UUID})/{_GENERATION_FILE})",
        "{project_id}/{generation_id}/{final_ad.mp4|poster.jpg|preview.mp4|captions.vtt}",
    ),
    (PRODUCT_IMAGES, rf"(?P<brand>{_UUID})/{_NAME.pattern}", "{brand_id}/{name}"),
    (
        INCOMING,
        rf"(?:{re.escape(PRODUCT_IMAGES)}|{re.escape(BRAND_ASSETS)})(?P<brand>{_UUID})/{_NAME.pattern}",
        "{product-images|brand-assets}/{brand_id}/{name}",
    ),
    (BRAND_ASSETS, rf"(?P<brand>{_UUID})/{_NAME.pattern}", "{brand_id}/{name}"),
    (
        SCENE_VIDEOS,
        rf"(?P<project>{_UUID})/{_GENERATION}scene_(?P<n>{_NUMBER}){_ASPECT_SUFFIX}\.mp4",
        "{project_id}/{generation_id}/scene_{n}[-16x9|-1x1|-9x16].mp4",
    ),
    (
        AUDIO,
        rf"(?P<project>{_UUID})/{_GENERATION}{_AUDIO_TYPE.pattern}_(?P<n>{_NUMBER})\.mp3",
        "{project_id}/{generation_id}/{type}_{n}.mp3",
    ),
    (VOICE_SAMPLES, _SAMPLE_NAME.pattern, "{voice}-{digest}.mp3"),
]
# (prefix, the whole key as a regex, the layout for error messages)
_LAYOUTS = [(prefix, re.compile(re.escape(prefix) + rest), shape) for prefix, rest, shape in _LAYOUT_RULES]


def parse_key(key: str) -> ObjectKey:
    """A raw key (say, one stored in a row earlier), accepted only if it matches a layout exactly."""
    _check_safe(key, "key")
    if not key:
        raise InvalidArgument("key is empty")
    for prefix, pattern, shape in _LAYOUTS:
        if not key.startswith(prefix):
            continue
        match = pattern.fullmatch(key)
        if match is None or ("n" in match.groupdict() and int(match["n"]) > MAX_NUMBER):
            raise InvalidArgument(
                f"key {_shown(key)} does not match the layout {prefix}{shape} "
                f"(ids are lower-case UUIDs; names are {NAME_RULE})"
            )
        if "brand" in match.groupdict():
            return ObjectKey(key, brand_id=uuid.UUID(match["brand"]))
        if "project" not in match.groupdict():
            return ObjectKey(key)  # a voice sample: no owner
        generation = match["generation"]
        return ObjectKey(
            key,
            ad_project_id=uuid.UUID(match["project"]),
            generation_id=uuid.UUID(generation) if generation else None,
        )
    raise InvalidArgument(f"key {_shown(key)} must start with one of: {', '.join(PREFIXES)}")


def check_prefix(prefix: str) -> str:
    """A listing prefix: inside one of the layout prefixes, with the same safety checks as keys."""
    _check_safe(prefix, "prefix")
    if not prefix.startswith(PREFIXES):
        raise InvalidArgument(f"prefix {_shown(prefix)} must start with one of: {', '.join(PREFIXES)}")
    if not _PREFIX_CHARS.fullmatch(prefix) or "//" in prefix:
        raise InvalidArgument(f"prefix {_shown(prefix)} may hold only A-Z a-z 0-9 . _ - and single '/'")
    return prefix


def is_prefix_marker(key: str) -> bool:
    """The zero-byte objects that make the layout's prefixes visible in S3 browsers."""
    return key in PREFIXES


# --- staging keys of presigned uploads ---------------------------------------------------------


def staging(final: ObjectKey) -> ObjectKey:
    """Where a presigned upload of the brand file `final` is PUT before confirm checks it."""
    if not final.key.startswith(BRAND_FILE_PREFIXES):
        raise InvalidArgument("presigned uploads are for product images and brand assets only")
    return ObjectKey(f"{INCOMING}{final.key}", brand_id=final.brand_id)


# --- pieces ------------------------------------------------------------------------------------


def _check_safe(value: str, what: str) -> None:
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidArgument(f"{what} is longer than {MAX_KEY_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidArgument(f"{what} must not contain control characters")
    if value.startswith("/"):
        raise InvalidArgument(f"{what} must not start with '/'")
    if ".." in value:
        raise InvalidArgument(f"{what} must not contain '..'")


def _uuid(value: str, what: str) -> uuid.UUID:
    # Only the canonical 36-character form (any case): uuid.UUID alone also takes braces, urn:...
    if not re.fullmatch(_UUID, (value or "").lower()):
        raise InvalidArgument(f"{what} must be a UUID, got {_shown(value)}")
    return uuid.UUID(value)


def _name(name: str) -> str:
    if not _NAME.fullmatch(name or "") or ".." in name:
        raise InvalidArgument(f"name must be {NAME_RULE}, got {_shown(name)}")
    return name


def _number(n: int, what: str) -> int:
    if not 0 <= n <= MAX_NUMBER:
        raise InvalidArgument(f"{what} must be between 0 and {MAX_NUMBER}")
    return n


def _shown(value: str) -> str:
    """The value for an error message: quoted, and cut short so a huge input stays out of logs."""
    return repr(value if len(value) <= 120 else value[:120] + "...")
