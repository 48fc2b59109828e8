import pytest

from backend.privacy import mask_id_card, mask_name, mask_phone, mask_text


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("王小明", "王**"),
        (" 李四 ", "李*"),
        ("迪丽热巴·迪力木拉提", "迪***·*****"),
        ("John Smith", "J*** *****"),
        ("张", "*"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138-****-5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("+8613812345678", "+86138****5678"),
        ("0532-88886666", "0532-****6666"),
        ("010-66668888", "010-****8888"),
        ("(0532)8888666", "(0532)***8666"),
        ("0532-88886666-123", "0532-****6666-123"),
        ("88886666", "****6666"),
        ("12345", "*2345"),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_id_card():
    assert mask_id_card("370202199001011234") == "3702**********1234"
    assert mask_id_card("37020219900101123X") == "3702**********123X"
    assert mask_id_card("身份证号：37020219900101123x。") == "身份证号：3702**********123x。"


def test_mask_id_card_leaves_other_long_numbers():
    # 19 digits (e.g. an order or bank number) and an impossible birth month are not IDs.
    assert mask_id_card("订单号3702021990010112345") == "订单号3702021990010112345"
    assert mask_id_card("370202199013011234") == "370202199013011234"


LETTER = (
    "尊敬的市长：您好！我叫张三，身份证号370202199001011234，家住市北区辽宁路128号（邮编266012）。"
    "2026年11月22日晚上，楼下烧烤摊营业到凌晨2点，我已向社区反映3次，花了1500元装隔音窗仍无效果。"
    "我的手机号是13812345678，备用号码 +86 139-0000-1111，家里座机0532-88886666，"
    "也可以拨打我爱人电话：15900001111。工作单位电话 8888 6666。谢谢！"
)


def test_mask_text_in_a_letter():
    masked = mask_text(LETTER)
    assert "3702**********1234" in masked
    assert "138****5678" in masked
    assert "+86 139-****-1111" in masked
    assert "0532-****6666" in masked
    assert "159****1111" in masked
    assert "电话 **** 6666" in masked
    for untouched in ("辽宁路128号", "邮编266012", "2026年11月22日", "凌晨2点", "3次", "1500元"):
        assert untouched in masked
    for leaked in ("370202199001011234", "13812345678", "1390000", "88886666", "15900001111"):
        assert leaked not in masked
    assert mask_text(masked) == masked  # masking twice (e.g. in logs) changes nothing


def test_mask_text_variants():
    assert mask_text("联系方式：(+86)13812345678") == "联系方式：(+86)138****5678"
    assert mask_text("电话0086 13812345678") == "电话0086 138****5678"
    assert mask_text("北京010-66668888转123") == "北京010-****8888转123"
    assert mask_text("身份证37020219900101123x，电话13812345678") == (
        "身份证3702**********123x，电话138****5678"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-22 10:30收到答复",
        "20261122提交，编号20261122000123",
        "补贴金额为12,345.67元，另有3000元",
        "邮政编码266071，门牌号1203室",
        "热线12345、110和400-800-1234都可以打",
        "订单号 1234567890123456789",
        "建筑面积89.5平方米，楼高28层",
    ],
)
def test_mask_text_leaves_other_numbers(text):
    assert mask_text(text) == text
