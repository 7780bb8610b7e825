"""The assistant end to end: chat replies (POST /api/projects/{id}/messages with reply) and drafted
scripts (POST /api/projects/{id}/script/draft).

The session's stack runs accounts without a language model: replies are 409 and drafts come from
the template. For the configured path this module starts a second accounts process with LLM_*
pointing at tests/support/fake_llm.py (a real HTTP server speaking the chat-completions API) and a second
gateway in front of it; both share the stack's Postgres, Redis and S3, so a user or project made
through one gateway is the same through the other."""

from __future__ import annotations

import json
import re
import uuid

import grpc
import httpx
import pytest

from devstack.processes import grpc_loopback_target
from services.common.context import USER_ID_HEADER
from services.common.grpc_client import open_channel
from tests.support import fake_llm
from tests.support.api import assert_error_body, new_brand, new_user
from tests.support.brands import file_bytes, multipart_upload
from tests.support.extra_apps import accounts_behind_a_gateway
from tests.support.fake_llm import FakeLLM
from tests.support.stack import INTERNAL_TOKEN
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc

API_KEY = "sk-test-" + uuid.uuid4().hex
MODEL = "fake-model-1"
LLM_TIMEOUT_S = 4
SETTINGS = ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL")
SCRIPT = {
    "storyline": "A hot runner finds relief in a can of Acme Lime.",
    "scenes": [
        {"order": 1, "description": "A runner, hot and tired, at noon", "duration_s": 5, "voiceover_text": "Hot?"},
        {"order": 2, "description": "A can of Acme Lime opens in close-up", "duration_s": 5,
         "on_screen_text": "Acme Lime"},
        {"order": 3, "description": "The logo and the call to action", "duration_s": 10,
         "voiceover_text": "Grab a can today."},
    ],
}  # fmt: skip


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeLLM(API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def llm_ports(stack, fake):
    """(accounts port, gateway port) of a second accounts configured with the fake language model and
    a gateway that calls it (media and jobs are the stack's)."""
    settings = {
        "LLM_BASE_URL": fake.url,
        "LLM_API_KEY": API_KEY,
        "LLM_MODEL": MODEL,
        "LLM_TIMEOUT_S": str(LLM_TIMEOUT_S),
        "LLM_MAX_TOKENS": "321",
        "LLM_TEMPERATURE": "0.2",
    }
    with accounts_behind_a_gateway(stack, "llm", settings) as ports:
        yield ports


@pytest.fixture
async def llm_http(llm_ports, fake):
    """An HTTP client on the gateway whose accounts has the (freshly reset) fake language model."""
    fake.reset()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{llm_ports[1]}", timeout=30) as client:
        yield client
    fake.reset()


@pytest.fixture
async def llm_accounts(llm_ports):
    """A gRPC stub on the configured accounts (bound to the session's event loop, like conftest's)."""
    channel = open_channel(grpc_loopback_target(llm_ports[0]), INTERNAL_TOKEN)
    yield accounts_pb2_grpc.AccountsStub(channel)
    await channel.close()


# --- helpers ------------------------------------------------------------------------------------


async def owner_with_project(http, images: tuple[str, ...] = (), **ad_details) -> tuple[dict, dict, dict]:
    """A fresh user, a brand with a description, guidelines and `images` uploaded as product images,
    and a project with `ad_details`."""
    user = await new_user(http)
    brand = await new_brand(
        http,
        user["headers"],
        description="Sparkling water with real fruit. Made in Oregon.",
        brand_guidelines={"tone": "bold", "colors": ["#D62828", "#FFFFFF"]},
    )
    for name in images:
        response = await multipart_upload(http, user, brand["id"], file_bytes("image/png"), filename=name)
        assert response.status_code == 201, response.text
    response = await http.post(
        "/api/projects", json={"brand_id": brand["id"], "ad_details": ad_details}, headers=user["headers"]
    )
    assert response.status_code == 201, response.text
    return user, brand, response.json()


async def say(http, user, project, content: str, **extra) -> httpx.Response:
    return await http.post(
        f"/api/projects/{project['id']}/messages",
        json={"role": "user", "content": content, **extra},
        headers=user["headers"],
    )


async def messages_of(http, user, project) -> list[tuple[str, str]]:
    response = await http.get(f"/api/projects/{project['id']}/messages", headers=user["headers"])
    assert response.status_code == 200, response.text
    return [(m["role"], m["content"]) for m in response.json()["items"]]


async def draft(http, user, project, body: dict | None = None) -> httpx.Response:
    return await http.post(f"/api/projects/{project['id']}/script/draft", json=body, headers=user["headers"])


async def script_of(http, user, project) -> httpx.Response:
    return await http.get(f"/api/projects/{project['id']}/script", headers=user["headers"])


def assert_valid_script(script: dict, duration_s: float) -> None:
    scenes = script["scenes"]
    assert 1 <= len(scenes) <= 12
    assert [s["order"] for s in scenes] == list(range(1, len(scenes) + 1))
    assert sum(s["duration_s"] for s in scenes) == duration_s
    for s in scenes:
        assert 1 <= s["duration_s"] <= 60 and s["duration_s"] * 2 == int(s["duration_s"] * 2)
        assert s["description"]


def chat_requests(fake) -> list[fake_llm.Request]:
    return [r for r in fake.requests if r.path == "/v1/chat/completions"]


# --- replies without a language model -------------------------------------------------------------


async def test_reply_without_a_language_model_is_409_naming_the_settings_and_stores_nothing(http):
    user, _, project = await owner_with_project(http)

    response = await say(http, user, project, "Any ideas for the hook?", reply=True)

    error = assert_error_body(response, 409, "failed_precondition")
    for setting in SETTINGS:
        assert setting in error["detail"]
    assert await messages_of(http, user, project) == []


async def test_without_reply_a_message_keeps_its_shape(http):
    user, _, project = await owner_with_project(http)

    response = await say(http, user, project, "hello", reply=False)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "role", "content", "created_at"}
    assert await messages_of(http, user, project) == [("user", "hello")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "assistant", "content": "hi", "reply": True}, "body.role"),
        ({"role": "system", "content": "hi", "reply": True}, "body.role"),
        ({"role": "user", "content": "hi", "reply": "please"}, "body.reply"),
        ({"role": "user", "content": "", "reply": True}, "body.content"),
    ],
)
async def test_reply_is_only_for_user_messages(http, body, field):
    user, _, project = await owner_with_project(http)

    response = await http.post(f"/api/projects/{project['id']}/messages", json=body, headers=user["headers"])

    error = assert_error_body(response, 422, "validation_error")
    assert field in [d["field"] for d in error["errors"]]
    assert await messages_of(http, user, project) == []


