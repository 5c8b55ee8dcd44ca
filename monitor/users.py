"""Dashboard accounts: argon2 password hashing, roles, and what each role may do.

Every check happens here, against the database, not only in the page that hides a button:
:func:`authorize` re-reads the account on each action, so a user disabled or demoted by an
admin loses access on their next click, not at their next sign-in.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store.models import User

ROLES = ("agent", "advocate", "manager", "admin")

#: Permission → roles that hold it. Pages are permissions too ("page.<name>").
PERMISSIONS: dict[str, frozenset[str]] = {
    "page.triage": frozenset({"agent", "manager", "admin"}),
    "page.audit": frozenset({"advocate", "manager", "admin"}),
    "page.overview": frozenset({"manager", "admin"}),
    "page.admin": frozenset({"admin"}),
    # Case work in the triage queue: route/hand off, approve replies, assign, snooze, resolve, relabel.
    "triage.act": frozenset({"agent", "admin"}),
    # Unmasked personal data in posts (phone numbers, e-mails, IBANs…).
    "pii.view": frozenset({"advocate", "admin"}),
    "audit.export": frozenset({"advocate", "admin"}),
    "audit.verify": frozenset({"advocate", "manager", "admin"}),
    "overview.export": frozenset({"manager", "admin"}),
    "users.manage": frozenset({"admin"}),
    "outbox.manage": frozenset({"admin"}),
}

PAGES = ("triage", "audit", "overview", "admin")
MIN_PASSWORD_LENGTH = 10
_NAME_MAX = 128

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash("complaintwatch-timing-equaliser")


class UserError(Exception):
    """A user-management request is invalid (bad name, role, password, or unknown user)."""


class AuthError(Exception):
    """Sign-in refused: wrong name or password, or a disabled account."""


class PermissionDenied(Exception):
    """The account's role does not allow this page or action."""


@dataclass(frozen=True)
class Account:
    """A signed-in (or listed) user, detached from any database session."""

    id: int
    name: str
    role: str
    disabled: bool = False

    def can(self, permission: str) -> bool:
        """Whether this account's role holds ``permission`` (disabled accounts hold none)."""
        return not self.disabled and self.role in _roles_for(permission)

    def pages(self) -> list[str]:
        """The dashboard pages this account may open, in menu order."""
        return [page for page in PAGES if self.can(f"page.{page}")]


#: The person at the server's shell (the CLI): full rights, since they hold the database anyway.
LOCAL_OPERATOR = Account(id=0, name="operator", role="admin")


def _roles_for(permission: str) -> frozenset[str]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise ValueError(
            f"unknown permission {permission!r} (known: {', '.join(sorted(PERMISSIONS))})"
        ) from None


def require(account: Account, permission: str) -> None:
    """Raise :class:`PermissionDenied` unless ``account`` holds ``permission``."""
    if account.disabled:
        raise PermissionDenied(f"account {account.name!r} is disabled")
    if not account.can(permission):
        raise PermissionDenied(f"role {account.role!r} of {account.name!r} may not {permission}")


# -- passwords ---------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (refuses passwords shorter than the minimum)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")
    return _hasher.hash(password)


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# -- reading -----------------------------------------------------------------------------------------


def _to_account(user: User) -> Account:
    return Account(id=user.id, name=user.name, role=user.role, disabled=user.disabled)


