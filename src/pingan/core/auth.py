"""Users, roles, password hashing and bearer tokens.

Login is the OAuth2 password flow (`POST /api/v1/auth/token`); it returns a short-lived HS256 JWT.
Every endpoint declares the roles it admits with `require_roles(...)`: no token gets 401, a wrong
role gets 403. Pages read the same token from an HttpOnly cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Boolean, Enum, Integer, String, delete, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.core import audit, clock, db, names
from pingan.core.db import Base, UTCDateTime, session_dependency
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts, Unauthorized
from pingan.core.i18n import LOCALES, N_, use_locale
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings

TOKEN_COOKIE = "pingan_token"  # noqa: S105 - a cookie name, not a secret
_hasher = PasswordHasher()


class User(Base):
    """A person who logs in, with exactly one role and optionally a home station."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32))
    station_code: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # An officer's grant of the district-wide view (`pingan users grant-district`); other roles that
    # see the district do so by role (`roles.DISTRICT_WIDE_ROLES`).
    district_wide: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The language of the user's pages (`i18n.LOCALES`); None follows the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(16))

    def actor(self, station_name: str | None = None) -> Actor:
        """This user as the acting principal, with their station and any district-wide grant."""
        return Actor(
            username=self.username,
            role=self.role,
            user_id=self.id,
            station_code=self.station_code,
            district_grant=self.district_wide,
            display_name=self.display_name,
            station_name=station_name,
            locale=self.locale,
        )


class LoginFailure(Base):
    """A failed login: the username tried and the client address it came from."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RevokedToken(Base):
    """A token ended before its expiry, at logout; kept until it would have expired anyway."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


