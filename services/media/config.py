from pydantic import Field, SecretStr, field_validator, model_validator

from services.common.settings import DatabaseConfig, RedisConfig

MIB = 1024 * 1024
# S3 refuses multipart parts smaller than 5 MiB (except the last one).
S3_MIN_PART_BYTES = 5 * MIB


class Settings(DatabaseConfig, RedisConfig):
    """Redis: media consumes the deletion events (EVENTS_STREAM) to remove what deleted owners stored."""

    # Static S3 credentials; leave both unset to use the default AWS chain (instance role, profile...).
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"
    aws_s3_bucket: str = Field("zapcut-adgen-dev", min_length=3, max_length=63)
    # An S3-compatible server (MinIO, moto); unset means AWS itself.
    aws_s3_endpoint_url: str | None = None
    # The endpoint written into presigned URLs, as clients reach it (compose: localhost:9000 while
    # media itself talks to minio:9000). Defaults to AWS_S3_ENDPOINT_URL.
    aws_s3_public_endpoint_url: str | None = None

    # Short timeouts and few retries, so a dead S3 turns into UNAVAILABLE within seconds.
    s3_connect_timeout_s: float = Field(2.0, gt=0)
    s3_read_timeout_s: float = Field(10.0, gt=0)
    s3_max_attempts: int = Field(2, ge=1, le=10)
    # Concurrent HTTP connections to S3 per process.
    s3_max_pool_connections: int = Field(20, ge=1)
    # How long start-up waits for S3 to answer before the process gives up.
    s3_startup_timeout_s: float = Field(30.0, gt=0)
    # Streamed uploads are sent to S3 in parts of this size (a single PUT below it).
    upload_part_bytes: int = Field(8 * MIB, ge=S3_MIN_PART_BYTES, le=512 * MIB)

    # Checks inside CheckDependencies give up after this long (under the gateway's 0.9 s per call).
    probe_timeout_s: float = Field(0.8, gt=0)

    @field_validator(
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_s3_endpoint_url",
        "aws_s3_public_endpoint_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value):
        # `.env.example` lists these with empty values; empty means "not configured".
        return None if value == "" else value

    @model_validator(mode="after")
    def _s3_settings(self):
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
        for name in ("aws_s3_endpoint_url", "aws_s3_public_endpoint_url"):
            value = getattr(self, name)
            if value is not None and not value.startswith(("http://", "https://")):
                raise ValueError(f"{name.upper()} must be an http:// or https:// URL")
        if self.aws_s3_public_endpoint_url is None:
            self.aws_s3_public_endpoint_url = self.aws_s3_endpoint_url
        return self
