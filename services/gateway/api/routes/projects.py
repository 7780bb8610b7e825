"""/api/projects: ad projects, their chat and their script."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from typing import TypeVar

import grpc
from fastapi import APIRouter, HTTPException, Response

from services.gateway.auth import CurrentCaller
from services.gateway.clients import Accounts
from services.gateway.errors import ServiceCallError
from services.gateway.schemas.common import Limit, Page, timestamp
from services.gateway.schemas.projects import (
    MessageCreate,
    MessageExchange,
    MessageOut,
    ProjectCreate,
    ProjectOut,
    ProjectSettingsOut,
    ProjectStatus,
    ProjectUpdate,
    SceneOut,
    ScriptDraft,
    ScriptDraftOut,
    ScriptOut,
    ScriptPut,
)
from zapcut.accounts.v1 import accounts_pb2 as pb

router = APIRouter(prefix="/projects", tags=["projects"])

# Calls that wait for the assistant's language model, which accounts bounds by LLM_TIMEOUT_S (60 s by
# default) or by what is left of this deadline, whichever is shorter.
ASSISTANT_DEADLINE_S = 120.0
ASSISTANT_RETRY_AFTER_S = "5"
# How accounts starts the details of UNAVAILABLE when the language model, not accounts, failed.
ASSISTANT_UNAVAILABLE = "assistant unavailable"

Reply = TypeVar("Reply")


def project_out(p: pb.Project) -> ProjectOut:
    return ProjectOut(
        id=p.id,
        brand_id=p.brand_id,
        status=p.status,
        ad_details=json.loads(p.ad_details_json or "{}"),
        zapcut_project_id=p.zapcut_project_id or None,
        settings=ProjectSettingsOut.from_pb(p.settings),
        created_at=timestamp(p.created_at),
        updated_at=timestamp(p.updated_at),
    )


def message_out(m: pb.ChatMessage) -> MessageOut:
    return MessageOut(id=m.id, role=m.role, content=m.content, created_at=timestamp(m.created_at))


def script_out(s: pb.Script) -> ScriptOut:
    return ScriptOut(
        id=s.id,
        storyline=s.storyline,
        scenes=[
            SceneOut(
                order=scene.order,
                description=scene.description,
                duration_s=scene.duration_s,
                voiceover_text=scene.voiceover_text if scene.HasField("voiceover_text") else None,
                on_screen_text=scene.on_screen_text if scene.HasField("on_screen_text") else None,
            )
            for scene in s.scenes
        ],
        approved_at=timestamp(s.approved_at, s.HasField("approved_at")),
        created_at=timestamp(s.created_at),
        updated_at=timestamp(s.updated_at),
    )


@router.post(
    "",
    status_code=201,
    response_model=ProjectOut,
    responses={404: {"description": "No such brand among the caller's"}},
)
async def create_project(body: ProjectCreate, caller: CurrentCaller, accounts: Accounts) -> ProjectOut:
    project = await accounts.CreateProject(
        pb.CreateProjectRequest(
            brand_id=str(body.brand_id),
            ad_details_json=json.dumps(body.ad_details),
            settings=body.settings.as_pb() if body.settings else None,
        ),
    )
    return project_out(project)


@router.get("", response_model=Page[ProjectOut])
async def list_projects(
    caller: CurrentCaller,
    accounts: Accounts,
    brand_id: uuid.UUID | None = None,
    status: ProjectStatus | None = None,
    limit: Limit = 20,
    cursor: str = "",
) -> Page[ProjectOut]:
    reply = await accounts.ListProjects(
        pb.ListProjectsRequest(
            brand_id=str(brand_id) if brand_id else "", status=status or "", limit=limit, cursor=cursor
        ),
    )
    return Page(items=[project_out(p) for p in reply.projects], next_cursor=reply.next_cursor or None)


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts) -> ProjectOut:
    return project_out(await accounts.GetProject(pb.GetProjectRequest(id=str(project_id))))


@router.patch(
    "/{project_id}",
    response_model=ProjectOut,
    responses={409: {"description": "A status change while a generation runs"}},
)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, caller: CurrentCaller, accounts: Accounts
) -> ProjectOut:
    request = pb.UpdateProjectRequest(id=str(project_id))
    if body.status is not None:
        request.status = body.status
    if body.ad_details is not None:
        request.ad_details_json = json.dumps(body.ad_details)
    if body.zapcut_project_id is not None:
        request.zapcut_project_id = body.zapcut_project_id
    if body.settings is not None:
        request.settings.CopyFrom(body.settings.as_pb())
    return project_out(await accounts.UpdateProject(request))


@router.delete("/{project_id}", status_code=204)
async def delete_project(project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts) -> Response:
    await accounts.DeleteProject(pb.GetProjectRequest(id=str(project_id)))
    return Response(status_code=204)


async def ask_assistant(call: Awaitable[Reply]) -> Reply:
    """The reply of a call to accounts that waits for the assistant (made with
    `timeout=ASSISTANT_DEADLINE_S`)."""
    try:
        return await call
    except ServiceCallError as exc:
        if exc.code == grpc.StatusCode.UNAVAILABLE and exc.details.startswith(ASSISTANT_UNAVAILABLE):
            # The language model failed, not accounts: its reason helps more than "accounts service
            # unavailable" (accounts wrote it for clients and kept the API key out of it).
            raise HTTPException(503, exc.details, headers={"Retry-After": ASSISTANT_RETRY_AFTER_S}) from exc
        raise


@router.post(
    "/{project_id}/messages",
    status_code=201,
    response_model=MessageOut | MessageExchange,
    description="Add a message to the project's chat. With `reply: true` (role `user` only) the "
    "assistant answers it and the response is `{message, reply}`: both are stored, or neither when "
    "the assistant fails (503 or 429; send the same message again). 409 when no language model is "
    "configured (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL).",
    responses={
        409: {"description": "reply asked for, but the assistant is not configured"},
        503: {"description": "reply asked for, but the language model failed; nothing was stored"},
    },
)
async def add_message(
    project_id: uuid.UUID, body: MessageCreate, caller: CurrentCaller, accounts: Accounts
) -> MessageOut | MessageExchange:
    if body.reply:
        exchange = await ask_assistant(
            accounts.ReplyToMessage(
                pb.ReplyToMessageRequest(ad_project_id=str(project_id), content=body.content),
                timeout=ASSISTANT_DEADLINE_S,
            )
        )
        return MessageExchange(message=message_out(exchange.message), reply=message_out(exchange.reply))
    message = await accounts.AddMessage(
        pb.AddMessageRequest(ad_project_id=str(project_id), role=body.role, content=body.content),
    )
    return message_out(message)


@router.get("/{project_id}/messages", response_model=Page[MessageOut])
async def list_messages(
    project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts, limit: Limit = 50, cursor: str = ""
) -> Page[MessageOut]:
    reply = await accounts.ListMessages(
        pb.ListMessagesRequest(ad_project_id=str(project_id), limit=limit, cursor=cursor)
    )
    return Page(items=[message_out(m) for m in reply.messages], next_cursor=reply.next_cursor or None)


@router.put(
    "/{project_id}/script",
    response_model=ScriptOut,
    responses={409: {"description": "A generation of the project is running"}},
)
async def put_script(
    project_id: uuid.UUID, body: ScriptPut, caller: CurrentCaller, accounts: Accounts
) -> ScriptOut:
    request = pb.PutScriptRequest(ad_project_id=str(project_id), storyline=body.storyline)
    for scene in body.scenes:
        request.scenes.add(**scene.model_dump(exclude_none=True))
    return script_out(await accounts.PutScript(request))


@router.get("/{project_id}/script", response_model=ScriptOut)
async def get_script(project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts) -> ScriptOut:
    return script_out(await accounts.GetScript(pb.GetProjectRequest(id=str(project_id))))


@router.post(
    "/{project_id}/script/approve",
    response_model=ScriptOut,
    responses={409: {"description": "The project has no script, or a generation is running"}},
)
async def approve_script(project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts) -> ScriptOut:
    return script_out(await accounts.ApproveScript(pb.GetProjectRequest(id=str(project_id))))


@router.post(
    "/{project_id}/script/draft",
    response_model=ScriptDraftOut,
    description="Draft the project's script from its brand, ad details and chat, and save it like "
    "PUT script (unapproved, replacing the current one). With a language model configured it writes "
    "the draft (`source: llm`); without one, or when its answer is not a usable script, a "
    "deterministic template does (`source: template`; `note` says why when a model was configured). "
    "Scene durations add up exactly to `duration_s`. 503 or 429 when the language model fails: "
    "nothing is saved then.",
    responses={503: {"description": "the language model failed; the current script is unchanged"}},
)
async def draft_script(
    project_id: uuid.UUID, caller: CurrentCaller, accounts: Accounts, body: ScriptDraft | None = None
) -> ScriptDraftOut:
    body = body or ScriptDraft()
    request = pb.DraftScriptRequest(ad_project_id=str(project_id), duration_s=body.duration_s)
    if body.scene_count is not None:
        request.scene_count = body.scene_count
    draft = await ask_assistant(accounts.DraftScript(request, timeout=ASSISTANT_DEADLINE_S))
    return ScriptDraftOut(script=script_out(draft.script), source=draft.source, note=draft.note or None)