async def test_reply_on_another_users_project_is_404_like_a_missing_one(http):
    owner, _, project = await owner_with_project(http)
    stranger = await new_user(http)

    theirs = await say(http, stranger, project, "hijacked", reply=True)
    nobodys = await say(http, stranger, {"id": str(uuid.uuid4())}, "hijacked", reply=True)

    assert assert_error_body(theirs, 404, "not_found")["detail"] == nobodys.json()["detail"]
    assert await messages_of(http, owner, project) == []


# --- replies from the language model --------------------------------------------------------------


async def test_reply_stores_both_messages_in_order_and_sends_the_brand_and_conversation(llm_http, fake):
    user, _, project = await owner_with_project(llm_http, product="Acme Lime", audience="runners")
    earlier = await say(llm_http, user, project, "We want a summer ad.")
    assert earlier.status_code == 201, earlier.text
    fake.answer(fake_llm.reply("  How about a beach at noon?\n"))

    response = await say(llm_http, user, project, "Any ideas for the hook?", reply=True)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"message", "reply"}
    assert (body["message"]["role"], body["message"]["content"]) == ("user", "Any ideas for the hook?")
    assert (body["reply"]["role"], body["reply"]["content"]) == ("assistant", "How about a beach at noon?")
    assert body["reply"]["created_at"] > body["message"]["created_at"]
    assert await messages_of(llm_http, user, project) == [
        ("user", "We want a summer ad."),
        ("user", "Any ideas for the hook?"),
        ("assistant", "How about a beach at noon?"),
    ]

    [request] = chat_requests(fake)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert (request.body["max_tokens"], request.body["temperature"]) == (321, 0.2)
    system, *conversation = request.body["messages"]
    assert system["role"] == "system"
    for fact in ("Acme Sparkling Water", "Sparkling water with real fruit", "bold", "Acme Lime", "runners"):
        assert fact in system["content"]
    assert conversation == [
        {"role": "user", "content": "We want a summer ad."},
        {"role": "user", "content": "Any ideas for the hook?"},
    ]

    # The next reply sees the whole exchange.
    fake.reset()
    fake.answer(fake_llm.reply("Then a can opening in close-up."))
    again = await say(llm_http, user, project, "And then?", reply=True)

    assert again.status_code == 201, again.text
    assert chat_requests(fake)[0].body["messages"][1:] == [
        {"role": "user", "content": "We want a summer ad."},
        {"role": "user", "content": "Any ideas for the hook?"},
        {"role": "assistant", "content": "How about a beach at noon?"},
        {"role": "user", "content": "And then?"},
    ]
    assert [m[1] for m in await messages_of(llm_http, user, project)][-2:] == [
        "And then?",
        "Then a can opening in close-up.",
    ]


