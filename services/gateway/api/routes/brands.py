"""/api/brands: a user's brands and their assets (endpoints arrive with the brands issue)."""

from fastapi import APIRouter

router = APIRouter(prefix="/brands", tags=["brands"])