# NIST SP 800-63B §5.1.1.2: at least 8 characters, checked against commonly used passwords; the
# bureau's policy for accounts that can reveal personal data is 12.
MIN_PASSWORD_LENGTH = 12
# The messages are msgids, so that a page can show them in the user's language (the API keeps English).
PASSWORD_TOO_SHORT = N_(
    "a password has at least 12 characters"
)  # says MIN_PASSWORD_LENGTH; a test holds them together
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# Names the platform's own robots act under (`Actor.system(...)`): a person may not take one, or the
# audit log could not tell a user's act from the robot's.
RESERVED_USERNAMES = frozenset(
    {
        "system", "robot", "cli", "import", "registry-import", "sim-load", "demo-seed", "demo-feed",
        "watchlist", "screening", "warnings", "outcomes", "report", "mules", "kannel", "bank", "admin-system",
    }
)  # fmt: skip


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The list of commonly used passwords that a new password may not be (lower-cased)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(username: str, password: str) -> str | None:
    """Why `password` is too weak for `username`, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return PASSWORD_TOO_SHORT
    lowered = password.lower()
    if lowered in common_passwords():
        return N_("this password is on the list of commonly used passwords; choose another")
    if len(set(password)) <= 2:
        return N_("a password of one or two repeated characters is too easy to guess")
    if username and username.lower() in lowered:
        return N_("a password may not contain the username")
    return None


def username_problem(username: str) -> str | None:
    """Why `username` cannot be given to a person, or None when it can."""
    if not username or len(username) > 64:
        return "a username has 1 to 64 characters"
    if ":" in username or username.lower() in RESERVED_USERNAMES:
        return f"{username!r} is the name of a platform robot or bank and cannot be a person's"
    if any(not (ch.isalnum() or ch in "._-") for ch in username):
        return "a username has letters, digits, '.', '_' and '-' only"
    return None


def check_new_user(
    session: Session, *, username: str, role: Role, password: str, station_code: str | None = None
) -> None:
    """Validate a new user: a free, non-reserved username, a human role, a strong enough password and
    a station that exists."""
    if (problem := username_problem(username)) is not None:
        raise Invalid(problem, field="username")
    if role is Role.SYSTEM:
        raise Invalid("the system role is for platform robots and cannot log in", field="role")
    if (problem := password_problem(username, password)) is not None:
        raise Invalid(problem, field="password")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username!r} exists already", field="username")
    check_station(session, station_code)


def do_add_user(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str,
    actor: Actor,
    display_name: str = "",
    station_code: str | None = None,
) -> User:
    """Create a user and audit it. Caller holds the transaction."""
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        station_code=station_code,
        password_hash=hash_password(password),
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.add",
        object_type="user",
        object_id=user.id,
        detail={"role": role.value},
    )
    names.forget()
    return user


# Failed logins are counted in a sliding window, per username and per client address. Past the limit,
# further attempts are refused without checking the password until the window has moved on: an
# online guessing attack gets a handful of tries per quarter hour. Usernames that do not exist are
# counted and locked the same way, so a lockout does not tell which usernames exist.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
# Verified when the username is unknown, so that a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no user has this password: it only spends the time of a real check")
SYSTEM_LOGIN = Actor.system("login")


@dataclass(frozen=True)
class LoginThrottle:
    """Whether a login attempt may be checked, and if not, until when and why."""

    allowed: bool
    until: datetime | None = None
    reason: str = ""


def login_throttle(
    user_failures: list[datetime], client_failures: list[datetime], *, now: datetime
) -> LoginThrottle:
    """Decide from the failure times in the window whether another attempt may be checked now."""
    for failures, limit, what in (
        (user_failures, MAX_FAILURES_PER_USER, "this username"),
        (client_failures, MAX_FAILURES_PER_CLIENT, "this address"),
    ):
        recent = sorted(f for f in failures if f > now - LOGIN_WINDOW)
        if len(recent) >= limit:
            # Open again once the oldest failure that makes up the limit leaves the window.
            until = recent[-limit] + LOGIN_WINDOW
            return LoginThrottle(False, until, f"too many failed logins for {what}")
    return LoginThrottle(True)


def _failure_times(session: Session, column: Any, value: str, since: datetime) -> list[datetime]:
    return list(
        session.execute(select(LoginFailure.at).where(column == value, LoginFailure.at > since)).scalars()
    )


def do_record_login_failure(session: Session, *, username: str, client: str, now: datetime) -> None:
    """Count a failed login; audit the attempt that reaches a limit as a lockout. Caller holds the transaction."""
    session.add(LoginFailure(username=username[:64], client=client[:64], at=now))
    session.flush()
    since = now - LOGIN_WINDOW
    for column, value, limit, kind in (
        (LoginFailure.username, username[:64], MAX_FAILURES_PER_USER, "username"),
        (LoginFailure.client, client[:64], MAX_FAILURES_PER_CLIENT, "client"),
    ):
        if len(_failure_times(session, column, value, since)) == limit:
            audit.record(
                session,
                actor=SYSTEM_LOGIN,
                action="login.lockout",
                object_type=kind,
                object_id=value,
                detail={"failures": limit, "window_minutes": int(LOGIN_WINDOW.total_seconds() // 60)},
            )


def do_record_login(session: Session, user: User, *, client: str) -> None:
    """Audit a successful login and clear the username's failures. Caller holds the transaction."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    audit.record(
        session,
        actor=user.actor(),
        action="user.login",
        object_type="user",
        object_id=user.id,
        detail={"client": client},
    )


def authenticate(session: Session, username: str, password: str, *, client: str = "unknown") -> User:
    """The active user with these credentials, or Unauthorized; TooManyAttempts while throttled.

    Failures and the successful login are committed in their own transaction, whatever the caller
    does with `session` afterwards.
    """
    now = clock.now()
    since = now - LOGIN_WINDOW
    with db.read_transaction() as reader:
        throttle = login_throttle(
            _failure_times(reader, LoginFailure.username, username[:64], since),
            _failure_times(reader, LoginFailure.client, client[:64], since),
            now=now,
        )
    if not throttle.allowed:
        assert throttle.until is not None
        raise TooManyAttempts(f"{throttle.reason}; try again after {throttle.until:%Y-%m-%d %H:%M} UTC")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    with db.transaction() as writer:
        if not ok or user is None:
            do_record_login_failure(writer, username=username, client=client, now=now)
        else:
            do_record_login(writer, user, client=client)
    if not ok or user is None:
        raise Unauthorized(N_("wrong username or password"))
    return user


def issue_token(user: User) -> str:
    """A signed bearer token for `user`, valid for `token_ttl_minutes`."""
    s = get_settings()
    now = clock.now()
    claims: dict[str, Any] = {
        "sub": user.username,
        "uid": user.id,
        "jti": secrets.token_hex(16),
        "role": user.role.value,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=s.token_ttl_minutes)).timestamp()),
    }
    return jwt.encode(claims, s.secret_key, algorithm="HS256")