async def test_a_transient_failure_is_retried(llm_http, fake):
    user, _, project = await owner_with_project(llm_http)
    fake.answer(fake_llm.error(500, "overloaded"), fake_llm.error(502, "bad gateway"), fake_llm.reply("Hi!"))

    response = await say(llm_http, user, project, "Hello?", reply=True)

    assert response.status_code == 201, response.text
    assert len(chat_requests(fake)) == 3
    assert await messages_of(llm_http, user, project) == [("user", "Hello?"), ("assistant", "Hi!")]


@pytest.mark.parametrize(
    ("answer", "attempts", "says"),
    [
        (fake_llm.error(500, "the model crashed"), 3, "HTTP 500: the model crashed"),
        (fake_llm.slow(30), None, f"did not answer within {LLM_TIMEOUT_S} s"),
        # A provider that echoes the key it refused: the key must not reach the client.
        (fake_llm.error(401, f"Incorrect API key provided: {API_KEY}"), 1, "LLM_API_KEY"),
        (fake_llm.error(404, "The model does not exist"), 1, "HTTP 404: The model does not exist"),
        (fake_llm.Answer(body=b'{"choices": []}'), 1, "had no message"),
        (fake_llm.reply("   "), 1, "empty"),
    ],
    ids=["500", "timeout", "401", "404", "no-message", "empty"],
)
async def test_when_the_model_fails_the_reply_is_503_and_nothing_is_stored(
    llm_http, fake, answer, attempts, says
):
    user, _, project = await owner_with_project(llm_http)
    await say(llm_http, user, project, "Before.")
    fake.answer(answer)

    response = await say(llm_http, user, project, "Will this work?", reply=True)

    error = assert_error_body(response, 503, "unavailable")
    assert error["detail"].startswith("assistant unavailable: ")
    assert says in error["detail"]
    assert API_KEY not in response.text
    assert response.headers["retry-after"]
    assert await messages_of(llm_http, user, project) == [("user", "Before.")]
    if attempts is not None:
        assert len(chat_requests(fake)) == attempts


async def test_a_rate_limited_model_is_429_with_its_retry_after(llm_http, fake):
    user, _, project = await owner_with_project(llm_http)
    fake.answer(fake_llm.error(429, "Rate limit reached", headers={"Retry-After": "7"}))

    response = await say(llm_http, user, project, "Hello?", reply=True)

    assert_error_body(response, 429, "resource_exhausted")
    assert response.headers["retry-after"] == "7"
    assert len(chat_requests(fake)) == 1
    assert await messages_of(llm_http, user, project) == []


async def test_a_configured_assistant_still_hides_other_users_projects(llm_http, fake):
    owner, _, project = await owner_with_project(llm_http)
    stranger = await new_user(llm_http)

    reply = await say(llm_http, stranger, project, "hijacked", reply=True)
    drafted = await draft(llm_http, stranger, project)

    assert_error_body(reply, 404, "not_found")
    assert_error_body(drafted, 404, "not_found")
    assert chat_requests(fake) == []
    assert await messages_of(llm_http, owner, project) == []
    assert_error_body(await script_of(llm_http, owner, project), 404)


async def test_a_short_grpc_deadline_shortens_the_models_time(llm_http, llm_accounts, fake):
    user, _, project = await owner_with_project(llm_http)
    fake.answer(fake_llm.slow(30))
    metadata = ((USER_ID_HEADER, user["id"]),)

    deadline_s = 2.5
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await llm_accounts.ReplyToMessage(
            pb.ReplyToMessageRequest(ad_project_id=project["id"], content="Quick?"),
            metadata=metadata,
            timeout=deadline_s,
        )

    # Accounts answered before the deadline expired (UNAVAILABLE, not the client's DEADLINE_EXCEEDED),
    # having given the model what the deadline left, not its own LLM_TIMEOUT_S.
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    given = re.fullmatch(
        r"assistant unavailable: the language model did not answer within ([0-9.]+) s", caught.value.details()
    )
    assert given, caught.value.details()
    assert float(given[1]) < deadline_s < LLM_TIMEOUT_S
    assert await messages_of(llm_http, user, project) == []


# --- drafts from the template -------------------------------------------------------------------


