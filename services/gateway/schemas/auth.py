from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator

from services.common.password_policy import password_problem
from services.gateway.schemas.common import Email, RequestBody, examples, timestamp
from zapcut.accounts.v1 import accounts_pb2 as pb


def _not_common(password: str) -> str:
    # Accounts checks again; here it becomes a field error (422 details naming the field).
    if problem := password_problem(password):
        raise ValueError(problem)
    return password


# A password being set (sign-up, new_password); login takes any password it can check.
NewPassword = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(_not_common)]


class SignUp(RequestBody):
    model_config = examples(
        {"email": "ada@example.com", "name": "Ada Lovelace", "password": "correct horse battery"}
    )

    email: Email
    name: str = Field(min_length=1, max_length=100)
    password: NewPassword


class LogIn(RequestBody):
    model_config = examples({"email": "ada@example.com", "password": "correct horse battery"})

    email: Email
    password: str = Field(min_length=1, max_length=128)


class UpdateMe(RequestBody):
    model_config = examples(
        {"name": "Ada King"},
        {"current_password": "correct horse battery", "new_password": "a longer passphrase"},
    )

    name: str | None = Field(None, min_length=1, max_length=100)
    current_password: str | None = Field(None, max_length=128)
    new_password: NewPassword | None = None

    @model_validator(mode="after")
    def _password_change_needs_current(self) -> Self:
        if self.new_password is not None and not self.current_password:
            raise ValueError("changing the password needs current_password")
        return self


class UserOut(BaseModel):
    model_config = examples(
        {
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "subscription_tier": "free",
            "credits": 0,
            "free_videos_used": 1,
            "created_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    email: str
    name: str
    subscription_tier: str
    credits: int
    free_videos_used: int
    created_at: datetime

    @classmethod
    def from_pb(cls, user: pb.User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            subscription_tier=user.subscription_tier,
            credits=user.credits,
            free_videos_used=user.free_videos_used,
            created_at=timestamp(user.created_at),
        )


class TokenOut(BaseModel):
    model_config = examples(
        {
            "access_token": "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c",
            "token_type": "bearer",
            "expires_at": "2026-12-09T10:00:00Z",
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name
    expires_at: datetime
