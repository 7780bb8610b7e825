"""Presigned uploads of a brand's files end to end: through the real gateway to accounts and media,
S3 (moto) and PostgreSQL. A presigned PUT straight to S3, then a confirmation that checks what
arrived. The other way a client sends a file, a multipart form streamed through the gateway:
test_api_brands_files.py."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.gateway.uploads import sign_ticket
from tests.support.api import assert_error_body, new_brand, wait_until_healthy
from tests.support.brands import (
    ASSET_LIMIT,
    IMAGE_LIMIT,
    ask_upload,
    confirm,
    download,
    error_of,
    exists,
    file_bytes,
    listed_file,
    multipart_upload,
    presigned_upload,
    put_to_s3,
    stored_keys,
    without_urls,
)
from tests.support.stack import SECRET_KEY

# --- presigned uploads -------------------------------------------------------------------------------


async def test_presigned_product_image_upload(http, owner, brand, media_stub, db):
    data = file_bytes("image/png", 5000)
    response = await ask_upload(http, owner, brand["id"], size=len(data), filename="My Product (1).png")
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert set(ticket) == {"upload_id", "url", "method", "headers", "key", "expires_at"}
    assert ticket["method"] == "PUT"
    assert ticket["headers"] == {"Content-Type": "image/png", "Content-Length": str(len(data))}
    assert ticket["key"].startswith(f"product-images/{brand['id']}/")
    assert ticket["key"].endswith("-My_Product_1_.png")
    assert ticket["url"].startswith("http")

    put = await put_to_s3(ticket, data)
    assert put.status_code == 200, put.text

    confirmed = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert confirmed.status_code == 200, confirmed.text
    updated = confirmed.json()
    assert updated["id"] == brand["id"]
    assert updated["brand_assets"] == []
    [image] = updated["product_images"]
    assert (image["key"], image["filename"], image["content_type"], image["size"]) == (
        ticket["key"],
        "My Product (1).png",
        "image/png",
        len(data),
    )
    assert image["added_at"] is not None
    assert parse_qs(urlsplit(image["url"]).query)["X-Amz-Expires"] == ["3600"]
    assert await download(image["url"]) == data

    # Media recorded it for the brand.
    row = db.execute(
        "SELECT size, brand_id FROM media.media_objects WHERE key = %s", (ticket["key"],)
    ).fetchone()
    assert row == (len(data), uuid.UUID(brand["id"]))

    # Confirming the same upload again changes nothing.
    again = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert again.status_code == 200, again.text
    assert without_urls(again.json())["product_images"] == without_urls(updated)["product_images"]


@pytest.mark.parametrize(
    ("kind", "content_type", "listed_in"),
    [
        ("product_image", "image/jpeg", "product_images"),
        ("product_image", "image/webp", "product_images"),
        ("brand_asset", "application/pdf", "brand_assets"),
        ("brand_asset", "image/png", "brand_assets"),
    ],
)
async def test_presigned_upload_of_each_allowed_type(http, owner, brand, kind, content_type, listed_in):
    data = file_bytes(content_type)
    updated = await presigned_upload(http, owner, brand["id"], data, kind=kind, content_type=content_type)
    [item] = updated[listed_in]
    prefix = "product-images" if kind == "product_image" else "brand-assets"
    assert item["key"].startswith(f"{prefix}/{brand['id']}/")
    assert item["content_type"] == content_type
    assert await download(item["url"]) == data


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content_type": "image/gif"}, 422),
        ({"content_type": "application/pdf"}, 422),
        ({"content_type": "text/html"}, 422),
        ({"kind": "brand_asset", "content_type": "image/gif"}, 422),
        ({"kind": "video", "content_type": "image/png"}, 422),
        ({"size": IMAGE_LIMIT + 1}, 413),
        ({"kind": "brand_asset", "content_type": "application/pdf", "size": ASSET_LIMIT + 1}, 413),
        ({"size": 0}, 422),
        ({"size": -5}, 422),
        ({"filename": ""}, 422),
        ({"filename": "f" * 256}, 422),
        ({"extra": True}, 422),
    ],
)
async def test_upload_request_rejects_bad_files(http, owner, brand, body, status, media_stub):
    request = {"kind": "product_image", "filename": "a.png", "content_type": "image/png", "size": 100} | body
    response = await http.post(f"/api/brands/{brand['id']}/uploads", json=request, headers=owner["headers"])
    assert_error_body(response, status)


@pytest.mark.parametrize(
    ("kind", "content_type", "size"),
    [("product_image", "image/png", IMAGE_LIMIT), ("brand_asset", "application/pdf", ASSET_LIMIT)],
)
async def test_upload_request_at_the_limit_is_accepted(http, owner, brand, kind, content_type, size):
    response = await ask_upload(http, owner, brand["id"], kind=kind, content_type=content_type, size=size)
    assert response.status_code == 201, response.text
    assert response.json()["headers"]["Content-Length"] == str(size)


def tampered(upload_id: str, **changes) -> str:
    body, _, mac = upload_id.rpartition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    new_body = base64.urlsafe_b64encode(json.dumps(payload | changes).encode()).decode().rstrip("=")
    return f"{new_body}.{mac}"


async def test_a_tampered_or_made_up_upload_id_is_422(http, owner, brand):
    ticket = (await ask_upload(http, owner, brand["id"])).json()
    await put_to_s3(ticket, file_bytes("image/png"))
    for bad in (
        tampered(ticket["upload_id"], size=999),
        tampered(ticket["upload_id"], key=f"product-images/{brand['id']}/other.png"),
        ticket["upload_id"][:-1] + ("0" if ticket["upload_id"][-1] != "0" else "1"),
        "made-up",
        "a.b",
        ".",
        "x.é",  # not ASCII: still just a wrong upload id
        "!!!." + "0" * 64,
    ):
        response = await confirm(http, owner, brand["id"], bad)
        assert response.status_code == 422, (bad, response.text)
    empty = await confirm(http, owner, brand["id"], "")
    assert empty.status_code == 422
    brand_now = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    assert brand_now["product_images"] == []


@pytest.mark.parametrize("body", [{}, {"upload_id": None}, {"upload_id": "a.b", "key": "product-images/x"}])
async def test_a_bad_confirm_body_is_422(http, owner, brand, body):
    response = await http.post(
        f"/api/brands/{brand['id']}/uploads/confirm", json=body, headers=owner["headers"]
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_someone_elses_upload_id_is_404_even_on_their_own_brand(http, owner, other, brand):
    ticket = (await ask_upload(http, owner, brand["id"])).json()
    assert (await put_to_s3(ticket, file_bytes("image/png"))).status_code == 200
    their_brand = await new_brand(http, other["headers"])
    response = await confirm(http, other, their_brand["id"], ticket["upload_id"])
    assert response.status_code == 404, response.text
    # Nor does the owner's own ticket work on another of the owner's brands.
    second = await new_brand(http, owner["headers"])
    assert (await confirm(http, owner, second["id"], ticket["upload_id"])).status_code == 404
    for b, user in ((their_brand, other), (brand, owner), (second, owner)):
        listed = (await http.get(f"/api/brands/{b['id']}", headers=user["headers"])).json()
        assert listed["product_images"] == []


async def test_confirming_before_the_put_is_404(http, owner, brand):
    ticket = (await ask_upload(http, owner, brand["id"])).json()
    response = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert response.status_code == 404, response.text
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()[
        "product_images"
    ] == []


async def test_a_put_of_another_size_is_refused_and_removed(http, owner, brand, media_stub, db):
    announced = file_bytes("image/png", 1000)
    ticket = (await ask_upload(http, owner, brand["id"], size=len(announced))).json()
    sent = announced + b"more"
    # Real S3 refuses this PUT (the Content-Length is signed); the test server takes it, which plays
    # a client, or a store, that doesn't hold to the announced size.
    put = await put_to_s3(ticket, sent, headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    response = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "failed_precondition"
    assert "size" in response.json()["detail"]
    assert not await exists(media_stub, ticket["key"])
    assert db.execute("SELECT 1 FROM media.media_objects WHERE key = %s", (ticket["key"],)).fetchone() is None
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()[
        "product_images"
    ] == []


async def test_a_put_of_another_type_is_refused_and_removed(http, owner, brand, media_stub):
    data = file_bytes("image/png")
    ticket = (await ask_upload(http, owner, brand["id"], size=len(data))).json()
    put = await put_to_s3(ticket, data, headers={**ticket["headers"], "Content-Type": "image/jpeg"})
    assert put.status_code == 200, put.text
    response = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert response.status_code == 409, response.text
    assert "content type" in response.json()["detail"]
    assert not await exists(media_stub, ticket["key"])


async def test_an_expired_upload_id_is_422(http, owner, brand):
    data = file_bytes("image/png")
    ticket = (await ask_upload(http, owner, brand["id"], size=len(data))).json()
    assert (await put_to_s3(ticket, data)).status_code == 200
    payload = json.loads(base64.urlsafe_b64decode(ticket["upload_id"].split(".")[0] + "=="))
    # Signed with the gateway's own SECRET_KEY, so only the expiry is wrong with it.
    expired = sign_ticket(SECRET_KEY.encode(), payload | {"exp": int(time.time()) - 1})
    response = await confirm(http, owner, brand["id"], expired)
    assert response.status_code == 422, response.text
    assert "expired" in response.json()["detail"]
    assert (await confirm(http, owner, brand["id"], ticket["upload_id"])).status_code == 200


# --- what confirm checks, and that a confirmed file stays what was checked ------------------------


def forged(upload_id: str, **changes) -> str:
    """The ticket with changes, signed with the test stack's own SECRET_KEY: a ticket the gateway
    itself could have issued, so only the gateway's checks of its content stand in the way."""
    payload = json.loads(base64.urlsafe_b64decode(upload_id.split(".")[0] + "=="))
    return sign_ticket(SECRET_KEY.encode(), payload | changes)