async def test_template_draft_has_one_scene_per_product_image_and_is_saved_unapproved(http):
    images = ("lime.png", "can.png", "pack.png")
    user, _, project = await owner_with_project(
        http,
        images,
        product="Acme Lime",
        audience="runners",
        tone="playful",
        call_to_action="Grab a can today",
    )

    response = await draft(http, user, project, {"duration_s": 30})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"script", "source", "note"}
    assert (body["source"], body["note"]) == ("template", None)
    script = body["script"]
    assert_valid_script(script, 30)
    scenes = script["scenes"]
    assert len(scenes) == 1 + len(images) + 2
    assert scenes[0]["description"].startswith("Hook")
    for scene, image in zip(scenes[1:4], images, strict=True):
        assert f'"{image}"' in scene["description"]
    assert scenes[-2]["description"].startswith("Benefit")
    assert scenes[-1]["on_screen_text"] == "Grab a can today"
    assert "Acme Lime" in script["storyline"] and "playful" in script["storyline"]
    assert script["approved_at"] is None
    assert (await script_of(http, user, project)).json() == script

    # The same inputs give the same script; approving works as for a written script.
    again = (await draft(http, user, project, {"duration_s": 30})).json()["script"]
    assert (again["id"], again["storyline"], again["scenes"]) == (script["id"], script["storyline"], scenes)
    approved = await http.post(f"/api/projects/{project['id']}/script/approve", headers=user["headers"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_at"] is not None
    # A new draft replaces the approved script and needs approving again.
    redrafted = (await draft(http, user, project, {"duration_s": 15})).json()["script"]
    assert_valid_script(redrafted, 15)
    assert redrafted["approved_at"] is None


@pytest.mark.parametrize(
    ("body", "duration", "scene_count"),
    [
        (None, 30, 4),
        ({}, 30, 4),
        ({"duration_s": 6}, 6, 4),
        ({"duration_s": 7}, 7, 4),
        ({"duration_s": 120}, 120, 4),
        ({"duration_s": 31, "scene_count": 3}, 31, 3),
        ({"duration_s": 12, "scene_count": 12}, 12, 12),
        ({"duration_s": 45, "scene_count": 7}, 45, 7),
    ],
)
async def test_template_draft_lengths_and_scene_counts(http, body, duration, scene_count):
    user, _, project = await owner_with_project(http)

    response = await draft(http, user, project, body)

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "template"
    script = response.json()["script"]
    assert_valid_script(script, duration)
    assert len(script["scenes"]) == scene_count


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration_s": 5}, "body.duration_s"),
        ({"duration_s": 121}, "body.duration_s"),
        ({"duration_s": 30.5}, "body.duration_s"),
        ({"duration_s": "long"}, "body.duration_s"),
        ({"scene_count": 2}, "body.scene_count"),
        ({"scene_count": 13}, "body.scene_count"),
        ({"duration_s": 6, "scene_count": 12}, "body"),
        ({"duration_s": 30, "scenes": 4}, "body.scenes"),
    ],
)
async def test_draft_rejects_bad_requests_and_saves_nothing(http, body, field):
    user, _, project = await owner_with_project(http)

    response = await draft(http, user, project, body)

    error = assert_error_body(response, 422, "validation_error")
    assert field in [d["field"] for d in error["errors"]]
    assert_error_body(await script_of(http, user, project), 404)


async def test_draft_on_another_users_project_is_404_and_leaves_their_script(http):
    owner, _, project = await owner_with_project(http)
    written = await http.put(
        f"/api/projects/{project['id']}/script",
        json={"scenes": [{"order": 1, "description": "mine", "duration_s": 5}]},
        headers=owner["headers"],
    )
    stranger = await new_user(http)

    theirs = await draft(http, stranger, project)
    nobodys = await draft(http, stranger, {"id": str(uuid.uuid4())})

    assert assert_error_body(theirs, 404, "not_found")["detail"] == nobodys.json()["detail"]
    assert (await script_of(http, owner, project)).json() == written.json()


# --- drafts from the language model -------------------------------------------------------------


