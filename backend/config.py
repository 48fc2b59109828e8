"""Settings: read once at start-up from ``YZT_*`` environment variables (and an optional TOML file).

Nothing else in the project reads ``os.environ``. A bad value stops start-up with a message that
names the variable. Secrets left unset are generated once and kept in the data directory.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from backend.datadir import private_dir


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


def _int(name: str, low: int, high: int) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value
    return convert


def _str(name: str) -> Callable[[str], str]:
    return lambda raw: raw


def _choice(name: str, *choices: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value
    return convert


def _url(name: str, *schemes: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw and not raw.startswith(tuple(f"{s}://" for s in schemes)):
            raise ConfigError(f"{name} must start with {' or '.join(s + '://' for s in schemes)}, got {raw!r}")
        return raw.rstrip("/") if raw.startswith("http") else raw
    return convert


def _aes_key(name: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw and len(raw) != 43:
            raise ConfigError(f"{name} must be the 43-character EncodingAESKey, got {len(raw)} characters")
        return raw
    return convert


def _bool(name: str) -> Callable[[str], bool]:
    def convert(raw: str) -> bool:
        value = raw.strip().lower()
        if value not in ("true", "false", "1", "0"):
            raise ConfigError(f"{name} must be true or false, got {raw!r}")
        return value in ("true", "1")
    return convert


def _secret(name: str, min_length: int) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if len(raw) < min_length:
            raise ConfigError(f"{name} must be at least {min_length} characters")
        return raw
    return convert


def _csv(name: str) -> Callable[[str], tuple[str, ...]]:
    return lambda raw: tuple(part.strip() for part in raw.split(",") if part.strip())


def _networks(name: str) -> Callable[[str], tuple[str, ...]]:
    def convert(raw: str) -> tuple[str, ...]:
        entries = _csv(name)(raw)
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"{name} must be comma-separated addresses or networks "
                                  f"(10.0.0.5, 10.1.0.0/16), got {entry!r}") from None
        return entries
    return convert


def _deadlines(name: str) -> Callable[[str], tuple[tuple[str, int], ...]]:
    def convert(raw: str) -> tuple[tuple[str, int], ...]:
        pairs = []
        for part in raw.split(","):
            key, sep, value = part.strip().partition("=")
            if not sep or not value.strip().isdigit() or not 1 <= int(value) <= 365:
                raise ConfigError(f"{name} must look like consult=5,help=15 (1 to 365 working days), got {raw!r}")
            pairs.append((key.strip(), int(value)))
        return tuple(pairs)
    return convert


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 8000
    processes: int = 1
    mongo_url: str = ""
    mongo_db: str = "yizhantong"
    redis_url: str = ""
    jwt_secret: str = ""
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 86400
    log_level: str = "info"
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    max_concurrent_uploads: int = 16
    upload_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "application/pdf")
    login_free_attempts: int = 5
    login_client_free_attempts: int = 30
    login_delay_seconds: int = 2
    login_max_delay_seconds: int = 900
    login_forget_seconds: int = 3600
    trusted_proxies: tuple[str, ...] = ()
    data_key: str = ""
    previous_data_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    oa_appid: str = ""
    oa_secret: str = ""
    oa_token: str = ""
    oa_aes_key: str = ""
    oa_previous_aes_key: str = ""
    oa_compat_mode: bool = False
    oa_replay_window: int = 300
    mp_appid: str = ""
    mp_secret: str = ""
    wechat_content_check: bool = True  # send citizens' text to WeChat's msg_sec_check
    wecom_corpid: str = ""
    wecom_secret: str = ""
    wecom_agentid: str = ""
    long_term_templates: tuple[str, ...] = ()
    run_workers: bool = True
    letter_deadlines: tuple[tuple[str, int], ...] = (
        ("consult", 5), ("help", 15), ("suggest", 15), ("criticise", 15), ("complain", 15))
    duplicate_window_days: int = 30
    letter_dispatch_days: int = 1
    mailbox_center_department: str = ""
    ws_max_topics: int = 20
    ws_messages_per_second: int = 10
    ws_max_unauthenticated: int = 16  # per client address, per process
    metrics_token: str = ""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    hsts_seconds: int = 0
    calendar_reload_seconds: int = 5

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def letter_deadline_days(self, letter_type: str) -> int:
        return dict(self.letter_deadlines).get(letter_type, 15)

    @property
    def log_level_number(self) -> int:
        return getattr(logging, self.log_level.upper())


# One line per variable: environment name, field, conversion.
_VARIABLES: list[tuple[str, str, Callable[[str], Any]]] = [
    ("YZT_DATA_DIR", "data_dir", Path),
    ("YZT_HOST", "host", _str("YZT_HOST")),
    ("YZT_PORT", "port", _int("YZT_PORT", 1, 65535)),
    ("YZT_PROCESSES", "processes", _int("YZT_PROCESSES", 0, 64)),
    ("YZT_MONGO_URL", "mongo_url", _url("YZT_MONGO_URL", "mongodb", "mongodb+srv")),
    ("YZT_MONGO_DB", "mongo_db", _str("YZT_MONGO_DB")),
    ("YZT_REDIS_URL", "redis_url", _url("YZT_REDIS_URL", "redis", "rediss", "unix")),
    ("YZT_JWT_SECRET", "jwt_secret", _str("YZT_JWT_SECRET")),
    ("YZT_ACCESS_TOKEN_TTL", "access_token_ttl", _int("YZT_ACCESS_TOKEN_TTL", 30, 86400)),
    ("YZT_REFRESH_TOKEN_TTL", "refresh_token_ttl", _int("YZT_REFRESH_TOKEN_TTL", 60, 365 * 86400)),
    ("YZT_LOG_LEVEL", "log_level", _choice("YZT_LOG_LEVEL", "debug", "info", "warning", "error")),
    ("YZT_MAX_BODY_BYTES", "max_body_bytes", _int("YZT_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024)),
    ("YZT_MAX_UPLOAD_BYTES", "max_upload_bytes", _int("YZT_MAX_UPLOAD_BYTES", 1024, 512 * 1024 * 1024)),
    ("YZT_MAX_CONCURRENT_UPLOADS", "max_concurrent_uploads", _int("YZT_MAX_CONCURRENT_UPLOADS", 1, 1024)),
    ("YZT_UPLOAD_TYPES", "upload_types", _csv("YZT_UPLOAD_TYPES")),
    ("YZT_LOGIN_FREE_ATTEMPTS", "login_free_attempts", _int("YZT_LOGIN_FREE_ATTEMPTS", 1, 100)),
    ("YZT_LOGIN_CLIENT_FREE_ATTEMPTS", "login_client_free_attempts",
     _int("YZT_LOGIN_CLIENT_FREE_ATTEMPTS", 1, 100_000)),
    ("YZT_LOGIN_DELAY_SECONDS", "login_delay_seconds", _int("YZT_LOGIN_DELAY_SECONDS", 1, 3600)),
    ("YZT_LOGIN_MAX_DELAY_SECONDS", "login_max_delay_seconds", _int("YZT_LOGIN_MAX_DELAY_SECONDS", 1, 86400)),
    ("YZT_LOGIN_FORGET_SECONDS", "login_forget_seconds", _int("YZT_LOGIN_FORGET_SECONDS", 60, 30 * 86400)),
    ("YZT_TRUSTED_PROXIES", "trusted_proxies", _networks("YZT_TRUSTED_PROXIES")),
    ("YZT_DATA_KEY", "data_key", _str("YZT_DATA_KEY")),
    ("YZT_PREVIOUS_DATA_KEY", "previous_data_key", _str("YZT_PREVIOUS_DATA_KEY")),
    ("YZT_WECHAT_API_BASE", "wechat_api_base", _url("YZT_WECHAT_API_BASE", "http", "https")),
    ("YZT_WECOM_API_BASE", "wecom_api_base", _url("YZT_WECOM_API_BASE", "http", "https")),
    ("YZT_OA_APPID", "oa_appid", _str("YZT_OA_APPID")),
    ("YZT_OA_SECRET", "oa_secret", _str("YZT_OA_SECRET")),
    ("YZT_OA_TOKEN", "oa_token", _str("YZT_OA_TOKEN")),
    ("YZT_OA_AES_KEY", "oa_aes_key", _aes_key("YZT_OA_AES_KEY")),
    ("YZT_OA_PREVIOUS_AES_KEY", "oa_previous_aes_key", _aes_key("YZT_OA_PREVIOUS_AES_KEY")),
    ("YZT_OA_COMPAT_MODE", "oa_compat_mode", _bool("YZT_OA_COMPAT_MODE")),
    ("YZT_OA_REPLAY_WINDOW", "oa_replay_window", _int("YZT_OA_REPLAY_WINDOW", 30, 3600)),
    ("YZT_MP_APPID", "mp_appid", _str("YZT_MP_APPID")),
    ("YZT_MP_SECRET", "mp_secret", _str("YZT_MP_SECRET")),
    ("YZT_WECHAT_CONTENT_CHECK", "wechat_content_check", _bool("YZT_WECHAT_CONTENT_CHECK")),
    ("YZT_WECOM_CORPID", "wecom_corpid", _str("YZT_WECOM_CORPID")),
    ("YZT_WECOM_SECRET", "wecom_secret", _str("YZT_WECOM_SECRET")),
    ("YZT_WECOM_AGENTID", "wecom_agentid", _str("YZT_WECOM_AGENTID")),
    ("YZT_LONG_TERM_TEMPLATES", "long_term_templates", _csv("YZT_LONG_TERM_TEMPLATES")),
    ("YZT_LETTER_DEADLINES", "letter_deadlines", _deadlines("YZT_LETTER_DEADLINES")),
    ("YZT_DUPLICATE_WINDOW_DAYS", "duplicate_window_days", _int("YZT_DUPLICATE_WINDOW_DAYS", 1, 365)),
    ("YZT_LETTER_DISPATCH_DAYS", "letter_dispatch_days", _int("YZT_LETTER_DISPATCH_DAYS", 0, 30)),
    ("YZT_MAILBOX_CENTER_DEPARTMENT", "mailbox_center_department", _str("YZT_MAILBOX_CENTER_DEPARTMENT")),
    ("YZT_WS_MAX_TOPICS", "ws_max_topics", _int("YZT_WS_MAX_TOPICS", 1, 1000)),
    ("YZT_WS_MESSAGES_PER_SECOND", "ws_messages_per_second", _int("YZT_WS_MESSAGES_PER_SECOND", 1, 1000)),
    ("YZT_WS_MAX_UNAUTHENTICATED", "ws_max_unauthenticated", _int("YZT_WS_MAX_UNAUTHENTICATED", 1, 100_000)),
    ("YZT_METRICS_TOKEN", "metrics_token", _secret("YZT_METRICS_TOKEN", 16)),
    ("YZT_METRICS_HOST", "metrics_host", _str("YZT_METRICS_HOST")),
    ("YZT_METRICS_PORT", "metrics_port", _int("YZT_METRICS_PORT", 0, 65535)),
    ("YZT_HSTS_SECONDS", "hsts_seconds", _int("YZT_HSTS_SECONDS", 0, 2 * 365 * 86400)),
    ("YZT_RUN_WORKERS", "run_workers", _choice("YZT_RUN_WORKERS", "true", "false", "1", "0")),
    ("YZT_CALENDAR_RELOAD_SECONDS", "calendar_reload_seconds", _int("YZT_CALENDAR_RELOAD_SECONDS", 1, 3600)),
]


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment (default ``os.environ``), the optional TOML file
    named by ``YZT_CONFIG_FILE`` (keys are the variable names without ``YZT_``, lower case),
    then ``overrides``. Environment wins over the file."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, str] = {}
    config_file = env.get("YZT_CONFIG_FILE")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                for key, value in tomllib.load(fh).items():
                    raw[f"YZT_{key.upper()}"] = str(value)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"YZT_CONFIG_FILE: cannot read {config_file}: {exc}") from None
    raw.update({k: v for k, v in env.items() if k.startswith("YZT_")})
    values: dict[str, Any] = {}
    for name, field_name, convert in _VARIABLES:
        if name in raw and raw[name] != "":
            values[field_name] = convert(raw[name])
    if "run_workers" in values:
        values["run_workers"] = values["run_workers"] in ("true", "1")
    values.update(overrides)
    settings = Settings(**values)
    if not settings.jwt_secret:
        settings = settings.replace(jwt_secret=_kept_secret(settings.data_dir, "jwt_secret"))
    if len(settings.jwt_secret) < 32:
        raise ConfigError("YZT_JWT_SECRET must be at least 32 characters")
    if not settings.data_key:
        settings = settings.replace(data_key=_kept_secret(settings.data_dir, "data_key"))
    for name, value in (("YZT_DATA_KEY", settings.data_key), ("YZT_PREVIOUS_DATA_KEY", settings.previous_data_key)):
        if value and len(value) < 32:
            raise ConfigError(f"{name} must be at least 32 characters")
    return settings


def _kept_secret(data_dir: Path, name: str) -> str:
    """A secret generated on first start and kept (mode 0600) in the data directory."""
    private_dir(data_dir)
    path = data_dir / f"{name}.secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    try:
        os.link(partial, path)  # atomic and exclusive: a concurrent first start reads the winner's
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        partial.unlink()
    return value