async def test_html_sent_as_a_png_is_422_and_nothing_is_kept(http, owner, brand, media_stub, db):
    page = b"<html><script>alert(document.cookie)</script></html>".ljust(200, b" ")
    ticket = (await ask_upload(http, owner, brand["id"], size=len(page))).json()
    # The PUT URL is signed for image/png, and S3 takes whatever bytes come with that header.
    assert (await put_to_s3(ticket, page)).status_code == 200

    response = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "the file's content is not image/png"
    # Neither the upload nor anything under the brand's files is left, and nothing is recorded.
    staged = urlsplit(ticket["url"]).path.split("/", 2)[2]
    assert staged.startswith(f"incoming/product-images/{brand['id']}/")
    assert not await exists(media_stub, staged)
    assert not await exists(media_stub, ticket["key"])
    assert await stored_keys(media_stub, f"product-images/{brand['id']}/") == []
    assert db.execute("SELECT 1 FROM media.media_objects WHERE key = %s", (ticket["key"],)).fetchone() is None
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()[
        "product_images"
    ] == []


async def test_a_confirmed_file_cannot_be_replaced_through_its_put_url(http, owner, brand):
    original = file_bytes("image/png", 2000)
    ticket = (await ask_upload(http, owner, brand["id"], size=len(original))).json()
    assert (await put_to_s3(ticket, original)).status_code == 200
    assert (await confirm(http, owner, brand["id"], ticket["upload_id"])).status_code == 200

    # The URL is still valid, and S3 takes a second PUT of the same type and size...
    swapped = b"<html>not the checked picture</html>".ljust(len(original), b" ")
    assert (await put_to_s3(ticket, swapped)).status_code == 200
    # ...but what the brand lists is still the bytes confirm checked, before and after confirming again.
    assert await download((await listed_file(http, owner, brand["id"], ticket["key"]))["url"]) == original
    again = await confirm(http, owner, brand["id"], ticket["upload_id"])
    assert again.status_code == 200, again.text
    [image] = again.json()["product_images"]
    assert await download(image["url"]) == original
    assert await download((await listed_file(http, owner, brand["id"], ticket["key"]))["url"]) == original


