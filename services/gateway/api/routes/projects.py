"""/api/projects: ad projects, their chat, scripts and generation (endpoints come with their issue)."""

from fastapi import APIRouter

router = APIRouter(prefix="/projects", tags=["projects"])