def _claims(token: str) -> dict[str, Any]:
    """A token's claims once its signature verifies (expiry is the caller's: the platform clock decides)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "jti"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    return claims


def actor_from_token(session: Session, token: str) -> Actor:
    """Verify a token's signature and expiry, and that its user is still active with the same role."""
    claims = _claims(token)
    # Expiry is checked against the platform clock, so tests that set the clock see tokens expire.
    if int(claims["exp"]) < int(clock.now().timestamp()):
        raise Unauthorized("token expired; log in again")
    if session.get(RevokedToken, str(claims["jti"])) is not None:
        raise Unauthorized("token revoked at logout; log in again")
    found = session.execute(
        select(User, Station.name)
        .outerjoin(Station, Station.code == User.station_code)
        .where(User.username == claims["sub"])
    ).first()
    user = found[0] if found is not None else None
    if found is None or user is None or not user.active or user.role.value != claims.get("role"):
        raise Unauthorized("token no longer valid for this user")
    return user.actor(station_name=found[1])


def do_revoke_token(session: Session, token: str) -> bool:
    """End a token at logout (its signature must verify; expired ones need no revoking). Caller holds the transaction."""
    try:
        claims = _claims(token)
    except Unauthorized:
        return False
    jti = str(claims["jti"])
    if session.get(RevokedToken, jti) is not None:
        return False
    now = clock.now()
    session.add(
        RevokedToken(
            jti=jti,
            username=str(claims["sub"])[:64],
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            revoked_at=now,
        )
    )
    # Rows of tokens that have expired anyway are no longer needed to refuse them.
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    audit.record(
        session,
        actor=Actor(username=str(claims["sub"]), role=Role(claims.get("role", Role.OFFICER.value))),
        action="user.logout",
        object_type="token",
        object_id=jti,
    )
    return True


def check_deactivate_user(session: Session, username: str, *, actor: Actor) -> User:
    """The user to deactivate; only an admin (or the platform) may, and never themselves."""
    if actor.role not in (Role.ADMIN, Role.SYSTEM):
        raise Forbidden("only an admin may deactivate a user")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    if user.username == actor.username:
        raise Conflict("an admin cannot deactivate their own account", field="username")
    return user


def do_deactivate_user(session: Session, user: User, *, actor: Actor) -> User:
    """Deactivate a user: every token of theirs stops working at once. Caller holds the transaction."""
    user.active = False
    audit.record(session, actor=actor, action="user.deactivate", object_type="user", object_id=user.id)
    return user


def _admin_target(session: Session, username: str, *, actor: Actor, what: str) -> User:
    """The user an admin acts on; only an admin (or the platform) may."""
    if actor.role not in (Role.ADMIN, Role.SYSTEM):
        raise Forbidden(f"only an admin may {what}")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def check_station(session: Session, station_code: str | None) -> None:
    """A user's station must be one of the bureau's stations (or none)."""
    if station_code and session.get(Station, station_code) is None:
        raise Invalid(f"no station has the code {station_code!r}", field="station_code")


def check_reset_password(session: Session, username: str, password: str, *, actor: Actor) -> User:
    """The user whose password an admin sets; the new password must meet the policy."""
    user = _admin_target(session, username, actor=actor, what="reset a password")
    if (problem := password_problem(user.username, password)) is not None:
        raise Invalid(problem, field="password")
    return user


def do_reset_password(session: Session, user: User, password: str, *, actor: Actor) -> User:
    """Set a user's password (audited, the password itself never). Caller holds the transaction."""
    user.password_hash = hash_password(password)
    audit.record(
        session,
        actor=actor,
        action="user.reset_password",
        object_type="user",
        object_id=user.id,
        detail={"username": user.username},
    )
    return user


def generated_password() -> str:
    """A random password that meets the policy, for an admin to hand over once."""
    while True:
        password = secrets.token_urlsafe(15)  # 20 characters, about 120 bits
        if password_problem("", password) is None:
            return password


def check_change_role(
    session: Session, username: str, *, role: Role, station_code: str | None, actor: Actor
) -> User:
    """The user whose role and station change; a human role, an existing station, and not the admin's own role."""
    user = _admin_target(session, username, actor=actor, what="change a role or station")
    if role is Role.SYSTEM:
        raise Invalid("the system role is for platform robots and cannot log in", field="role")
    # An admin who took away their own admin role could lock the bureau out of its user management.
    if user.username == actor.username and role is not user.role:
        raise Conflict("an admin cannot change their own role", field="role")
    check_station(session, station_code)
    return user


