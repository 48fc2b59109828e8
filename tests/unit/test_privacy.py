import pytest

from backend.privacy import mask_for_disclosure, mask_id_card, mask_name, mask_phone, mask_text


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


# --- mask_for_disclosure -------------------------------------------------------------------

DISCLOSURE_CASES = [
    # names: self-introduction (a bare surname is kept)
    ("我叫张三，家住市北区", "我叫张*，家住市北区"),
    ("我是张三，今年45岁", "我是张*，今年45岁"),
    ("本人张三，男，退休职工", "本人张*，男，退休职工"),
    ("我叫王小明今年12岁", "我叫王**今年12岁"),
    ("我叫欧阳娜娜，是小区业主", "我叫欧***，是小区业主"),
    ("我的名字叫刘洋。", "我的名字叫刘*。"),
    ("姓名：陈晓东", "姓名：陈**"),
    ("本人姓王，名叫王强", "本人姓王，名叫王*"),
    ("本人姓张，是本小区业主", "本人姓张，是本小区业主"),
    # names: labels, titles, greetings
    ("联系人：张三，电话0532-88886666", "联系人：张*，电话0532-****6666"),
    ("联系人张先生", "联系人张先生"),
    ("联系人 王女士", "联系人 王女士"),
    ("经办人：李四", "经办人：李*"),
    ("投诉人王五于2026年11月20日来电", "投诉人王*于2026年11月20日来电"),
    ("申请人赵六、李七", "申请人赵*、李*"),
    ("邻居王五师傅可以作证", "邻居王*师傅可以作证"),
    ("张三同志：您好！", "张*同志：您好！"),
    ("尊敬的张三先生：", "尊敬的张*先生："),
    ("李明老师教得好，李老师也好", "李*老师教得好，李老师也好"),
    ("赵秀兰阿姨和王大爷", "赵**阿姨和王大爷"),
    ("诸葛亮同志", "诸**同志"),
    ("王五：\n您好！来信收悉。", "王*：\n您好！来信收悉。"),
    # names: signature lines
    ("请尽快处理。\n张三", "请尽快处理。\n张*"),
    ("请尽快处理。\n张三 2026年11月22日", "请尽快处理。\n张* 2026年11月22日"),
    ("请尽快处理。\n市民张三\n2026年11月22日", "请尽快处理。\n市民张*\n2026年11月22日"),
    ("请尽快处理。——李四", "请尽快处理。——李*"),
    ("谢谢！张三敬上", "谢谢！张*敬上"),
    ("盼复。\n张三 13812345678", "盼复。\n张* 138****5678"),
    # addresses
    ("家住江西路18号3号楼2单元501室", "家住江西路**号*号楼*单元***室"),
    ("海信花园5号楼", "海信花园*号楼"),
    ("辽宁路128号（邮编266012）", "辽宁路***号（邮编266012）"),
    ("海信花园5-2-501", "海信花园*-*-***"),
    ("万科城3栋1203", "万科城*栋****"),
    ("住在18楼1803", "住在**楼****"),
    ("三号楼二单元", "*号楼*单元"),
    ("B座1203室", "*座****室"),
    ("长乐路88弄3号", "长乐路**弄*号"),
    # e-mail, WeChat, QQ
    ("邮箱zhangsan@qq.com", "邮箱z*******@qq.com"),
    ("邮箱：Li.Si-2026@example.com.cn。", "邮箱：L*********@example.com.cn。"),
    ("我的微信：abc_123", "我的微信：a******"),
    ("加我微信号 zhangsan1990", "加我微信号 z***********"),
    ("WeChat: abc_123，vx：lisi2026", "WeChat: a******，vx：l*******"),
    ("wxid_ab12cd34ef", "wxid_**********"),
    ("QQ：123456789", "QQ：1******89"),
    ("qq号 12345678", "qq号 1*****78"),
    # car plates
    ("车牌号鲁B12345", "车牌号鲁B****5"),
    ("鲁B·D12345的车", "鲁B·*****5的车"),
    ("京A 12345", "京A ****5"),
    ("苏E1234学", "苏E***4学"),
    # bank cards
    ("银行卡号：6222 0212 3456 7890 123", "银行卡号：6222 **** **** ***0 123"),
    ("卡号6228480402564890018", "卡号6228***********0018"),
    ("退款打到6212262502009182455", "退款打到6212***********2455"),
    ("账号 1234-5678-9012-3456", "账号 1234-****-****-3456"),
    # ID cards and phones (the rules of mask_text)
    ("身份证号370202199001011234", "身份证号3702**********1234"),
    ("手机13812345678，座机0532-88886666", "手机138****5678，座机0532-****6666"),
]

