import logging

import jieba
import pytest
from rapidfuzz import fuzz

from backend.similarity import most_similar, similarity

BBQ = "市北区辽宁路128号小区楼下的烧烤摊每天晚上营业到凌晨两点，油烟很大，噪音扰民，居民无法休息，希望有关部门尽快处理。"
BBQ_REWORDED = "辽宁路128号小区楼下烧烤店夜里一直开到凌晨2点，噪音和油烟严重影响我们休息，请城管部门管一管。"
BBQ_SHORT = "投诉辽宁路128号楼下烧烤摊，深夜经营到两点，油烟噪音扰民。"
SCHOOL = "我家孩子今年九月上小学，户口在市南区，想咨询一下学区划分和入学报名需要准备哪些材料。"
SCHOOL_REWORDED = "咨询：孩子户籍在市南区，今年秋季入学，学区怎么划分，报名要带哪些材料？"
WATER = "崂山区海尔路小区自来水发黄有异味，已经持续一周，担心饮水安全，请水务部门检测。"
WATER_REWORDED = "海尔路附近小区自来水最近一周颜色发黄还有怪味，不敢喝，请求水务集团来检测水质。"
BUS = "香港中路公交站台的顶棚破损，下雨天乘客没地方躲雨，希望尽快维修。"
LIGHTS = "我们小区的路灯坏了很久了，晚上出行很不方便，希望有关部门尽快处理。"
WAGES = "我在黄岛区某建筑工地打工，老板拖欠工资三个月共计两万元，多次讨要无果，请求劳动监察部门帮助追讨。"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (BBQ, BBQ_REWORDED),
        (BBQ, BBQ_SHORT),
        (BBQ_REWORDED, BBQ_SHORT),
        (SCHOOL, SCHOOL_REWORDED),
        (WATER, WATER_REWORDED),
    ],
)
def test_same_issue_reworded_scores_high(a, b):
    assert similarity(a, b) >= 0.6


@pytest.mark.parametrize(
    ("a", "b"),
    [(BBQ, SCHOOL), (BUS, WAGES), (WATER, SCHOOL), (BUS, LIGHTS), (WAGES, BBQ)],
)
def test_unrelated_scores_low(a, b):
    assert similarity(a, b) < 0.4


def test_shared_boilerplate_does_not_make_letters_alike():
    # Both end in "希望有关部门尽快处理", about different things.
    assert similarity(LIGHTS, BBQ) < 0.4


def test_a_few_words_contained_in_a_long_letter_is_not_a_duplicate():
    # Plain token_set_ratio calls any subset a perfect match.
    assert fuzz.token_set_ratio("噪音", " ".join(jieba.lcut(BBQ))) == 100
    assert similarity("噪音", BBQ) < 0.4


def test_identical_up_to_punctuation_width_and_boilerplate():
    assert similarity(BBQ, BBQ) == pytest.approx(1.0)
    assert similarity(
        "辽宁路128号烧烤摊油烟扰民，希望有关部门尽快处理！", "辽宁路１２８号烧烤摊油烟扰民。"
    ) == pytest.approx(1.0)


def test_symmetric_and_bounded():
    for a, b in [(BBQ, BBQ_SHORT), (BUS, WAGES), (SCHOOL, SCHOOL_REWORDED)]:
        score = similarity(a, b)
        assert 0.0 <= score <= 1.0
        assert similarity(b, a) == pytest.approx(score)


def test_no_content_words_scores_zero():
    assert similarity("", BBQ) == 0.0
    assert similarity("希望有关部门尽快处理！谢谢。", BBQ) == 0.0


CANDIDATES = [
    ("L-school", SCHOOL),
    ("L-bbq-1", BBQ_REWORDED),
    ("L-bus", BUS),
    ("L-bbq-2", BBQ_SHORT),
    ("L-lights", LIGHTS),
    ("L-wages", WAGES),
]


def test_most_similar_finds_the_duplicates_best_first():
    hits = most_similar(BBQ, CANDIDATES)
    assert [key for key, _ in hits] == ["L-bbq-2", "L-bbq-1"]
    assert hits[0][1] >= hits[1][1] >= 0.6


def test_most_similar_threshold_and_limit():
    assert most_similar(BBQ, CANDIDATES, threshold=0.99) == []
    assert [key for key, _ in most_similar(BBQ, CANDIDATES, limit=1)] == ["L-bbq-2"]
    assert most_similar(BBQ, CANDIDATES, limit=0) == []
    everything = most_similar(BBQ, CANDIDATES, threshold=0.0, limit=10)
    assert len(everything) == len(CANDIDATES)
    assert [score for _, score in everything] == sorted((s for _, s in everything), reverse=True)
    assert most_similar(BBQ, []) == []


def test_most_similar_ties_keep_input_order():
    hits = most_similar(BUS, [(2, BUS), (1, BUS), (3, WAGES)])
    assert hits == [(2, pytest.approx(1.0)), (1, pytest.approx(1.0))]


def test_jieba_is_quiet():
    assert jieba.default_logger.getEffectiveLevel() >= logging.WARNING
