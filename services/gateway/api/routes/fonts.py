"""/api/fonts: the fonts bundled with the renderer, which a brand's guidelines may name."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from services.common.brand_kit import FONTS
from services.gateway.auth import CurrentCaller
from services.gateway.schemas.brands import FontOut
from services.gateway.schemas.common import Limit, Page

router = APIRouter(prefix="/fonts", tags=["brands"])


@router.get(
    "",
    response_model=Page[FontOut],
    operation_id="listFonts",
    summary="The open-licensed fonts a brand's guidelines may name as `font`",
    responses={422: {"description": "limit out of range, or a cursor this API did not hand out"}},
)
async def list_fonts(caller: CurrentCaller, limit: Limit = 20, cursor: str = "") -> Page[FontOut]:
    # A short static catalog: the cursor is the name of the last font of the previous page.
    names = list(FONTS)
    if cursor and cursor not in FONTS:
        raise HTTPException(422, "cursor is not one this API handed out")
    start = names.index(cursor) + 1 if cursor else 0
    page = [FONTS[name] for name in names[start : start + limit]]
    more = start + limit < len(names)
    return Page(
        items=[FontOut(name=f.name, style=f.style, license=f.license) for f in page],
        next_cursor=page[-1].name if more and page else None,
    )
