"""gRPC servicer of accounts: translates between protobuf and the domain modules, nothing more."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.protobuf import empty_pb2
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.accounts import brands, charges, ledger, project_settings, projects, revocations, users
from services.accounts.assistant import chat, drafting
from services.accounts.assistant.llm import ChatCompletions
from services.accounts.config import Settings
from services.accounts.models import AdProject, Brand, ChatMessage, CreditEntry, Script, User
from services.accounts.passwords import PasswordWork
from services.accounts.rate_limit import FailedPasswordLimiter, SignUpLimiter
from services.accounts.revocations import RevocationFeed
from services.accounts.tokens import token_digest
from services.common.context import caller_id
from services.common.db import ping
from services.common.ids import parse_id
from services.common.outbox import OutboxRelay
from services.common.probes import DependencyCheck
from services.common.timestamps import timestamp
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc

EMPTY = empty_pb2.Empty()


def user_pb(user: User) -> pb.User:
    return pb.User(
        id=str(user.id),
        email=user.email,
        name=user.name,
        subscription_tier=user.subscription_tier,
        credits=user.credits,
        free_videos_used=user.free_videos_used,
        created_at=timestamp(user.created_at),
    )


def credit_entry_pb(row: CreditEntry) -> pb.CreditEntry:
    return pb.CreditEntry(
        id=str(row.id),
        kind=row.kind,
        amount=row.amount,
        free_videos=row.free_videos,
        reason=row.reason,
        generation_id=str(row.generation_id) if row.generation_id else "",
        granted_by=row.granted_by or "",
        period=row.period or "",
        balance_after=row.balance_after,
        created_at=timestamp(row.created_at),
    )


def credits_pb(user: User, rows: list[CreditEntry], next_cursor: str, settings: Settings) -> pb.Credits:
    monthly = settings.tier_monthly_credits.get(user.subscription_tier, 0)
    return pb.Credits(
        balance=user.credits,
        tier=user.subscription_tier,
        free_videos_remaining=max(0, settings.free_videos - user.free_videos_used),
        tier_monthly_credits=monthly,
        next_renewal_at=timestamp(ledger.next_period_start(datetime.now(UTC))) if monthly > 0 else None,
        items=[credit_entry_pb(row) for row in rows],
        next_cursor=next_cursor,
    )


def _file_pb(file: dict) -> pb.BrandFile:
    return pb.BrandFile(
        key=file["key"],
        filename=file.get("filename", ""),
        content_type=file.get("content_type", ""),
        size=file.get("size", 0),
        added_at=timestamp(datetime.fromisoformat(file["added_at"])) if file.get("added_at") else None,
    )


def brand_pb(brand: Brand) -> pb.Brand:
    return pb.Brand(
        id=str(brand.id),
        title=brand.title,
        description=brand.description or "",
        product_images=[_file_pb(f) for f in brand.product_images],
        brand_assets=[_file_pb(f) for f in brand.brand_assets],
        brand_guidelines_json=json.dumps(brand.brand_guidelines),
        created_at=timestamp(brand.created_at),
        updated_at=timestamp(brand.updated_at),
        logo=_file_pb(brand.logo) if brand.logo else None,
        audio_files=[_file_pb(f) for f in brand.audio_files],
    )


def project_pb(project: AdProject) -> pb.Project:
    return pb.Project(
        id=str(project.id),
        brand_id=str(project.brand_id),
        status=project.status,
        ad_details_json=json.dumps(project.ad_details),
        zapcut_project_id=project.zapcut_project_id or "",
        created_at=timestamp(project.created_at),
        updated_at=timestamp(project.updated_at),
        settings=pb.ProjectSettings(
            **{k: v for k, v in project_settings.effective(project).items() if v is not None}
        ),
    )


def settings_changes(settings: pb.ProjectSettings) -> dict:
    """The fields a request set (an empty one: back to the default)."""
    given = {field: _optional(settings, field) for field in project_settings.FIELDS}
    return {field: value for field, value in given.items() if value is not None}


def message_pb(message: ChatMessage) -> pb.ChatMessage:
    return pb.ChatMessage(
        id=str(message.id),
        ad_project_id=str(message.ad_project_id),
        role=message.role,
        content=message.content,
        created_at=timestamp(message.created_at),
    )


def script_pb(script: Script) -> pb.Script:
    return pb.Script(
        id=str(script.id),
        ad_project_id=str(script.ad_project_id),
        storyline=script.storyline,
        scenes=[pb.Scene(**scene) for scene in script.scenes],
        approved_at=timestamp(script.approved_at),
        created_at=timestamp(script.created_at),
        updated_at=timestamp(script.updated_at),
    )


def _scene_dict(scene: pb.Scene) -> dict:
    out = {"order": scene.order, "description": scene.description, "duration_s": scene.duration_s}
    for field in ("voiceover_text", "on_screen_text"):
        if scene.HasField(field):
            out[field] = getattr(scene, field)
    return out


def _optional(message, field: str):
    return getattr(message, field) if message.HasField(field) else None


class AccountsServicer(accounts_pb2_grpc.AccountsServicer):
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker,
        settings: Settings,
        password_limiter: FailedPasswordLimiter,
        signup_limiter: SignUpLimiter,
        relay: OutboxRelay,
        redis,
        llm: ChatCompletions | None = None,
    ):
        self.engine = engine
        self.sessions = sessions
        self.settings = settings
        self.password_limiter = password_limiter
        self.signup_limiter = signup_limiter
        self.passwords = PasswordWork(
            settings.password_verify_concurrency,
            settings.password_verify_queue,
            settings.password_hash_concurrency,
            settings.password_hash_queue,
        )
        self.relay = relay
        self.redis = redis
        self.revocations = RevocationFeed(settings)
        # The assistant's language model; None when LLM_* are not set.
        self.llm = llm
        self.dependencies = DependencyCheck(
            {"postgres": lambda: ping(engine), "redis": redis.ping}, settings.probe_timeout_s
        )

    async def CheckDependencies(self, request, context):
        return await self.dependencies()

    # --- users and sessions

    async def SignUp(self, request, context):
        user = await users.sign_up(
            self.sessions,
            self.passwords,
            self.signup_limiter,
            request.email,
            request.name,
            request.password,
            request.client_ip,
            self.settings.starting_credits,
        )
        return user_pb(user)

    async def LogIn(self, request, context):
        token, expires_at, user = await users.log_in(
            self.sessions,
            self.passwords,
            self.password_limiter,
            request.email,
            request.password,
            request.client_ip,
            self.settings.session_ttl,
        )
        return pb.Session(access_token=token, expires_at=timestamp(expires_at), user=user_pb(user))

    async def Authenticate(self, request, context):
        user, session = await users.authenticate(self.sessions, request.token)
        return pb.AuthenticatedUser(
            user=user_pb(user), session_id=str(session.id), expires_at=timestamp(session.expires_at)
        )

    async def LogOut(self, request, context):
        await users.log_out(self.sessions, request.token)
        await revocations.publish_token(self.redis, token_digest(request.token))
        return EMPTY

    async def WatchRevocations(self, request, context):
        async for revocation in self.revocations.watch():
            yield revocation

    async def GetMe(self, request, context):
        return user_pb(await users.get_user(self.sessions, caller_id()))

    async def UpdateMe(self, request, context):
        user = await users.update_user(
            self.sessions,
            self.passwords,
            self.password_limiter,
            caller_id(),
            name=_optional(request, "name"),
            new_password=_optional(request, "new_password"),
            current_password=request.current_password,
            keep_token=request.token,
            client_ip=request.client_ip,
        )
        if request.HasField("new_password"):
            # Every other session ended; the gateways drop the user's cached ones, this one too.
            await revocations.publish_user(self.redis, user.id)
        return user_pb(user)

    async def DeleteMe(self, request, context):
        await users.delete_user(self.sessions, caller_id())
        await revocations.publish_user(self.redis, caller_id())
        self.relay.nudge()
        return EMPTY

    # --- brands

    async def CreateBrand(self, request, context):
        brand = await brands.create_brand(
            self.sessions, caller_id(), request.title, request.description, request.brand_guidelines_json
        )
        return brand_pb(brand)

    async def ListBrands(self, request, context):
        rows, cursor = await brands.list_brands(self.sessions, caller_id(), request.limit, request.cursor)
        return pb.ListBrandsResponse(brands=[brand_pb(b) for b in rows], next_cursor=cursor)

    async def GetBrand(self, request, context):
        return brand_pb(await brands.get_brand(self.sessions, caller_id(), parse_id(request.id, "id")))

    async def UpdateBrand(self, request, context):
        brand = await brands.update_brand(
            self.sessions,
            caller_id(),
            parse_id(request.id, "id"),
            title=_optional(request, "title"),
            description=_optional(request, "description"),
            guidelines_json=_optional(request, "brand_guidelines_json"),
        )
        return brand_pb(brand)

    async def DeleteBrand(self, request, context):
        await brands.delete_brand(self.sessions, caller_id(), parse_id(request.id, "id"))
        self.relay.nudge()
        return EMPTY

    async def AddBrandFile(self, request, context):
        file = {
            "key": request.file.key,
            "filename": request.file.filename,
            "content_type": request.file.content_type,
            "size": request.file.size,
        }
        brand = await brands.add_file(
            self.sessions, caller_id(), parse_id(request.brand_id, "brand_id"), request.kind, file
        )
        return brand_pb(brand)

    async def RemoveBrandFile(self, request, context):
        brand = await brands.remove_file(
            self.sessions, caller_id(), parse_id(request.brand_id, "brand_id"), request.key
        )
        return brand_pb(brand)

    # --- projects, chat, scripts

    async def CreateProject(self, request, context):
        project = await projects.create_project(
            self.sessions,
            caller_id(),
            parse_id(request.brand_id, "brand_id"),
            request.ad_details_json,
            settings_changes(request.settings),
        )
        return project_pb(project)

    async def ListProjects(self, request, context):
        rows, cursor = await projects.list_projects(
            self.sessions,
            caller_id(),
            brand_id=parse_id(request.brand_id, "brand_id") if request.brand_id else None,
            status=request.status,
            limit=request.limit,
            cursor=request.cursor,
        )
        return pb.ListProjectsResponse(projects=[project_pb(p) for p in rows], next_cursor=cursor)

    async def GetProject(self, request, context):
        return project_pb(await projects.get_project(self.sessions, caller_id(), parse_id(request.id, "id")))

    async def UpdateProject(self, request, context):
        project = await projects.update_project(
            self.sessions,
            caller_id(),
            parse_id(request.id, "id"),
            status=_optional(request, "status"),
            ad_details_json=_optional(request, "ad_details_json"),
            zapcut_project_id=_optional(request, "zapcut_project_id"),
            settings=settings_changes(request.settings),
        )
        return project_pb(project)

    async def DeleteProject(self, request, context):
        await projects.delete_project(self.sessions, caller_id(), parse_id(request.id, "id"))
        self.relay.nudge()
        return EMPTY

    async def AddMessage(self, request, context):
        message = await projects.add_message(
            self.sessions,
            caller_id(),
            parse_id(request.ad_project_id, "ad_project_id"),
            request.role,
            request.content,
        )
        return message_pb(message)

    async def ListMessages(self, request, context):
        rows, cursor = await projects.list_messages(
            self.sessions,
            caller_id(),
            parse_id(request.ad_project_id, "ad_project_id"),
            request.limit,
            request.cursor,
        )
        return pb.ListMessagesResponse(messages=[message_pb(m) for m in rows], next_cursor=cursor)

    async def PutScript(self, request, context):
        script = await projects.put_script(
            self.sessions,
            caller_id(),
            parse_id(request.ad_project_id, "ad_project_id"),
            request.storyline,
            [_scene_dict(s) for s in request.scenes],
        )
        return script_pb(script)

    async def GetScript(self, request, context):
        return script_pb(await projects.get_script(self.sessions, caller_id(), parse_id(request.id, "id")))

    async def ApproveScript(self, request, context):
        return script_pb(
            await projects.approve_script(self.sessions, caller_id(), parse_id(request.id, "id"))
        )

    # --- for the jobs service

    async def GetGenerationInput(self, request, context):
        project, script, brand = await projects.generation_input(
            self.sessions, caller_id(), parse_id(request.id, "id")
        )
        return pb.GenerationInput(
            project=project_pb(project),
            script=script_pb(script),
            product_images=[_file_pb(f) for f in brand.product_images],
            brand_title=brand.title,
            brand_guidelines_json=json.dumps(brand.brand_guidelines),
            logo=_file_pb(brand.logo) if brand.logo else None,
            music_track=next(
                (_file_pb(f) for f in brand.audio_files if f["key"] == project.music_track_key), None
            ),
        )

    async def ChargeGeneration(self, request, context):
        row, refunded, user = await charges.charge(
            self.sessions,
            caller_id(),
            parse_id(request.generation_id, "generation_id"),
            self.settings.free_videos,
        )
        return pb.ChargeResult(kind=charges.kind_of(row), refunded=refunded, user=user_pb(user))

    # --- credits

    async def GetCredits(self, request, context):
        user, rows, next_cursor = await ledger.history(
            self.sessions, caller_id(), request.limit, request.cursor
        )
        return credits_pb(user, rows, next_cursor, self.settings)

    # --- the assistant

    async def ReplyToMessage(self, request, context):
        asked, answered = await chat.reply(
            self.sessions,
            self.llm,
            caller_id(),
            parse_id(request.ad_project_id, "ad_project_id"),
            request.content,
            deadline_s=context.time_remaining(),
        )
        return pb.ReplyToMessageResponse(message=message_pb(asked), reply=message_pb(answered))

    async def DraftScript(self, request, context):
        draft = await drafting.draft_script(
            self.sessions,
            self.llm,
            caller_id(),
            parse_id(request.ad_project_id, "ad_project_id"),
            request.duration_s,
            _optional(request, "scene_count"),
            deadline_s=context.time_remaining(),
        )
        return pb.DraftScriptResponse(script=script_pb(draft.script), source=draft.source, note=draft.note)