# Text that must pass unchanged: dates, times, amounts, service numbers, place and department
# names, citations, surnames with titles, everyday words that start with a surname.
UNCHANGED = [
    "2026年11月22日晚上10点",
    "11月22号晚上，3号那天下雨",
    "2026-11-22 10:30，20261122",
    "罚款3000元，年产值3000万元",
    "拨打12345热线或96166，400-800-1234",
    "市南区江西路、延吉路",
    "青岛市住房和城乡建设局",
    "《中华人民共和国噪声污染防治法》第四十五条",
    "楼高28层，共有30户居民，共计5栋楼",
    "两室一厅，3室2厅，面积120平方米",
    "地铁3号线，1号窗口，3号文件，第5次反映",
    "请到市政务服务中心3楼5号窗口办理",
    "第3单元测验",
    "编号XJ-20261122-000123，订单号 6212262502009182455",
    "邮编266071",
    "鲁A级景区，京津冀协同发展",
    "微信公众号“青岛政务”，微信同手机号",
    "http://www.qingdao.gov.cn/xxgk",
    "我是一名退休教师",
    "我是江西路的居民",
    "我是高中生，",
    "我是江苏来的",
    "我是李沧区居民",
    "我是李家村的村民，王家的儿媳",
    "本人于2026年11月22日向社区反映",
    "本人常年在外地工作，本人高度关注此事",
    "王先生、李女士、张师傅、王大爷",
    "全体同志，高中老师，值班民警同志，快递员李师傅",
    "保障居民安全，业主高度关注，周边居民反映强烈",
    "王某某、于某、张某反映",
    "此致\n敬礼！",
    "谢谢！",
    "望尽快解决，万分感谢",
    "青岛市城市管理局\n2026年11月25日",
]


@pytest.mark.parametrize(("text", "masked"), DISCLOSURE_CASES)
def test_mask_for_disclosure(text, masked):
    assert mask_for_disclosure(text) == masked


@pytest.mark.parametrize("text", UNCHANGED)
def test_mask_for_disclosure_leaves_common_text(text):
    assert mask_for_disclosure(text) == text


@pytest.mark.parametrize("text", [case[1] for case in DISCLOSURE_CASES] + UNCHANGED)
def test_mask_for_disclosure_is_idempotent(text):
    assert mask_for_disclosure(text) == text


DISCLOSED_LETTER = """尊敬的市长：
您好！我叫张三，家住市北区江西路18号3号楼2单元501室。2026年11月22日晚上，楼下烧烤摊营业到凌晨2点，\
油烟和噪音严重影响休息。我已向社区和12345热线反映3次，花了3000元装隔音窗仍无效果。
烧烤摊老板开一辆鲁B·D12345的车，每晚占用消防通道。邻居王五师傅也可以作证。
请联系我：手机13812345678，微信号zhang_san1990，邮箱zhangsan@qq.com。
此致
敬礼！
市民张三
2026年11月23日"""


def test_mask_for_disclosure_a_whole_letter():
    masked = mask_for_disclosure(DISCLOSED_LETTER)
    assert masked == """尊敬的市长：
您好！我叫张*，家住市北区江西路**号*号楼*单元***室。2026年11月22日晚上，楼下烧烤摊营业到凌晨2点，\
油烟和噪音严重影响休息。我已向社区和12345热线反映3次，花了3000元装隔音窗仍无效果。
烧烤摊老板开一辆鲁B·*****5的车，每晚占用消防通道。邻居王*师傅也可以作证。
请联系我：手机138****5678，微信号z************，邮箱z*******@qq.com。
此致
敬礼！
市民张*
2026年11月23日"""
    for leaked in ("张三", "18号", "501", "D12345", "王五", "13812345678", "zhang_san1990", "zhangsan@"):
        assert leaked not in masked
    assert mask_for_disclosure(masked) == masked


def test_mask_for_disclosure_the_writers_name_everywhere():
    reply = ("经查，张三反映的江西路烧烤摊问题属实。我局已约谈经营者，并将处理结果告知张三。"
             "张三丰路段的施工另行答复。")
    masked = mask_for_disclosure(reply, names=["张三", " ", "张"])
    assert masked == ("经查，张*反映的江西路烧烤摊问题属实。我局已约谈经营者，并将处理结果告知张*。"
                      "张*丰路段的施工另行答复。")
    # a name found by its context is masked everywhere too
    assert mask_for_disclosure("我叫李四。李四的车被刮了。") == "我叫李*。李*的车被刮了。"
    # names of other alphabets, and longer names before shorter ones
    assert mask_for_disclosure("From John Smith, 张三丰 and 张三", names=["张三", "张三丰", "John Smith"]) == (
        "From J*** *****, 张** and 张*")


@pytest.mark.parametrize(
    "text",
    ["", "1", "0" * 5000, "张" * 5000, "张三" * 2500, "1-" * 2500, "号" * 5000, "18号" * 1000, "a@" * 2500,
     "微信" * 2500, "\x00\x01\x1b[0m\r\n\t" * 500, "😀👍🏻" * 1000, "江西路" + "1" * 4990 + "号",
     "6222 " * 1000, "我叫张三，" * 1000, "\n" * 5000, "　" * 5000],
)
def test_mask_for_disclosure_odd_input(text):
    masked = mask_for_disclosure(text, names=["张三"])
    assert isinstance(masked, str)
    assert mask_for_disclosure(masked, names=["张三"]) == masked
