"""``yzt init-demo``: a demo city (districts, streets, communities, ~10 departments), one staff
account per role plus the people the mobile office names, and every module's demo data in each
interesting state (written through the use cases by ``DemoCast``'s people). Idempotent: running it
again keeps what exists and prints the same accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.errors import Conflict
from backend.identity.schemas import DepartmentIn, DepartmentKind, StaffUserIn
from backend.identity.use_cases import SYSTEM, do_create_department, do_create_staff_user

if TYPE_CHECKING:
    from backend.context import Context

K = DepartmentKind
DEPARTMENTS: list[tuple[str, str, DepartmentKind, str | None]] = [
    ("qd", "青岛市", K.CITY, None),
    ("qd-shinan", "市南区", K.DISTRICT, "qd"),
    ("qd-shibei", "市北区", K.DISTRICT, "qd"),
    ("qd-laoshan", "崂山区", K.DISTRICT, "qd"),
    ("qd-shinan-bjl", "八大湖街道", K.STREET, "qd-shinan"),
    ("qd-shinan-bjl-1", "江西路社区", K.COMMUNITY, "qd-shinan-bjl"),
    ("qd-shibei-dby", "登州路街道", K.STREET, "qd-shibei"),
    ("qd-mailbox", "市政府信箱办公室", K.DEPARTMENT, "qd"),
    ("qd-housing", "市住房和城乡建设局", K.DEPARTMENT, "qd"),
    ("qd-env", "市生态环境局", K.DEPARTMENT, "qd"),
    ("qd-transport", "市交通运输局", K.DEPARTMENT, "qd"),
    ("qd-hrss", "市人力资源和社会保障局", K.DEPARTMENT, "qd"),
    ("qd-market", "市市场监督管理局", K.DEPARTMENT, "qd"),
    ("qd-edu", "市教育局", K.DEPARTMENT, "qd"),
    ("qd-health", "市卫生健康委员会", K.DEPARTMENT, "qd"),
    ("qd-urban", "市城市管理局", K.DEPARTMENT, "qd"),
    ("qd-cppcc", "市政协提案委员会", K.DEPARTMENT, "qd"),
    ("qd-supervision", "市政府督查室", K.DEPARTMENT, "qd"),
    ("qd-shinan-env", "市南区生态环境分局", K.DEPARTMENT, "qd-shinan"),
]

ACCOUNTS: list[tuple[str, str, list[str], str | None]] = [
    ("admin", "系统管理员", ["admin"], None),
    ("center", "信箱中心值班员", ["mailbox_center"], "qd-mailbox"),
    ("housing", "住建局经办人", ["staff"], "qd-housing"),
    ("env", "生态环境局经办人", ["staff"], "qd-env"),
    ("shinan_admin", "市南区管理员", ["department_admin"], "qd-shinan"),
    ("officer", "执法队员", ["officer"], "qd-urban"),
    ("cppcc_member", "政协委员", ["cppcc_member"], None),
    ("committee", "提案委工作人员", ["proposal_committee"], "qd-cppcc"),
    # People the mobile office names on routes, as leaders, deputies and supervisors.
    ("housing_lead", "住建局局长", ["staff"], "qd-housing"),
    ("housing_deputy", "住建局副局长", ["staff"], "qd-housing"),
    ("housing_office", "住建局办公室主任", ["staff"], "qd-housing"),
    ("env_lead", "生态环境局局长", ["staff"], "qd-env"),
    ("urban_lead", "城管局局长", ["staff"], "qd-urban"),
    ("transport", "交通局经办人", ["staff"], "qd-transport"),
    ("supervisor", "督查室督查员", ["staff"], "qd-supervision"),
]

DEMO_PASSWORD_SUFFIX = "@Demo2026"


async def create_demo_city(ctx: "Context", *, with_cases: bool = True) -> list[dict[str, Any]]:
    """The city and its people, then (``with_cases``) every module's demo cases; the tests take
    the city alone and make the cases each test is about."""
    for code, name, kind, parent in DEPARTMENTS:
        try:
            await do_create_department(ctx, DepartmentIn(code=code, name=name, kind=kind, parent=parent),
                                       acting_user=SYSTEM)
        except Conflict:
            pass
    accounts = []
    for username, name, roles, department in ACCOUNTS:
        password = f"{username}{DEMO_PASSWORD_SUFFIX}"
        try:
            data = StaffUserIn.model_validate({"username": username, "password": password, "name": name,
                                              "roles": roles, "department": department}, strict=False)
            # The demo's passwords are published and contain the username: the one bypass of the policy.
            await do_create_staff_user(ctx, data, acting_user=SYSTEM, skip_password_policy_for_demo=True)
        except Conflict:
            pass
        accounts.append({"username": username, "password": password, "roles": roles, "department": department})
    if with_cases:
        await create_demo_data(ctx)
    return accounts


async def create_demo_data(ctx: "Context") -> None:
    """Each module's demo cases, after the city and its people exist."""
    from backend.demo_cast import DemoCast  # noqa: PLC0415 - module demos import the use cases
    from backend.mailbox.demo import create_demo_letters  # noqa: PLC0415
    from backend.office.documents.demo import create_demo_documents  # noqa: PLC0415
    from backend.office.notices.demo import create_demo_notices  # noqa: PLC0415
    from backend.office.tasks.demo import create_demo_tasks  # noqa: PLC0415

    cast = DemoCast(ctx)
    await create_demo_letters(ctx, cast)
    await create_demo_documents(ctx, cast)
    accounts = [{"username": username} for username, *_rest in ACCOUNTS]
    await create_demo_notices(ctx, accounts)
    await create_demo_tasks(ctx, accounts)