async def test_listed_downloads_carry_the_checked_type_and_documents_are_attachments(http, owner, brand):
    image = file_bytes("image/webp")
    await presigned_upload(http, owner, brand["id"], image, content_type="image/webp")
    pdf = file_bytes("application/pdf")
    await presigned_upload(
        http, owner, brand["id"], pdf, kind="brand_asset", content_type="application/pdf", filename="g.pdf"
    )
    streamed = await multipart_upload(
        http, owner, brand["id"], pdf, kind="brand_asset", content_type="application/pdf"
    )
    assert streamed.status_code == 201, streamed.text

    listed = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    async with httpx.AsyncClient(timeout=30) as client:
        [webp] = listed["product_images"]
        response = await client.get(webp["url"])
        assert (response.status_code, response.content) == (200, image)
        assert response.headers["content-type"] == "image/webp"
        assert "content-disposition" not in response.headers  # shown inline
        assert len(listed["brand_assets"]) == 2
        for asset in listed["brand_assets"]:
            response = await client.get(asset["url"])
            assert (response.status_code, response.content) == (200, pdf)
            assert response.headers["content-type"] == "application/pdf"
            name = asset["key"].rsplit("/", 1)[-1]
            assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


async def test_a_ticket_for_a_key_outside_the_brand_is_refused_before_media_is_asked(
    http, owner, other, brand, stack, media_stub
):
    """A ticket can't be forged without SECRET_KEY; still, confirm checks that its key lies under
    the brand's own folder for its kind, and does so before media hears of it: with media stopped,
    the answer is still 404 (asking media would be 503), and no object is touched."""
    theirs = await new_brand(http, other["headers"])
    their_bytes = file_bytes("image/png")
    their_key = (await presigned_upload(http, other, theirs["id"], their_bytes))["product_images"][0]["key"]
    mine = file_bytes("application/pdf")
    asset = await presigned_upload(
        http, owner, brand["id"], mine, kind="brand_asset", content_type="application/pdf"
    )
    my_asset_key = asset["brand_assets"][0]["key"]
    ticket = (await ask_upload(http, owner, brand["id"], size=len(their_bytes) + 1)).json()
    bad_keys = [
        their_key,  # another user's brand
        my_asset_key,  # the brand's own, but of the other kind
        f"product-images/{brand['id']}/../{theirs['id']}/x.png",
        f"product-images/{brand['id']}/",
        f"product-images/{theirs['id']}/{brand['id']}/x.png",
        f"incoming/product-images/{brand['id']}/x.png",
        f"product-images/{brand['id']}",
        "",
    ]

    stack.stop_app("media")
    try:
        for key in bad_keys:
            response = await confirm(http, owner, brand["id"], forged(ticket["upload_id"], key=key))
            assert error_of(response)[:2] == (404, "not_found"), (key, response.text)
        response = await confirm(http, owner, brand["id"], forged(ticket["upload_id"], kind="video"))
        assert response.status_code == 404, response.text
    finally:
        stack.start_app("media")
    await wait_until_healthy(http)  # the gateway's channels back, for this test and the next module

    assert await download((await listed_file(http, other, theirs["id"], their_key))["url"]) == their_bytes
    assert await download((await listed_file(http, owner, brand["id"], my_asset_key))["url"]) == mine
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()[
        "product_images"
    ] == []


