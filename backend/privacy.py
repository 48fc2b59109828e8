"""Masking personal data for public disclosure (公开答复) and logs.

Rules: names keep their first character; mobiles keep the first 3 and last 4 digits
(138****5678); landlines keep the area code and last 4 digits (0532-****6666); ID card numbers
keep the first 4 and last 4 characters (3702**********123X), hiding birth date and county.
Separators and the length of the original are kept, so masked text still reads naturally.

`mask_text` finds these numbers inside free text. The patterns need number boundaries (no digit
or letter right before or after) so that dates (2026年11月22日), amounts, postcodes and order
numbers pass unchanged; over-masking an 11-digit number that looks like a mobile is accepted.
It is also safe for logs: it touches nothing but ID and phone numbers.

`mask_for_disclosure` is for text published to the public (a letter and its reply). Besides what
`mask_text` masks it hides what else a person can be found by, each masked character becoming one
'*' (so the result is idempotent: no pattern matches its own output):

- names of private persons: the writer's own name wherever it occurs, and names found by their
  context (我叫/我是/本人/姓名, 联系人/经办人/投诉人…, a title after the name such as 同志/先生/
  师傅, "张三：您好", and the signature line). Masked like `mask_name` (张三 → 张*, 欧阳娜娜 →
  欧***), and a name found once is masked everywhere in the text. A bare surname is kept: 本人姓张,
  张先生, 李女士, 王师傅 identify nobody and read naturally; 张三先生 → 张*先生. Patterns find
  Han names of 2–4 characters (a common single or compound surname plus one or two characters)
  and never a word of `_NOT_NAMES` (谢谢, 安全, 江苏…) or 王家/李氏 (a family). A name elsewhere in
  the text without such a context (邻居张三经常…) is not found: the centre reviews before publishing;
- street addresses: the numbers of house, building, unit, floor and room (号、号楼、栋、幢、座、
  单元、层、楼、室、户、弄) after a road/community name, or any chain that names a building or a
  room: 江西路18号3号楼2单元501室 → 江西路**号*号楼*单元***室; names of roads and communities
  stay. A lone 22号 / 28层 / 3户 / 3室2厅 is not an address (dates, heights, counts, layouts);
- e-mail: the local part but its first character (zhangsan@qq.com → z*******@qq.com); the domain
  is kept (it is mostly a public mail provider and tells the reader it was an address);
- WeChat ids after 微信/微信号/wx/vx/WeChat (first character kept) and raw wxid_… (prefix kept);
- QQ numbers after QQ/qq号/扣扣: first digit and last two kept (QQ：123456789 → QQ：1******89);
- car plates: province and city letter and the last character kept (鲁B12345 → 鲁B****5);
- bank cards: 16–19 digits (grouped by 4 or not) passing the Luhn check, or 12–22 digits after
  银行卡/卡号/账号/账户: first 4 and last 4 digits kept (6222 **** **** ***0 123).

Left alone: dates and times, amounts, service numbers (12345, 96166, 400-…), postcodes, tracking
and order numbers, road/district/department names, legal citations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME_SEPARATORS = frozenset(" ·•・.-'")

# An 18-digit resident ID: region, plausible birth date, sequence, check digit.
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])"
)
# Mainland mobile, optionally +86 / 0086 / (+86), grouped 3-4-4 with spaces or dashes.
_MOBILE = re.compile(
    r"(?<![\d+])(?:\(?(?:\+|00)?86\)?[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)"
)
# Landline with area code: 010 / 02x / 0xxx, local number of 7-8 digits starting 2-8,
# optional extension (kept visible).
_LANDLINE = re.compile(
    r"(?<!\d)(?P<main>\(?0\d{2,3}\)?[ \-]?[2-8]\d{2,3}[ \-]?\d{4})"
    r"(?P<ext>(?:-|转|分机)\d{1,6})?(?!\d)"
)
# A bare local number is only recognised right after a phone keyword: alone, 8 digits could
# be a date (20261122) or an amount.
_LOCAL_AFTER_KEYWORD = re.compile(
    r"(?P<kw>(?:电话|座机|固话|tel|Tel|TEL)[:：是为 ]*)(?P<num>[2-8]\d{2,3}[ \-]?\d{4})(?!\d)"
)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***, John Smith → J*** *****; a one-character name → *."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "".join(c if c in _NAME_SEPARATORS else "*" for c in name[1:])


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678, +86 138 1234 5678 → +86 138 **** 5678,
    0532-88886666 → 0532-****6666. Anything else: all digits but the last 4 are masked.
    """
    phone = phone.strip()
    if _MOBILE.fullmatch(phone):
        return _mask_mobile(phone)
    landline = _LANDLINE.fullmatch(phone)
    if landline:
        return _mask_landline(landline)
    return _mask_digits(phone, keep_head=0, keep_tail=4)


