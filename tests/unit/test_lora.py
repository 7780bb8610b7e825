"""LoRA training needs the Replicate settings, checked before anything runs."""

from __future__ import annotations


def test_lora_training_is_refused_without_replicate_settings():
    import pytest

    from services.common.errors import FailedPrecondition
    from services.jobs.config import Settings
    from services.jobs.lora.api import check_configured

    settings = Settings(
        _env_file=None, debug=True, database_url="postgresql://u@h/db", redis_url="redis://h:1/0"
    )
    with pytest.raises(FailedPrecondition, match="REPLICATE_API_TOKEN"):
        check_configured(settings)
