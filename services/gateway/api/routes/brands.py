"""/api/brands: brands, their product images and brand assets."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from services.common.file_signatures import SIGNATURE_BYTES, looks_like
from services.common.logo import logo_problem
from services.common.settings import secret_value
from services.gateway.auth import CurrentCaller
from services.gateway.clients import Accounts, AccountsAsyncStub, Media, MediaAsyncStub, presigned_urls
from services.gateway.config import AppSettings
from services.gateway.errors import ServiceCallError, http_status_for
from services.gateway.schemas.brands import (
    MAX_FILENAME_LENGTH,
    BrandCreate,
    BrandFileOut,
    BrandOut,
    BrandUpdate,
    FileKind,
    UploadConfirm,
    UploadRequest,
    UploadTicket,
)
from services.gateway.schemas.common import Limit, Page, timestamp
from services.gateway.uploads import (
    MultipartFileStream,
    check_file,
    file_ref,
    object_name,
    read_ticket,
    rules_for,
    sign_ticket,
)
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)
router = APIRouter(prefix="/brands", tags=["brands"])

DOWNLOAD_URL_EXPIRY_S = 3600


async def brands_out(media: MediaAsyncStub, brands: list[pb.Brand]) -> list[BrandOut]:
    """Brands with a presigned URL for every file, signed in one call to media."""
    keys = [f.key for b in brands for f in files_of(b)]
    urls = await presigned_urls(media, keys, DOWNLOAD_URL_EXPIRY_S)

    def files(items: Iterable[pb.BrandFile]) -> list[BrandFileOut]:
        return [
            BrandFileOut(
                key=f.key,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                added_at=timestamp(f.added_at, f.HasField("added_at")),
                url=urls[f.key],
            )
            for f in items
        ]

    return [
        BrandOut(
            id=b.id,
            title=b.title,
            description=b.description,
            brand_guidelines=json.loads(b.brand_guidelines_json or "{}"),
            product_images=files(b.product_images),
            brand_assets=files(b.brand_assets),
            logo=files([b.logo])[0] if b.HasField("logo") else None,
            audio_files=files(b.audio_files),
            created_at=timestamp(b.created_at),
            updated_at=timestamp(b.updated_at),
        )
        for b in brands
    ]


def files_of(brand: pb.Brand) -> list[pb.BrandFile]:
    """Every file the brand lists, whatever its kind."""
    logo = [brand.logo] if brand.HasField("logo") else []
    return [*brand.product_images, *brand.brand_assets, *logo, *brand.audio_files]


async def brand_out(media: MediaAsyncStub, brand: pb.Brand) -> BrandOut:
    return (await brands_out(media, [brand]))[0]


@router.post("", status_code=201, response_model=BrandOut)
async def create_brand(
    body: BrandCreate, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    brand = await accounts.CreateBrand(
        pb.CreateBrandRequest(
            title=body.title,
            description=body.description,
            brand_guidelines_json=json.dumps(body.brand_guidelines),
        ),
    )
    return await brand_out(media, brand)


@router.get("", response_model=Page[BrandOut])
async def list_brands(
    caller: CurrentCaller, accounts: Accounts, media: Media, limit: Limit = 20, cursor: str = ""
) -> Page[BrandOut]:
    reply = await accounts.ListBrands(pb.ListBrandsRequest(limit=limit, cursor=cursor))
    return Page(items=await brands_out(media, list(reply.brands)), next_cursor=reply.next_cursor or None)


@router.get("/{brand_id}", response_model=BrandOut)
async def get_brand(brand_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts, media: Media) -> BrandOut:
    brand = await accounts.GetBrand(pb.GetBrandRequest(id=str(brand_id)))
    return await brand_out(media, brand)


@router.patch("/{brand_id}", response_model=BrandOut)
async def update_brand(
    brand_id: uuid.UUID, body: BrandUpdate, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    request = pb.UpdateBrandRequest(id=str(brand_id))
    if body.title is not None:
        request.title = body.title
    if body.description is not None:
        request.description = body.description
    if body.brand_guidelines is not None:
        request.brand_guidelines_json = json.dumps(body.brand_guidelines)
    return await brand_out(media, await accounts.UpdateBrand(request))


@router.delete("/{brand_id}", status_code=204)
async def delete_brand(brand_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts) -> Response:
    # The brand's files, projects, jobs and objects go too: media and jobs follow the event.
    await accounts.DeleteBrand(pb.GetBrandRequest(id=str(brand_id)))
    return Response(status_code=204)


# --- files: presigned PUT, then confirm ---------------------------------------------------------


@router.post("/{brand_id}/uploads", status_code=201, response_model=UploadTicket)
async def create_brand_upload(
    brand_id: uuid.UUID,
    body: UploadRequest,
    caller: CurrentCaller,
    accounts: Accounts,
    media: Media,
    settings: AppSettings,
) -> UploadTicket:
    await accounts.GetBrand(pb.GetBrandRequest(id=str(brand_id)))
    rules = rules_for(body.kind, settings)
    content_type = check_file(rules, body.content_type, body.size)
    name = object_name(body.filename)
    put = await media.PresignUpload(
        media_pb2.PresignUploadRequest(
            ref=file_ref(body.kind, str(brand_id), name),
            content_type=content_type,
            size=body.size,
            max_size=rules.max_bytes,
            expires_in_s=settings.upload_url_expiry_s,
        ),
    )
    ticket = sign_ticket(
        secret_value(settings.secret_key).encode(),
        {
            "brand_id": str(brand_id),
            "user_id": caller.id,
            "kind": body.kind,
            "key": put.key,
            "filename": body.filename,
            "content_type": content_type,
            "size": body.size,
            "exp": int(time.time()) + settings.upload_url_expiry_s,
        },
    )
    return UploadTicket(
        upload_id=ticket,
        url=put.url,
        headers=dict(put.headers),
        key=put.key,
        expires_at=timestamp(put.expires_at),
    )


@router.post(
    "/{brand_id}/uploads/confirm",
    response_model=BrandOut,
    responses={409: {"description": "What arrived differs in size or type from what was announced"}},
)
async def confirm_brand_upload(
    brand_id: uuid.UUID,
    body: UploadConfirm,
    caller: CurrentCaller,
    accounts: Accounts,
    media: Media,
    settings: AppSettings,
) -> BrandOut:
    ticket = read_ticket(secret_value(settings.secret_key).encode(), body.upload_id, str(brand_id), caller.id)
    stored = await media.ConfirmUpload(
        media_pb2.ConfirmUploadRequest(
            ref=file_ref(ticket["kind"], str(brand_id), ticket["name"]),
            content_type=ticket["content_type"],
            size=ticket["size"],
            check="logo" if ticket["kind"] == "logo" else "",
        ),
    )
    return await _record_file(accounts, media, brand_id, ticket["kind"], stored, ticket["filename"])


async def _record_file(
    accounts: AccountsAsyncStub,
    media: MediaAsyncStub,
    brand_id: uuid.UUID,
    kind: FileKind,
    stored: media_pb2.StoredObject,
    filename: str,
) -> BrandOut:
    # One logo per brand: the one it replaces is deleted once the new one is recorded.
    replaced = None
    if kind == "logo":
        before = await accounts.GetBrand(pb.GetBrandRequest(id=str(brand_id)))
        replaced = before.logo.key if before.HasField("logo") and before.logo.key != stored.key else None
    try:
        brand = await accounts.AddBrandFile(
            pb.AddBrandFileRequest(
                brand_id=str(brand_id),
                kind=kind,
                file=pb.BrandFile(
                    key=stored.key, filename=filename, content_type=stored.content_type, size=stored.size
                ),
            ),
        )
    except ServiceCallError as exc:
        # The brand refused the file (it is full, or was deleted meanwhile): don't keep bytes that
        # nothing refers to. Not when accounts merely failed to answer: it may have recorded the
        # file, and a retried confirm needs the object. Nor when this request did not store the
        # object (a repeated confirm): a refused request removes nothing it did not create.
        if http_status_for(exc.code) < 500 and stored.stored_now:
            await _delete_quietly(media, stored.key)
        raise
    if replaced is not None:
        await _delete_quietly(media, replaced)
    return await brand_out(media, brand)


async def _delete_quietly(media: MediaAsyncStub, key: str) -> None:
    try:
        await media.DeleteObject(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=key)))
    except ServiceCallError as exc:
        log.warning("could not remove %s, which no brand refers to: %s", key, exc)


# --- files: multipart through the gateway -------------------------------------------------------


@router.post(
    "/{brand_id}/files",
    status_code=201,
    response_model=BrandOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def upload_brand_file(
    brand_id: uuid.UUID,
    request: Request,
    caller: CurrentCaller,
    accounts: Accounts,
    media: Media,
    settings: AppSettings,
    kind: FileKind = Query(...),
) -> BrandOut:
    """For clients that can't PUT to S3: the file streams through to media in chunks, so memory
    stays bounded whatever its size."""
    await accounts.GetBrand(pb.GetBrandRequest(id=str(brand_id)))
    rules = rules_for(kind, settings)
    stream = MultipartFileStream(request, rules.max_bytes)
    pump = asyncio.create_task(stream.pump())
    try:
        filename, declared_type = await _first_of(stream.header, pump)
        if len(filename) > MAX_FILENAME_LENGTH:
            raise HTTPException(422, f"the filename is longer than {MAX_FILENAME_LENGTH} characters")
        content_type = check_file(rules, declared_type, None)
        # Checked before media hears of the upload: a refused file is never stored, not even briefly.
        # A logo is read whole (it is small: MAX_LOGO_BYTES) to check what it draws, not only its type.
        head = await stream.read_head(rules.max_bytes + 1 if kind == "logo" else SIGNATURE_BYTES)
        if not looks_like(content_type, head):
            raise HTTPException(422, f"the file's content is not {content_type}")
        if kind == "logo" and (problem := logo_problem(content_type, head)) is not None:
            raise HTTPException(422, problem)

        async def messages() -> AsyncIterator[media_pb2.UploadObjectRequest]:
            yield media_pb2.UploadObjectRequest(
                header=media_pb2.UploadHeader(
                    ref=file_ref(kind, str(brand_id), object_name(filename)), content_type=content_type
                )
            )
            if head:
                yield media_pb2.UploadObjectRequest(chunk=head)
            async for chunk in stream.chunks():
                yield media_pb2.UploadObjectRequest(chunk=chunk)
            # Only a body that arrived whole gets here (chunks() raises otherwise): store it.
            yield media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish())

        try:
            # The call lasts as long as the client takes to send the file, so it gets the time a
            # presigned upload gets rather than the default deadline of an internal call.
            stored = await media.UploadObject(messages(), timeout=settings.upload_url_expiry_s)
        except BaseException:
            # Our own reason to stop the upload beats whatever the interrupted call reports.
            if stream.error is not None:
                raise stream.error from None
            raise
        await pump
    finally:
        if not pump.done():
            pump.cancel()
        elif not pump.cancelled():
            pump.exception()  # retrieved: it was raised above already, or doesn't matter any more
    return await _record_file(accounts, media, brand_id, kind, stored, filename)


async def _first_of(header: asyncio.Future[tuple[str, str]], pump: asyncio.Task[None]) -> tuple[str, str]:
    """The file part's (filename, content type), or the error that ended the body first."""
    either: set[asyncio.Future[Any]] = {header, pump}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if header.done() and header.exception() is None:
        return header.result()
    if pump.done():
        pump.result()  # raises the pump's error, which explains the missing file part best
    return header.result()


