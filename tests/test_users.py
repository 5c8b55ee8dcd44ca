"""Local accounts: argon2 hashing, sign-in refusals, roles enforced in the library."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor import users
from monitor.cli import cli
from monitor.store.models import User
from monitor.users import LOCAL_OPERATOR, Account, AuthError, PermissionDenied, UserError

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(store) -> Account:
    with store.session() as session:
        return users.add_user(session, LOCAL_OPERATOR, "root", "admin", PASSWORD)


def test_password_is_stored_as_argon2id_hash(store, admin):
    with store.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "root"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_right_password_signs_in(store, admin):
    with store.session() as session:
        account = users.authenticate(session, "root", PASSWORD)
    assert account == Account(id=admin.id, name="root", role="admin", disabled=False)


@pytest.mark.parametrize("name, password", [("root", "wrong password!"), ("nobody", PASSWORD), ("root", "")])
def test_wrong_name_or_password_is_refused_with_one_message(store, admin, name, password):
    with store.session() as session, pytest.raises(AuthError, match="wrong user name or password"):
        users.authenticate(session, name, password)


def test_disabled_user_is_refused(store, admin):
    with store.session() as session:
        users.add_user(session, admin, "ann", "agent", PASSWORD)
        users.set_disabled(session, admin, "ann")
    with store.session() as session, pytest.raises(AuthError, match="disabled"):
        users.authenticate(session, "ann", PASSWORD)
    with store.session() as session, pytest.raises(PermissionDenied, match="disabled"):
        users.authorize(session, "ann", "page.triage")


def test_re_enabled_user_signs_in_again(store, admin):
    with store.session() as session:
        users.add_user(session, admin, "ann", "agent", PASSWORD)
        users.set_disabled(session, admin, "ann")
        users.set_disabled(session, admin, "ann", False)
    with store.session() as session:
        assert users.authenticate(session, "ann", PASSWORD).name == "ann"


def test_short_password_is_refused(store, admin):
    with store.session() as session, pytest.raises(UserError, match="too short"):
        users.add_user(session, admin, "ann", "agent", "short")


@pytest.mark.parametrize("name", ["", " ann", "two words", "x" * 129])
def test_bad_names_are_refused(store, admin, name):
    with store.session() as session, pytest.raises(UserError, match="not valid"):
        users.add_user(session, admin, name, "agent", PASSWORD)


def test_unknown_role_is_refused(store, admin):
    with store.session() as session, pytest.raises(UserError, match="role 'boss' is not one of"):
        users.add_user(session, admin, "ann", "boss", PASSWORD)


def test_duplicate_name_is_refused(store, admin):
    with store.session() as session, pytest.raises(UserError, match="already exists"):
        users.add_user(session, admin, "root", "agent", PASSWORD)


def test_only_admins_manage_users(store, admin):
    with store.session() as session:
        agent = users.add_user(session, admin, "ann", "agent", PASSWORD)
        manager = users.add_user(session, admin, "max", "manager", PASSWORD)
    for actor in (agent, manager):
        with store.session() as session, pytest.raises(PermissionDenied, match=r"may not users\.manage"):
            users.add_user(session, actor, "eve", "admin", PASSWORD)
        with store.session() as session, pytest.raises(PermissionDenied):
            users.set_role(session, actor, "ann", "admin")
        with store.session() as session, pytest.raises(PermissionDenied):
            users.set_disabled(session, actor, "root")
    with store.session() as session:
        assert [a.role for a in users.list_users(session)] == ["agent", "manager", "admin"]


def test_users_may_change_only_their_own_password(store, admin):
    with store.session() as session:
        ann = users.add_user(session, admin, "ann", "agent", PASSWORD)
        users.add_user(session, admin, "bob", "agent", PASSWORD)
        users.set_password(session, ann, "ann", "a brand new secret")
        with pytest.raises(PermissionDenied):
            users.set_password(session, ann, "bob", "a brand new secret")
    with store.session() as session:
        assert users.authenticate(session, "ann", "a brand new secret").name == "ann"


def test_last_admin_cannot_be_disabled_or_demoted(store, admin):
    with store.session() as session, pytest.raises(UserError, match="last enabled admin"):
        users.set_disabled(session, admin, "root")
    with store.session() as session, pytest.raises(UserError, match="last enabled admin"):
        users.set_role(session, admin, "root", "agent")
    with store.session() as session:
        users.add_user(session, admin, "root2", "admin", PASSWORD)
        users.set_role(session, admin, "root", "manager")
        assert users.authenticate(session, "root", PASSWORD).role == "manager"


def test_authorize_reads_the_role_from_the_database_each_time(store, admin):
    with store.session() as session:
        users.add_user(session, admin, "ann", "agent", PASSWORD)
        assert users.authorize(session, "ann", "triage.act").role == "agent"
        users.set_role(session, admin, "ann", "manager")
    with store.session() as session, pytest.raises(PermissionDenied, match="role 'manager'"):
        users.authorize(session, "ann", "triage.act")
    with store.session() as session, pytest.raises(PermissionDenied, match="no user"):
        users.authorize(session, "ghost", "page.triage")


@pytest.mark.parametrize(
    "role, pages",
    [
        ("agent", ["triage"]),
        ("advocate", ["audit"]),
        ("manager", ["triage", "audit", "overview"]),
        ("admin", ["triage", "audit", "overview", "admin"]),
    ],
)
def test_role_pages(role, pages):
    assert Account(id=1, name="x", role=role).pages() == pages


def test_only_agents_and_admins_act_on_cases_and_see_pii():
    acting = [r for r in users.ROLES if Account(1, "x", r).can("triage.act")]
    seeing = [r for r in users.ROLES if Account(1, "x", r).can("pii.view")]
    assert acting == ["agent", "admin"]
    assert seeing == ["advocate", "admin"]
    assert not Account(1, "x", "admin", disabled=True).can("page.triage")


def test_unknown_permission_is_a_programming_error():
    with pytest.raises(ValueError, match=r"unknown permission .page\.nope."):
        Account(1, "x", "admin").can("page.nope")


def test_throttle_refuses_a_name_after_too_many_failures():
    now = [1000.0]
    throttle = users.Throttle(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("root")
        throttle.failed("root")
    with pytest.raises(AuthError, match="too many failed sign-ins for 'root': try again in 61 s"):
        throttle.check("root")
    throttle.check("ann")  # other names are not affected
    now[0] += 61
    throttle.check("root")  # the window has passed
    throttle.failed("root")
    throttle.succeeded("root")
    throttle.check("root")


def test_oidc_account_is_created_once_with_the_default_role(store, admin):
    with store.session() as session:
        first = users.oidc_account(session, "sso@example.org", "advocate")
    with store.session() as session:
        again = users.oidc_account(session, "sso@example.org", "agent")
        users.set_role(session, admin, "sso@example.org", "manager")
    assert first.role == again.role == "advocate"
    with store.session() as session:
        assert users.oidc_account(session, "sso@example.org", "agent").role == "manager"
        # No password: an SSO account cannot sign in locally.
        with pytest.raises(AuthError):
            users.authenticate(session, "sso@example.org", "")


def test_disabled_oidc_account_is_refused(store, admin):
    with store.session() as session:
        users.oidc_account(session, "sso@example.org", "agent")
        users.set_disabled(session, admin, "sso@example.org")
    with store.session() as session, pytest.raises(AuthError, match="disabled"):
        users.oidc_account(session, "sso@example.org", "agent")


# -- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def run_users(store, database_url, tmp_path):
    """``complaintwatch users …`` in-process, on the test database."""
    config = tmp_path / "config.toml"
    config.write_text('[[brands]]\nname = "Acme"\n', encoding="utf-8")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(
            cli,
            ["--config", str(config), "users", *args],
            input=stdin,
            env={"COMPLAINTWATCH_DATABASE_URL": database_url},
        )

    return run


def test_cli_add_with_password_on_stdin_then_sign_in(run_users, store):
    result = run_users("add", "ann", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "added ann (agent): pages triage\n"
    with store.session() as session:
        assert users.authenticate(session, "ann", PASSWORD).role == "agent"


def test_cli_add_prompts_twice_for_the_password(run_users, store):
    result = run_users("add", "root", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with store.session() as session:
        assert users.authenticate(session, "root", PASSWORD).role == "admin"


def test_cli_list_disable_enable_role(run_users, store):
    assert run_users("list").output.startswith("no users yet")
    for name, role in (("root", "admin"), ("ann", "agent")):
        run_users("add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
    assert run_users("disable", "ann").output == "disabled ann\n"
    assert run_users("list").output == "ann   agent     disabled\nroot  admin     enabled\n"
    with store.session() as session, pytest.raises(AuthError):
        users.authenticate(session, "ann", PASSWORD)
    run_users("enable", "ann")
    assert run_users("role", "ann", "manager").output == "ann is now manager\n"
    with store.session() as session:
        assert users.authenticate(session, "ann", PASSWORD).role == "manager"


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (("add", "ann", "--role", "agent", "--password-stdin"), "short\n", "password too short"),
        (("add", "ann", "--role", "agent", "--password-stdin"), "", "standard input held no password"),
        (("disable", "ghost"), None, "no user named 'ghost'"),
        (("disable", "root"), None, "last enabled admin"),
    ],
)
def test_cli_refusals_name_the_problem(run_users, args, stdin, message):
    run_users("add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    result = run_users(*args, stdin=stdin)
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_cli_refuses_an_unknown_role(run_users):
    result = run_users("add", "ann", "--role", "boss", "--password-stdin", stdin=PASSWORD)
    assert result.exit_code == 2
    assert "'boss' is not one of" in result.output