def mask_id_card(text: str) -> str:
    """Mask every 18-digit ID card number in `text` (370202199001011234 → 3702**********1234)."""
    return _ID_CARD.sub(lambda m: m.group()[:4] + "*" * 10 + m.group()[-4:], text)


def mask_text(text: str) -> str:
    """Mask ID card numbers, mobiles and landlines inside free text; leave other numbers alone."""
    text = mask_id_card(text)
    text = _MOBILE.sub(lambda m: _mask_mobile(m.group()), text)
    text = _LANDLINE.sub(_mask_landline, text)
    return _LOCAL_AFTER_KEYWORD.sub(
        lambda m: m.group("kw") + _mask_digits(m.group("num"), keep_head=0, keep_tail=4), text
    )


def mask_for_disclosure(text: str, *, names: Iterable[str] = ()) -> str:
    """Mask everything a person can be found by in text published to the public: what `mask_text`
    masks, plus names of private persons, house/building/room numbers, e-mail addresses, WeChat
    ids, QQ numbers, car plates and bank cards (rules in the module docstring).

    `names` are names known to belong to private persons (the writer's own name): each one of
    two characters or more is masked wherever it occurs, also inside longer words.
    """
    if not text:
        return text
    found = {n.strip() for n in names if isinstance(n, str) and len(n.strip()) >= 2}
    found.update(_names_in(text))
    text = _mask_names(text, found)
    text = _EMAIL.sub(lambda m: _keep_first(m.group("local")) + m.group("domain"), text)
    text = mask_id_card(text)
    text = _BANK_AFTER_KEYWORD.sub(lambda m: m.group("kw") + _mask_digits(m.group("num"), 4, 4), text)
    text = mask_text(text)
    text = _BANK_CARD.sub(_mask_bare_bank_card, text)
    text = _WXID.sub(lambda m: "wxid_" + "*" * (len(m.group()) - 5), text)
    text = _WECHAT_AFTER_KEYWORD.sub(lambda m: m.group("kw") + _keep_first(m.group("id")), text)
    text = _QQ_AFTER_KEYWORD.sub(lambda m: m.group("kw") + _mask_digits(m.group("num"), 1, 2), text)
    text = _PLATE.sub(_mask_plate, text)
    return _ADDRESS.sub(_mask_address, text)


# --- names ------------------------------------------------------------------------------------

