"""The replicate provider's pure parts: product images shrunk into data URIs. Against a server
speaking Replicate's API: tests/integration/test_replicate.py."""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.jobs.providers.replicate.media import DATA_URI_MAX_BYTES, image_data_uri


def test_large_product_image_is_shrunk_into_a_data_uri(tmp_path):
    path = tmp_path / "huge.png"
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (1600, 1600, 3), dtype=np.uint8)).save(path)
    assert path.stat().st_size > DATA_URI_MAX_BYTES
    uri = image_data_uri(path)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) * 3 / 4 < DATA_URI_MAX_BYTES * 1.01
