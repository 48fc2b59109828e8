"""WeChat field limits (WECHAT.md §4): every value fits, nothing is split, nothing raises."""

from __future__ import annotations

from datetime import datetime, timezone

from push.render import clusters, fit, fit_fields, shorten, shorten_bytes, units


def test_thing_is_cut_to_twenty_with_an_ellipsis() -> None:
    assert fit("thing2", "关于小区夜间施工噪音扰民严重影响居民休息的投诉") == "关于小区夜间施工噪音扰民严重影响居民休…"
    assert fit("thing2", "短标题") == "短标题"
    assert fit("thing2", "换行\n和\t制表\x00符") == "换行 和 制表 符"
    assert fit("thing2", "") == "无" and fit("thing2", None) == "无"


def test_emoji_flags_and_accents_are_never_split() -> None:
    family = "👨\u200d👩\u200d👧"
    text = "通知" + family * 5
    out = shorten(text, 10)
    assert units(out) <= 10 and out.endswith("…")
    assert all(cluster in ("通", "知", family, "…") for cluster in clusters(out))
    flags = "🇨🇳" * 8
    assert clusters(shorten(flags, 9)) == ["🇨🇳", "🇨🇳", "…"]
    accented = "e\u0301" * 30
    assert shorten(accented, 5) == "e\u0301e\u0301…"
    assert "\ud83d" not in fit("thing1", "半个\ud83d表情")  # a lone surrogate from JSON is dropped
    skin = "👍🏽" * 11
    assert fit("thing1", skin).count("👍🏽") == 4  # 4 UTF-16 units each and "🏽🏽" not in fit("thing1", skin)


def test_phrase_keeps_five_chinese_characters() -> None:
    assert fit("phrase3", "已转交办理部门") == "已转交办理"
    assert fit("phrase3", "OK 已受理!") == "已受理"
    assert fit("phrase3", "done") == "有更新"


def test_character_string_has_no_chinese_and_at_most_32() -> None:
    assert fit("character_string1", "XJ-20261122-000123") == "XJ-20261122-000123"
    assert fit("character_string1", "编号XJ-1 2") == "XJ-12"
    long = fit("character_string1", "A" * 40)
    assert len(long) == 32 and long.endswith("...")
    assert fit("character_string1", "全是中文") == "-"


def test_time_date_and_other_kinds() -> None:
    moment = datetime(2026, 11, 22, 1, 5, tzinfo=timezone.utc)
    assert fit("time4", moment) == "2026年11月22日 09:05"
    assert fit("time4", "2026-11-22T01:05:00.000000Z") == "2026年11月22日 09:05"
    assert fit("date2", "2026-11-22T01:05:00.000000Z") == "2026年11月22日"
    assert fit("time4", "not a time").startswith("20")  # now, rather than a failed send
    assert fit("number1", "共 1,234.5 件") == "1234.5"
    assert fit("amount1", "¥12.50") == "12.50元"
    assert fit("phone_number1", "电话：0532-88888888 转 123") == "0532-88888888123"
    assert fit("name1", "欧阳娜娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜娜" and fit("name1", "A" * 30) == "A" * 20
    assert fit("car_number1", "鲁B 12345X") == "鲁B12345X"[:8]
    assert fit("letter1", "abc123") == "abc" and fit("symbol1", "a-b+c%d&e!") == "-+%&!"
    assert fit("unknown7", "字" * 30) == "字" * 19 + "…"


def test_fit_fields_and_bytes() -> None:
    assert fit_fields({"thing1": "title", "phrase2": "status"}, {"title": "标题"}) == {"thing1": "标题",
                                                                                      "phrase2": "有更新"}
    text = shorten_bytes("通" * 1000, 2048)
    assert len(text.encode()) <= 2048 and text.endswith("…")