_HAN = "\u4e00-\u9fff"
# Common single surnames. Characters that are above all everyday words (成、时、全、和、明、国、
# 路、房、车、党、海、花、费、解、管…) are left out: they would turn 成都, 全体同志 or 车主 into names.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏"
    "吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎史陶贺毛郝顾龚邵"
    "万覃武钱戴严莫孔常汤康乔赖文施洪辛柯庄樊祝牛兰温葛邢柳甘殷靳章鲁岳翟詹申欧耿关焦俞左宁尚舒"
    "阮纪梅童凌毕单季裴霍涂苗谷盛曲翁冉骆蓝游柴蒙鲍喻祁蒲滕屈饶牟艾尤阳穆卓古吉缪简芦麦褚娄窦戚"
    "岑景宫卜冷晏席卫柏宗瞿桂佟臧闵苟邬卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘池邝匡鞠惠荆冀郁胥"
    "班储栗燕楚鄢谌奚粟冼蔺伊仝郜阚帅屠朴禹漆卿狄晋扈晁芮阙浦鹿邸雍辜裘亓邰赫杭逯茹亢嵇湛戎茅尉檀"
    "昝尧聂颜倪齐易伍庞"
)
_COMPOUND_SURNAMES = (
    "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木|南宫|独孤|呼延|轩辕|"
    "澹台|濮阳|申屠|钟离|万俟|赫连|拓跋|完颜|纳兰|闻人|淳于"
)
# Words that follow a surname as a title. Kept as they are: 张先生 stays, 张三先生 → 张*先生.
_TITLES = (
    "同志|先生|女士|小姐|师傅|老师|同学|大爷|大妈|大娘|大姐|大哥|大叔|阿姨|叔叔|伯伯|奶奶|爷爷|老人|老太|"
    "太太|夫妇|一家|书记|主任|局长|处长|科长|所长|站长|队长|院长|校长|村长|组长|社长|经理|主席|部长|市长|"
    "区长|县长|镇长|乡长|警官|律师|医生|大夫|会计|老板|总"
)
# Words that end a name: what typically follows a name in a letter.
_AFTER_WORDS = "家住|住在|现住|居住|住址|今年|年龄|身份证|电话|手机|联系|反映|投诉|举报|敬上|谨上|拜上|叩首|敬启|敬礼"
# Characters that may follow a name (and some may also be inside one, 和 in 王和平).
_AFTER_CHARS = "的了在是和与及等也都就还又再已曾将从向对于给把被让说称讲问想要望希请能会可该应因为所但而或住家今现男女年岁系电手联身性反投举诉表同先老师大小阿"
# Characters (almost) never in a given name, mostly the ends of everyday words (居民区、车主、
# 党员、楼下…): a candidate containing one is not a name.
_NOT_GIVEN = (
    "的了着过在是与及或等也都就还又再很太最更我你他她它您们这那哪谁啥么吗呢吧啊呀哦嘛从把被给让说问"
    "想要会能可该请因所以但而且如虽即于到去上下里外内前后年月日时点分秒岁个位次块米辆人员者户主区"
    "市省县镇乡村路街道巷号楼层室栋幢局委部厅处科办所站队院会司署厂校店园场组级类型款已曾没不未无"
    "非住今现电手联身性男女姓叫称系址某台间门口面灯来工警"
)
_GIVEN_CHAR = rf"(?!{_TITLES}|{_AFTER_WORDS})(?![{_NOT_GIVEN}])[{_HAN}]"
# A name: a surname and one or two more characters (compound surnames first: 欧阳娜娜).
_NAME = rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])(?:{_GIVEN_CHAR}){{1,2}}"
# What may come right after a name: not another Han character, unless a title, an after-word or
# an after-character. 我叫张三今年45岁 → 张三; 我是高中生 → nothing (生 is no boundary after 高中).
_NAME_END = rf"(?={_TITLES}|{_AFTER_WORDS}|[{_AFTER_CHARS}]|[^{_HAN}]|$)"