def do_change_role(
    session: Session, user: User, *, role: Role, station_code: str | None, actor: Actor
) -> User:
    """Give a user a role and station, audited; a changed role ends their tokens (the role is in them).
    Caller holds the transaction."""
    before = {"role": user.role.value, "station": user.station_code}
    user.role, user.station_code = role, station_code or None
    if user.role is not Role.OFFICER:
        user.district_wide = False  # the grant is for officers; other roles see by role
    audit.record(
        session,
        actor=actor,
        action="user.change_role",
        object_type="user",
        object_id=user.id,
        detail={"before": before, "after": {"role": role.value, "station": user.station_code}},
    )
    return user


def check_set_locale(session: Session, username: str, locale: str, *, actor: Actor) -> User:
    """The user whose page language changes: their own, or anyone's for an admin; a language there is."""
    if locale and locale not in LOCALES:
        raise Invalid(f"choose a language from the list ({', '.join(LOCALES)})", field="locale")
    if actor.username == username:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user {username!r}", field="username")
        return user
    return _admin_target(session, username, actor=actor, what="set another user's language")


def do_set_locale(session: Session, user: User, locale: str, *, actor: Actor) -> User:
    """Set the language of a user's pages ("" follows the browser), audited. Caller holds the transaction."""
    user.locale = locale or None
    audit.record(
        session,
        actor=actor,
        action="user.set_locale",
        object_type="user",
        object_id=user.id,
        detail={"locale": user.locale},
    )
    return user


def check_district_grant(session: Session, username: str, *, actor: Actor) -> User:
    """The officer whose district-wide grant is to change; only an admin (or the platform) may change it.

    Analysts, supervisors and auditors see the district by role: a grant is for officers alone.
    """
    if actor.role not in (Role.ADMIN, Role.SYSTEM):
        raise Forbidden("only an admin may grant or revoke the district-wide view")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    if user.role is not Role.OFFICER:
        raise Invalid(
            f"role {user.role.value} sees the district by role or not at all; the grant is for officers",
            field="username",
        )
    return user


def do_set_district_grant(session: Session, user: User, *, granted: bool, actor: Actor) -> User:
    """Grant or revoke an officer's district-wide view, audited. Caller holds the transaction."""
    user.district_wide = granted
    audit.record(
        session,
        actor=actor,
        action="user.grant_district" if granted else "user.revoke_district",
        object_type="user",
        object_id=user.id,
        detail={"username": user.username, "station": user.station_code},
    )
    return user


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, configure it to pass the real one)."""
    return request.client.host if request.client is not None else "unknown"


def request_token(request: Request) -> str | None:
    """The bearer token of a request, from its Authorization header or the login cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class RoleRefused(Forbidden):
    """The user's role is not among those a route admits (403); a page names the role in its language."""

    def __init__(
        self, message: str, *, field: str | None = None, line: int | None = None, role: Role | None = None
    ) -> None:
        super().__init__(message, field=field, line=line)
        self.role = role


def require_roles(*roles: Role) -> Callable[..., Actor]:
    """Dependency admitting only `roles`; it carries them as `pingan_roles` so tests can enumerate them."""
    admitted = frozenset(roles)
    if not admitted:
        raise ValueError("an endpoint must admit at least one role")

    def dependency(
        request: Request,
        session: Annotated[Session, Depends(session_dependency)],
        bearer: Annotated[str | None, Depends(_bearer)],
    ) -> Actor:
        token = bearer or request.cookies.get(TOKEN_COOKIE)
        if not token:
            raise Unauthorized("log in first: no bearer token")
        try:
            actor = actor_from_token(session, token)
        finally:
            # End the read transaction so the endpoint can open its own with `session.begin()`.
            session.rollback()
        # Known even when refused, so that a refused page can still show the user's menu and logout.
        request.state.actor = actor
        use_locale(actor.locale)  # the user's own language beats the browser's
        if actor.role not in admitted:
            raise RoleRefused(
                f"角色 {actor.role.value} 无权执行此操作 (role {actor.role.value} may not do this)",
                role=actor.role,
            )
        return actor

    dependency.pingan_roles = admitted  # type: ignore[attr-defined]
    return dependency
