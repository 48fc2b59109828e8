"""Document numbers (文号): ``青政发〔2026〕12号`` — the department's prefix (发文代字), the year
of sign-off and the next number of that series.

No gaps, whatever fails: the number is written in the same compare-and-set that signs the
document off, and a unique index on the series and number (``number_key``) makes a concurrent
sign-off that chose the same number fail; that caller takes the next free one and tries again.
A number is therefore used exactly when a sign-off was stored, never by a failed attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.clock import CHINA
from backend.context import Context
from backend.identity.queries import get_department

PREFIXES = "office_number_prefixes"
DOCUMENTS = "office_documents"


async def prefix_of(ctx: Context, department: str) -> str:
    """The department's prefix, or until one is set, its name followed by 发."""
    doc = await ctx.store.collection(PREFIXES).find_one({"_id": department})
    if doc is not None:
        return doc["prefix"]
    return f"{(await get_department(ctx.store, department))['name']}发"


async def next_free(ctx: Context, prefix: str, year: int) -> int:
    last = await ctx.store.collection(DOCUMENTS).find({"number_prefix": prefix, "number_year": year},
                                                      sort=[("number_seq", -1)], limit=1, projection=["number_seq"])
    return (last[0]["number_seq"] + 1) if last else 1


def number_fields(prefix: str, year: int, seq: int) -> dict[str, Any]:
    return {"number": f"{prefix}〔{year}〕{seq}号", "number_prefix": prefix, "number_year": year,
            "number_seq": seq, "number_key": f"{prefix}|{year}|{seq}"}


def year_of(moment: datetime) -> int:
    return moment.astimezone(CHINA).year
