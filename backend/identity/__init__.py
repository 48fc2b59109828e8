"""Identity (身份): users (citizens by WeChat openid/unionid, staff by username), the department
tree (city → district → street → community, plus departments), login and sessions."""

from backend.context import Context
from backend.identity.queries import SESSION_KEY, USER_PHONE
from backend.registry import Module


async def _setup(ctx: Context) -> None:
    from backend.identity.use_cases import create_indexes  # noqa: PLC0415 - use cases import this package

    await create_indexes(ctx)


MODULE = Module(name="identity", label="身份与权限", setup=_setup, sealed=(USER_PHONE, SESSION_KEY))
