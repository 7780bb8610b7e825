"""Request bodies take exactly the JSON types the OpenAPI document gives them (found by schemathesis:
`"reply": 0` and `"order": false` were accepted, coerced to false and 0)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.gateway.schemas.brands import UploadRequest
from services.gateway.schemas.projects import MessageCreate, ProjectCreate, Scene, ScriptDraft

SCENE = {"order": 1, "description": "A hot street", "duration_s": 5}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (MessageCreate, {"content": "hi", "reply": 0}),
        (MessageCreate, {"content": "hi", "reply": "true"}),
        (Scene, SCENE | {"order": False}),
        (Scene, SCENE | {"order": "1"}),
        (Scene, SCENE | {"order": 1.5}),
        (Scene, SCENE | {"duration_s": True}),
        (
            UploadRequest,
            {"kind": "product_image", "filename": "a.png", "content_type": "image/png", "size": "5"},
        ),
        (ScriptDraft, {"duration_s": 30, "scene_count": 0}),
    ],
)
def test_a_value_of_another_json_type_is_refused(model, body):
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_what_json_means_by_the_types_is_taken():
    assert Scene.model_validate(SCENE | {"order": 2.0, "duration_s": 3}).order == 2  # 2.0 is an integer
    assert str(ProjectCreate.model_validate({"brand_id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01"}).brand_id)
    assert MessageCreate.model_validate({"content": "hi", "reply": True}).reply is True