async def test_llm_draft_is_validated_fitted_to_the_length_and_saved(llm_http, fake):
    user, _, project = await owner_with_project(llm_http, ("lime.png",), product="Acme Lime")
    await say(llm_http, user, project, "Let's open with a runner at noon.")
    fake.answer(fake_llm.json_reply(SCRIPT))

    response = await draft(llm_http, user, project, {"duration_s": 40})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["source"], body["note"]) == ("llm", None)
    script = body["script"]
    assert_valid_script(script, 40)
    assert script["storyline"] == SCRIPT["storyline"]
    assert [s["duration_s"] for s in script["scenes"]] == [10, 10, 20]
    assert [s["description"] for s in script["scenes"]] == [s["description"] for s in SCRIPT["scenes"]]
    assert script["scenes"][0]["voiceover_text"] == "Hot?"
    assert script["scenes"][1]["on_screen_text"] == "Acme Lime"
    assert script["approved_at"] is None
    assert (await script_of(llm_http, user, project)).json() == script

    [request] = chat_requests(fake)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["response_format"] == {"type": "json_object"}
    system, *conversation = request.body["messages"]
    assert "40-second" in system["content"] and "Acme Sparkling Water" in system["content"]
    assert "lime.png" in system["content"]
    assert conversation[0] == {"role": "user", "content": "Let's open with a runner at noon."}
    assert conversation[-1]["role"] == "user" and "JSON" in conversation[-1]["content"]


async def test_llm_draft_inside_prose_and_a_code_fence_is_used(llm_http, fake):
    user, _, project = await owner_with_project(llm_http)
    fake.answer(fake_llm.reply("Here you go:\n```json\n" + json.dumps(SCRIPT, indent=2) + "\n```\nEnjoy!"))

    response = await draft(llm_http, user, project, {"duration_s": 20, "scene_count": 3})

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "llm"
    assert_valid_script(response.json()["script"], 20)


async def test_a_server_without_json_mode_is_asked_again_without_it(llm_http, fake):
    user, _, project = await owner_with_project(llm_http)

    def json_mode_unsupported(body: dict) -> fake_llm.Answer:
        if "response_format" in body:
            return fake_llm.error(400, "response_format is not supported by this server")
        return fake_llm.json_reply(SCRIPT)

    fake.answer(json_mode_unsupported)

    response = await draft(llm_http, user, project, {"duration_s": 20})

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "llm"
    first, second = chat_requests(fake)
    assert "response_format" in first.body and "response_format" not in second.body


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I'm sorry, I can't write scripts today.", "not a JSON object"),
        (
            json.dumps({"storyline": "s", "scenes": [{"description": "x", "duration_s": 1}] * 13}),
            "more than 12",
        ),
        (json.dumps({"scenes": [{"description": "", "duration_s": 5}]}), "no description"),
        (json.dumps({"scenes": "three scenes"}), "no list of scenes"),
    ],
    ids=["prose", "too-many-scenes", "empty-description", "no-scene-list"],
)
async def test_an_unusable_llm_answer_falls_back_to_the_template_with_a_note(
    llm_http, http, fake, answer, reason
):
    user, _, project = await owner_with_project(llm_http, ("lime.png", "can.png"), product="Acme Lime")
    fake.answer(fake_llm.reply(answer))

    response = await draft(llm_http, user, project, {"duration_s": 30})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "template"
    assert "not a usable script" in body["note"] and reason in body["note"]
    assert_valid_script(body["script"], 30)
    assert (await script_of(llm_http, user, project)).json() == body["script"]
    # Exactly the template's draft: the accounts without a language model drafts the same.
    plain = (await draft(http, user, project, {"duration_s": 30})).json()
    assert (plain["source"], plain["note"]) == ("template", None)
    assert plain["script"]["scenes"] == body["script"]["scenes"]
    assert plain["script"]["storyline"] == body["script"]["storyline"]


async def test_an_llm_answer_with_the_wrong_scene_count_falls_back_to_the_template(llm_http, fake):
    user, _, project = await owner_with_project(llm_http)
    fake.answer(fake_llm.json_reply(SCRIPT))

    response = await draft(llm_http, user, project, {"duration_s": 30, "scene_count": 5})

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "template"
    assert "not the 5 asked for" in response.json()["note"]
    assert len(response.json()["script"]["scenes"]) == 5


@pytest.mark.parametrize(
    ("answer", "status"),
    [(fake_llm.error(503, "down for maintenance"), 503), (fake_llm.error(429, "slow down"), 429)],
    ids=["503", "429"],
)
async def test_when_the_model_fails_a_draft_saves_nothing_and_keeps_the_script(
    llm_http, fake, answer, status
):
    user, _, project = await owner_with_project(llm_http)
    written = await llm_http.put(
        f"/api/projects/{project['id']}/script",
        json={"storyline": "mine", "scenes": [{"order": 1, "description": "mine", "duration_s": 5}]},
        headers=user["headers"],
    )
    assert written.status_code == 200, written.text
    fake.answer(answer)

    response = await draft(llm_http, user, project, {"duration_s": 30})

    error = assert_error_body(response, status)
    if status == 503:
        assert error["detail"].startswith("assistant unavailable: ")
    assert (await script_of(llm_http, user, project)).json() == written.json()