# --- removing a file ----------------------------------------------------------------------------


async def _remove_file(
    accounts: AccountsAsyncStub,
    media: MediaAsyncStub,
    brand_id: uuid.UUID,
    listed: Callable[[pb.Brand], Iterable[pb.BrandFile]],
    key: str | None,
) -> BrandOut:
    """Remove the file `key` (None: the only one) among the files `listed` of the brand."""
    brand = await accounts.GetBrand(pb.GetBrandRequest(id=str(brand_id)))
    found = [f.key for f in listed(brand) if key is None or f.key == key]
    if not found:
        raise HTTPException(404, "file not found")
    await media.DeleteObject(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=found[0])))
    brand = await accounts.RemoveBrandFile(pb.RemoveBrandFileRequest(brand_id=str(brand_id), key=found[0]))
    return await brand_out(media, brand)


@router.delete("/{brand_id}/product-images/{name}", response_model=BrandOut)
async def remove_product_image(
    brand_id: uuid.UUID, name: str, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    key = f"product-images/{brand_id}/{name}"
    return await _remove_file(accounts, media, brand_id, lambda b: b.product_images, key)


@router.delete("/{brand_id}/brand-assets/{name}", response_model=BrandOut)
async def remove_brand_asset(
    brand_id: uuid.UUID, name: str, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    key = f"brand-assets/{brand_id}/{name}"
    return await _remove_file(accounts, media, brand_id, lambda b: b.brand_assets, key)


@router.delete("/{brand_id}/logo", response_model=BrandOut)
async def remove_logo(
    brand_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    """The brand's ads then end without a logo."""
    return await _remove_file(
        accounts, media, brand_id, lambda b: [b.logo] if b.HasField("logo") else [], None
    )


@router.delete("/{brand_id}/audio-files/{name}", response_model=BrandOut)
async def remove_audio_file(
    brand_id: uuid.UUID, name: str, caller: CurrentCaller, accounts: Accounts, media: Media
) -> BrandOut:
    """Projects whose music was this track go back to generated music."""
    key = f"brand-assets/{brand_id}/{name}"
    return await _remove_file(accounts, media, brand_id, lambda b: b.audio_files, key)