async def test_a_refused_confirm_leaves_an_already_confirmed_file_intact(http, owner, brand, media_stub):
    data = file_bytes("image/png", 3000)
    ticket = (await ask_upload(http, owner, brand["id"], size=len(data))).json()
    assert (await put_to_s3(ticket, data)).status_code == 200
    assert (await confirm(http, owner, brand["id"], ticket["upload_id"])).status_code == 200

    # Tickets for the same (confirmed) key that announce another size or type are refused...
    for changes in ({"size": len(data) + 1}, {"size": 1}, {"content_type": "image/jpeg"}):
        response = await confirm(http, owner, brand["id"], forged(ticket["upload_id"], **changes))
        assert response.status_code == 409, (changes, response.text)
    # ...and so is a second upload through the URL that doesn't hold to the announcement.
    assert (await put_to_s3(ticket, data + b"more", headers={"Content-Type": "image/png"})).status_code == 200
    # (A confirm of the ticket itself finds the file recorded as announced: the brand, unchanged.)
    assert (await confirm(http, owner, brand["id"], ticket["upload_id"])).status_code == 200

    # The confirmed file is untouched: still listed, still the same bytes.
    assert await exists(media_stub, ticket["key"])
    listed = await listed_file(http, owner, brand["id"], ticket["key"])
    assert listed["size"] == len(data)
    assert await download(listed["url"]) == data
