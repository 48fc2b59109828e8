"""Request and response models of identity endpoints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from backend.auth.permissions import Role
from backend.schemas import ApiModel, PageQuery, QueryModel, ResponseModel

Username = Annotated[str, StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
DepartmentCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class DepartmentKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    DEPARTMENT = "department"


class StaffLoginIn(ApiModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class CitizenLoginIn(ApiModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PhoneBindIn(ApiModel):
    """Either the new ``getPhoneNumber`` button code, or the legacy encryptedData + iv."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    encrypted_data: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    iv: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def one_way(self) -> "PhoneBindIn":
        if (self.code is None) == (self.encrypted_data is None or self.iv is None):
            raise ValueError("请提供 code，或同时提供 encrypted_data 和 iv")
        return self


class RefreshIn(ApiModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenPairOut(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class DepartmentIn(ApiModel):
    code: DepartmentCode
    name: Name
    kind: DepartmentKind
    parent: DepartmentCode | None = None


class DepartmentPatch(ApiModel):
    name: Name | None = None
    parent: DepartmentCode | None = None


class DepartmentOut(ResponseModel):
    id: str
    code: str
    name: str
    kind: str
    parent: str | None
    path: list[str]
    version: int
    created_at: str
    updated_at: str


class StaffRole(StrEnum):
    """Roles a staff account may hold (every role but citizen)."""

    ADMIN = Role.ADMIN.value
    CPPCC_MEMBER = Role.CPPCC_MEMBER.value
    DEPARTMENT_ADMIN = Role.DEPARTMENT_ADMIN.value
    MAILBOX_CENTER = Role.MAILBOX_CENTER.value
    OFFICER = Role.OFFICER.value
    PROPOSAL_COMMITTEE = Role.PROPOSAL_COMMITTEE.value
    STAFF = Role.STAFF.value


class StaffUserIn(ApiModel):
    username: Username
    password: Password
    name: Name
    roles: list[StaffRole] = Field(min_length=1, max_length=4)
    department: DepartmentCode | None = None


class StaffUserPatch(ApiModel):
    name: Name | None = None
    password: Password | None = None
    roles: list[StaffRole] | None = Field(None, min_length=1, max_length=4)
    department: DepartmentCode | None = None
    disabled: bool | None = None


class UserOut(ResponseModel):
    id: str
    kind: str
    name: str | None
    roles: list[str]
    department: str | None
    version: int


class StaffUserQuery(PageQuery):
    department: DepartmentCode | None = None


class DepartmentQuery(QueryModel):
    parent: DepartmentCode | None = None