# Self-introduction and labels before a name: 我叫张三, 我是张三, 本人张三 (not 本人于…), 姓名：张三,
# 联系人：张三, 经办人 李四, 投诉人王五, 邻居李四…; 业主/户主/房主 only with a colon (业主安全 is a phrase).
_NAME_AFTER_LABEL = re.compile(
    r"(?:我叫|我名叫|名叫|我的名字(?:是|叫)|本人(?:名叫|叫|是)?(?!于)|我是(?!于)|姓名(?:是|为)?[:：]?|"
    r"(?:署名|落款|签名)[:：]?|尊敬的|"
    r"(?:联系人|经办人|承办人|负责人|办理人|收件人|申请人|投诉人|举报人|反映人|来信人|写信人|当事人|委托人|"
    r"代理人|监护人|被投诉人|被举报人|经营者|摊主|店主|车主|房东|租户|邻居|老板)[:：]?|(?:业主|户主|房主)[:：])"
    rf"[ \t\u3000]*(?P<name>{_NAME}){_NAME_END}"
)
# A name right before a title: 张三同志, 王五师傅, 李娜女士 (张先生 has no given name: left alone).
_NAME_BEFORE_TITLE = re.compile(rf"(?P<name>{_NAME})(?={_TITLES})")
# A greeting at the start of a line, in replies: 张三：您好 / 张三同志：您好.
_NAME_IN_GREETING = re.compile(
    rf"^[ \t\u3000]*(?P<name>{_NAME})(?:{_TITLES})?[ \t]*[:：]\s*(?:您好|你好)", re.MULTILINE
)
# The signature (落款): a name alone on the last line (or after the last sentence of it), maybe after
# a dash or 市民/居民…, maybe followed by 敬上; a date or phone number after it is cut off first.
_SIGNATURE = re.compile(
    r"[\s—\-－~～_]*(?:(?:市民|居民|业主|村民|群众|网友|来信人|反映人|投诉人|举报人|署名|落款|签名)[:：]?\s*)?"
    rf"(?P<name>{_NAME})\s*(?:敬上|谨上|拜上|叩首|敬启|上)?[\s。.!！]*"
)
# What may trail a signature: dates, phone numbers (maybe masked), their labels and punctuation.
# A run of digits is matched whole ((?!\d)), so a failing match never backtracks through it.
_SIGNATURE_TRAILER = re.compile(
    r"(?:[\s,，、:：;；。.!！()（）\-—/*+~～]|联系电话|电话|手机|联系方式|\d+(?!\d)\s*[年月日号]?)*$"
)
_SENTENCE_END = re.compile(r"[。！？!?]")
# Everyday words and place names that look like a surname plus one or two characters.
_NOT_NAMES = frozenset(
    "谢谢 谢谢您 祝好 万谢 万分 万元 万一 辛苦 高中 高中生 初中生 高度 高层 高温 高速 高峰 高铁 高考 高兴 "
    "高空 高压 安全 安静 安置 安排 安装 安心 安宁 安徽 方便 方面 方式 方法 方案 方向 关注 关心 关系 关闭 "
    "关键 关爱 文明 文化 文件 文字 白天 白色 金额 任何 任务 常年 常常 余下 夏天 夏季 毕业 卫生 尤其 简单 "
    "迟迟 巩固 凌晨 施工 申报 申诉 焦虑 莫名 华为 冷静 严重 严格 严禁 严肃 陆续 郑重 健康 康复 齐全 "
    "宁静 周边 周末 周围 周一 周二 周三 周四 周五 周六 周日 钱款 钱财 孙子 孙女 曾经 顾客 游客 "
    "江苏 江西 甘肃 宁夏 吉林 苏州 武汉 温州 杭州 黄山 李沧 黄岛 蒙古 秦皇岛 石家庄 张家口".split()
)


# Further names in a list after a label: 申请人赵六、李七和王八.
_MORE_NAMES = re.compile(rf"[、和与及][ \t]*(?P<name>{_NAME}){_NAME_END}")


def _is_name(candidate: str) -> bool:
    # 王家 / 李氏 is a family, not a person (王家的儿媳); the listed words are everyday words.
    return candidate not in _NOT_NAMES and not (len(candidate) == 2 and candidate[1] in "家氏")


def _names_in(text: str) -> set[str]:
    """Names of private persons recognised by their context."""
    found = set()
    for match in _NAME_AFTER_LABEL.finditer(text):
        found.add(match.group("name"))
        end = match.end()
        while more := _MORE_NAMES.match(text, end):
            found.add(more.group("name"))
            end = more.end()
    for pattern in (_NAME_BEFORE_TITLE, _NAME_IN_GREETING):
        found.update(m.group("name") for m in pattern.finditer(text))
    signature = _signature_name(text)
    if signature:
        found.add(signature)
    return {name for name in found if _is_name(name)}


