"""/api/auth: sign-up, login, logout and the current user (endpoints arrive with the auth issue)."""

from fastapi import APIRouter

router = APIRouter(prefix="/auth", tags=["auth"])