def _find(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def _get(session: Session, name: str) -> User:
    user = _find(session, name)
    if user is None:
        raise UserError(f"no user named {name!r}")
    return user


def get_account(session: Session, name: str) -> Account | None:
    """The account named ``name``, or None."""
    user = _find(session, name)
    return _to_account(user) if user else None


def list_users(session: Session) -> list[Account]:
    """All accounts, by name."""
    return [_to_account(u) for u in session.scalars(select(User).order_by(User.name))]


def count_admins(session: Session) -> int:
    """Enabled admin accounts (the last one may not be disabled or demoted)."""
    query = select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
    return int(session.scalar(query) or 0)


# -- signing in and checking -------------------------------------------------------------------------


def authenticate(session: Session, name: str, password: str) -> Account:
    """The account for ``name`` if ``password`` is right and the account is enabled."""
    user = _find(session, name.strip())
    if not _password_matches(user.password_hash if user else None, password) or user is None:
        raise AuthError("wrong user name or password")
    if user.disabled:
        raise AuthError(f"account {user.name!r} is disabled: ask an admin")
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _to_account(user)


def authorize(session: Session, name: str, permission: str) -> Account:
    """Re-read ``name`` from the database and require ``permission``; the account, fresh."""
    user = _find(session, name)
    if user is None:
        raise PermissionDenied(f"no user named {name!r}")
    account = _to_account(user)
    require(account, permission)
    return account


class Throttle:
    """Refuses sign-ins for a name after ``limit`` failures within ``window_s`` (per process).

    Guessing is slow anyway (argon2 costs a few hundred ms a try), but without a limit one
    browser could keep a CPU busy trying passwords for an admin forever.
    """

    def __init__(self, limit: int = 5, window_s: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        """Raise :class:`AuthError` while ``name`` has too many recent failures."""
        with self._lock:
            recent = self._recent(name)
            if len(recent) >= self.limit:
                wait = int(self.window_s - (self.clock() - recent[0])) + 1
                raise AuthError(f"too many failed sign-ins for {name!r}: try again in {wait} s")

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self.clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def _recent(self, name: str) -> deque[float]:
        recent = self._failures[name]
        while recent and self.clock() - recent[0] > self.window_s:
            recent.popleft()
        return recent


def oidc_account(session: Session, name: str, default_role: str) -> Account:
    """The account of an OpenID Connect identity, created with ``default_role`` on first sign-in."""
    _check_name(name)
    _check_role(default_role)
    user = _find(session, name)
    if user is None:
        user = User(name=name, role=default_role, password_hash=None, disabled=False)
        session.add(user)
        session.flush()
    if user.disabled:
        raise AuthError(f"account {name!r} is disabled: ask an admin")
    return _to_account(user)


# -- managing (admins only) --------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name or name != name.strip() or len(name) > _NAME_MAX or any(c.isspace() for c in name):
        raise UserError(f"user name {name!r} is not valid: 1–{_NAME_MAX} characters, no spaces")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")


def add_user(session: Session, actor: Account, name: str, role: str, password: str) -> Account:
    """Create a local account; ``actor`` must be allowed to manage users."""
    require(actor, "users.manage")
    _check_name(name)
    _check_role(role)
    if _find(session, name) is not None:
        raise UserError(f"a user named {name!r} already exists")
    user = User(name=name, role=role, password_hash=hash_password(password), disabled=False)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise UserError(f"a user named {name!r} already exists") from None
    return _to_account(user)


def set_disabled(session: Session, actor: Account, name: str, disabled: bool = True) -> Account:
    """Disable (or re-enable) an account; the last enabled admin cannot be disabled."""
    require(actor, "users.manage")
    user = _get(session, name)
    if disabled and user.role == "admin" and not user.disabled and count_admins(session) <= 1:
        raise UserError(f"{name!r} is the last enabled admin: add another admin first")
    user.disabled = disabled
    return _to_account(user)


def set_role(session: Session, actor: Account, name: str, role: str) -> Account:
    """Change an account's role; the last enabled admin cannot be demoted."""
    require(actor, "users.manage")
    _check_role(role)
    user = _get(session, name)
    if user.role == "admin" and role != "admin" and not user.disabled and count_admins(session) <= 1:
        raise UserError(f"{name!r} is the last enabled admin: add another admin first")
    user.role = role
    return _to_account(user)


def set_password(session: Session, actor: Account, name: str, password: str) -> Account:
    """Set a new password; admins may set anyone's, others only their own."""
    if actor.name != name:
        require(actor, "users.manage")
    elif actor.disabled:
        raise PermissionDenied(f"account {actor.name!r} is disabled")
    user = _get(session, name)
    user.password_hash = hash_password(password)
    return _to_account(user)


def roles_with(permission: str) -> Iterable[str]:
    """Roles holding ``permission``, in :data:`ROLES` order (for help texts)."""
    allowed = _roles_for(permission)
    return [role for role in ROLES if role in allowed]