def _signature_name(text: str) -> str | None:
    """The name in the signature: the last line that is not only a date or a phone number (and of
    that line, what follows its last sentence), without the date or phone after the name."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][-4:]
    while lines and len(lines[-1]) <= 40 and not _strip_signature_trailer(lines[-1]):
        lines.pop()
    if not lines:
        return None
    last = _SENTENCE_END.split(lines[-1].rstrip(" \t\u3000。！？!?.…"))[-1]
    if len(last) > 40:
        return None
    match = _SIGNATURE.fullmatch(_strip_signature_trailer(last))
    return match.group("name") if match else None


def _strip_signature_trailer(line: str) -> str:
    """张三 2026年11月22日 → 张三, 张三，138****5678。 → 张三; 年月日号 are only cut after digits, so
    王月 stays whole."""
    trailer = _SIGNATURE_TRAILER.search(line)  # always found: the pattern matches "" at the end
    return line[:trailer.start() if trailer else len(line)].rstrip()


def _mask_names(text: str, names: set[str]) -> str:
    if not names:
        return text
    # One alternation, longest first, so 张三丰 is masked as a whole before 张三 is tried.
    pattern = re.compile("|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: mask_name(m.group()), text)


# --- e-mail, bank cards, WeChat, QQ ------------------------------------------------------------

# An e-mail address: the local part is masked but its first character, the domain kept.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]*)"
    r"(?P<domain>@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
)
# 12–22 digits (any grouping by spaces or dashes) after a bank keyword: 银行卡号：6222 0212 3456 7890.
_BANK_AFTER_KEYWORD = re.compile(
    r"(?P<kw>(?:银行卡|银行账户|银行帐户|银行账号|银行帐号|收款账户|收款账号|卡号|账号|帐号|账户|帐户)"
    r"(?:号码|号)?[:：是为\s]*)(?P<num>\d(?:[ \-]?\d){11,21})(?!\d)"
)
# 16–19 digits, in groups of four or not, without a keyword: masked only if the Luhn check passes
# and no order/tracking keyword precedes (see _mask_bare_bank_card). Dates, amounts, tracking
# numbers (XJ-20261122-000123) have fewer digits.
_BANK_CARD = re.compile(r"(?<![0-9A-Za-z*])\d{4}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?(?![0-9A-Za-z*])")
_NOT_A_CARD_BEFORE = re.compile(r"(?:订单|单号|编号|流水号|工单|批号|序号|批次|条码|快递)[号码]?[:：\s]*$")
# A raw WeChat internal id anywhere: wxid_ab12cd34 → wxid_********.
_WXID = re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_\-]{4,30}(?![A-Za-z0-9_\-])")
# A WeChat id (6–20 letters, digits, _ or -) after a WeChat keyword: 微信号：abc_123 → a******.
# Han text after the keyword (微信公众号, 微信同手机号) is not an id and stays.
_WECHAT_AFTER_KEYWORD = re.compile(
    r"(?P<kw>(?<![A-Za-z])(?:微信|威信|薇信|[vV]信|[wW][xX]|[vV][xX]|[wW]e[cC]hat|weixin)(?:号码?|ID|id)?"
    r"[ \t]*(?:[:：=]|是|为)?[ \t]*)(?P<id>[A-Za-z0-9][A-Za-z0-9_\-]{4,19})(?![A-Za-z0-9_\-])"
)
# A QQ number (5–12 digits) after QQ / qq号 / 扣扣: first digit and last two kept.
_QQ_AFTER_KEYWORD = re.compile(
    r"(?P<kw>(?<![A-Za-z])(?:QQ|qq|Qq|扣扣)(?:号码?|群)?[ \t]*(?:[:：=]|是|为)?[ \t]*)(?P<num>[1-9]\d{4,11})(?!\d)"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mask_bare_bank_card(match: re.Match[str]) -> str:
    number = match.group()
    digits = re.sub(r"\D", "", number)
    if not 16 <= len(digits) <= 19 or not _luhn(digits):
        return number
    if _NOT_A_CARD_BEFORE.search(match.string[max(0, match.start() - 8):match.start()]):
        return number
    return _mask_digits(number, 4, 4)


def _keep_first(value: str) -> str:
    return value[0] + "*" * (len(value) - 1)


# --- car plates ---------------------------------------------------------------------------------

# A plate: province, city letter, optional separator, 5 characters (6 for new-energy plates, 鲁B·D12345),
# or 4 and 学/警/挂…; at least one digit. 鲁B12345 → 鲁B****5, 京A 12345 → 京A ****5.
_PLATE = re.compile(
    r"(?P<head>[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Za-hj-np-z][·•・.\- ]?)"
    r"(?P<tail>(?=[A-Za-z]*\d)(?:[A-Za-z0-9]{5,6}|[A-Za-z0-9]{4}(?=[挂学警港澳领试超])))(?![0-9A-Za-z])"
)


def _mask_plate(match: re.Match[str]) -> str:
    return match.group("head") + _keep_last(match.group("tail"))


def _keep_last(value: str) -> str:
    return "*" * (len(value) - 1) + value[-1]


# --- street addresses ---------------------------------------------------------------------------

# The end of a road or community name (one Han character and the suffix) before a house or building
# number: 江西路18号, 海信花园5号楼, 张家村3号. Single
# characters that end everyday words (道 in 知道, 里 in 家里, 园 in 幼儿园, 城 in 进城) are left out,
# so 知道3号那天 stays a date.
_ADDRESS_ANCHOR = (
    rf"[{_HAN}](?:路|街|大街|大道|巷|弄|胡同|村|庄|屯|小区|花园|家园|嘉园|公寓|新村|社区|广场|大厦|山庄|苑|"
    r"里弄)"
)
# A number of a house, building or room: 18, 3A, B (a lone letter: B座), 18-1.
_ADDRESS_NUM = r"(?:\d+[A-Za-z]?|[A-Za-z](?![A-Za-z]))(?:-\d+[A-Za-z]?)*"
# A unit word; 号 not in 号线/号窗口/号文件/号令/号码/号机/号台/号字/号称/号召, 栋/幢 not in 5栋楼 (a count).
_ADDRESS_UNIT = r"号楼|号院|号(?![线窗文令码机台字称召])|栋(?!楼|房)|幢(?!楼|房)|座|单元|层|楼|室|户|弄"
_ADDRESS_PIECE = (
    rf"{_ADDRESS_NUM}(?:{_ADDRESS_UNIT})"
    r"|(?<!第)[一二三四五六七八九十]{1,3}(?:号楼|号院|单元)"  # 三号楼二单元 (not 第三单元)
    r"|\d{1,3}(?:-\d{1,4}){1,2}(?![\d\-])"  # 3-2-501 (building-unit-room); 2026-11-22 has 4 digits first
)
# Pieces in a row, maybe a final bare room number (2单元501). Masked when anchored (江西路18号) or when
# the chain has two pieces or names a building, unit or room of three digits (3号楼, 501室); see
# _mask_address. The lookbehind keeps a chain from starting inside a number or a masked number.
_ADDRESS = re.compile(
    rf"(?P<anchor>{_ADDRESS_ANCHOR})?(?<![0-9A-Za-z*\-第])"
    rf"(?P<chain>(?:{_ADDRESS_PIECE})(?:[ \t]?(?:{_ADDRESS_PIECE}))*)"
    r"(?P<tail>\d{2,5}(?![\d*A-Za-z.:：年月日号时点分元万岁度%]))?"
)
_ADDRESS_PIECES = re.compile(_ADDRESS_PIECE)
_STRONG_PIECE = re.compile(r"号楼|号院|栋|幢|单元|\d{3,}[A-Za-z]?室")


def _mask_address(match: re.Match[str]) -> str:
    anchor, chain, tail = match.group("anchor") or "", match.group("chain"), match.group("tail") or ""
    pieces = len(_ADDRESS_PIECES.findall(chain)) + bool(tail)
    if not (anchor or pieces >= 2 or _STRONG_PIECE.search(chain)):
        return match.group()
    return anchor + re.sub(r"[\dA-Za-z一二三四五六七八九十]", "*", chain + tail)


# --- digits -------------------------------------------------------------------------------------

def _mask_mobile(number: str) -> str:
    country_code = sum(c.isdigit() for c in number) - 11
    return _mask_digits(number, keep_head=country_code + 3, keep_tail=4)


def _mask_landline(match: re.Match[str]) -> str:
    main = match.group("main")
    digits = re.sub(r"\D", "", main)
    area = 3 if digits[1] in "12" else 4  # 010 and 02x are the only 3-digit area codes
    return _mask_digits(main, keep_head=area, keep_tail=4) + (match.group("ext") or "")


def _mask_digits(text: str, keep_head: int, keep_tail: int) -> str:
    """Replace digits by '*', except the first `keep_head` and last `keep_tail` digits."""
    total = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            if keep_head < seen <= total - keep_tail:
                c = "*"
        out.append(c)
    return "".join(out)
