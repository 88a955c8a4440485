"""Free-text scrubbing: personal data in any common shape is replaced, ordinary numbers are not."""

import re
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.anonymize import (
    PLACEHOLDER_BANK_CARD,
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_ID_NUMBER,
    PLACEHOLDER_LANDLINE,
    PLACEHOLDER_MOBILE,
    PLACEHOLDER_PLATE,
    PLACEHOLDER_STAFF,
    PLACEHOLDERS,
    scrub,
)

# --- independent generators (written from the standards, not from the code under test) ---------


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 states it: weights 2^(i-1) mod 11, check = (12 - S mod 11) mod 11."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    check = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    return "X" if check == 10 else str(check)


def luhn_check_digit(payload: str) -> str:
    """Digit that makes payload + digit Luhn-valid."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # these get doubled once the check digit is appended
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


def id_ok(number: str) -> bool:
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[0] in "12345678" and id_check_char(number[:17]) == number[17].upper()


areas = st.builds(
    lambda first, rest: f"{first}{rest:05d}", st.integers(1, 8), st.integers(0, 99999)
)
birth_dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31))
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


@st.composite
def resident_ids(draw):
    first17 = draw(areas) + draw(birth_dates).strftime("%Y%m%d") + draw(sequences)
    return first17 + id_check_char(first17)


@st.composite
def old_resident_ids(draw):
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    return draw(areas) + birth.strftime("%y%m%d") + draw(sequences)


@st.composite
def bank_cards(draw):
    length = draw(st.sampled_from([16, 17, 18, 19]))
    body = draw(st.sampled_from(["62", "4", "51"]))
    body += "".join(str(draw(st.integers(0, 9))) for _ in range(length - 1 - len(body)))
    card = body + luhn_check_digit(body)
    assume(not (len(card) == 18 and id_ok(card)))  # that string would rightly be an ID number
    return card


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}", st.integers(3, 9), st.integers(0, 10**9 - 1)
)

FULLWIDTH = str.maketrans("0123456789+-()", "０１２３４５６７８９＋－（）")


def mobile_shapes(m: str) -> list[str]:
    """Twelve ways people write one mainland mobile number."""
    a, b, c = m[:3], m[3:7], m[7:]
    return [
        m,
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"{a}.{b}.{c}",
        f"+86{m}",
        f"+86 {a} {b} {c}",
        f"+86 {a}.{b}.{c}",
        f"+86-{a}-{b}-{c}",
        f"0086{m}",
        f"0086 {a} {b} {c}",
        f"86-{m}",
        f"(+86){m}",
        m.translate(FULLWIDTH),
        f"{a} {b} {c}".translate(FULLWIDTH),
    ]


SENTENCES = [
    "我的电话是{}，请尽快联系",
    "{}",
    "有问题打{}谢谢",
    "联系人：王先生 {} 。",
    "号码{}已经停机了吗？",
]


# --- personal data is replaced ----------------------------------------------------------------


@settings(max_examples=60)
@given(mobile=mobiles, sentence=st.sampled_from(SENTENCES))
def test_mobile_numbers_in_every_shape_are_replaced(mobile, sentence):
    for shape in mobile_shapes(mobile):
        assert scrub(sentence.format(shape)) == sentence.format(PLACEHOLDER_MOBILE), shape


@pytest.mark.parametrize(
    "shape",
    [
        "138 0013 8000",
        "138-0013-8000",
        "+86 138.0013.8000",
        "１３８００１３８０００",
        "013800138000",
        "8613800138000",
        "0086-138-0013-8000",
    ],
)
def test_mobile_shapes_from_the_brief_are_replaced(shape):
    assert scrub(f"他留的是{shape}啊") == f"他留的是{PLACEHOLDER_MOBILE}啊"


@pytest.mark.parametrize(
    "landline",
    [
        "010-12345678",
        "(0755)8765 4321",
        "0571-8888888",
        "（０７５５）８７６５４３２１",
        "021 6123 4567",
        "0755-8765-4321",
        "+86 10 1234 5678",
        "0086-755-87654321",
    ],
)
def test_landlines_with_area_codes_are_replaced(landline):
    assert scrub(f"办公室电话{landline}，工作日") == f"办公室电话{PLACEHOLDER_LANDLINE}，工作日"


@settings(max_examples=200)
@given(number=resident_ids(), sentence=st.sampled_from(SENTENCES))
def test_resident_id_numbers_with_valid_check_digit_are_replaced(number, sentence):
    assert scrub(sentence.format(number)) == sentence.format(PLACEHOLDER_ID_NUMBER)
    assert scrub(sentence.format(number.lower())) == sentence.format(PLACEHOLDER_ID_NUMBER)


@given(number=resident_ids())
def test_resident_id_written_in_groups_is_replaced(number):
    grouped = f"{number[:6]} {number[6:14]} {number[14:]}"
    assert scrub(f"身份证{grouped}。") == f"身份证{PLACEHOLDER_ID_NUMBER}。"


def test_known_resident_id_with_x_check_char_is_replaced():
    assert scrub("身份证号11010519491231002X，谢谢") == f"身份证号{PLACEHOLDER_ID_NUMBER}，谢谢"
    assert scrub("身份证号11010519491231002x") == f"身份证号{PLACEHOLDER_ID_NUMBER}"


@given(number=old_resident_ids())
def test_old_fifteen_digit_ids_are_replaced(number):
    assert scrub(f"老身份证{number}还能用吗") == f"老身份证{PLACEHOLDER_ID_NUMBER}还能用吗"


@given(number=resident_ids(), wrong=st.sampled_from("0123456789X"))
def test_eighteen_digits_failing_both_checks_are_left_alone(number, wrong):
    broken = number[:17] + wrong
    assume(wrong != number[17] and not luhn_ok(broken))
    assert scrub(f"编号{broken}") == f"编号{broken}"


@given(number=resident_ids())
def test_eighteen_digits_failing_id_check_but_passing_luhn_are_a_bank_card(number):
    check = luhn_check_digit(number[:17])
    assume(check != id_check_char(number[:17]))
    assert scrub(f"号码{number[:17]}{check}") == f"号码{PLACEHOLDER_BANK_CARD}"


@settings(max_examples=200)
@given(card=bank_cards(), separator=st.sampled_from(["", " ", "-"]))
def test_luhn_valid_bank_cards_are_replaced(card, separator):
    grouped = separator.join(card[i : i + 4] for i in range(0, len(card), 4))
    assert scrub(f"我的卡号是{grouped}，钱没到账") == f"我的卡号是{PLACEHOLDER_BANK_CARD}，钱没到账"


def test_luhn_invalid_long_number_is_not_a_bank_card():
    card = "6222021380012345678"
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert luhn_ok(card) != luhn_ok(broken)
    invalid = broken if luhn_ok(card) else card
    assert scrub(f"流水号{invalid}") == f"流水号{invalid}"


@pytest.mark.parametrize(
    "email",
    [
        "zhang.san@example.com",
        "li_si+survey@mail.gov.cn",
        "wang5@163.com",
        "13800138000@qq.com",
        "ｔｅｓｔ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    ],
)
def test_email_addresses_inside_chinese_sentences_are_replaced(email):
    assert scrub(f"请发到{email}谢谢") == f"请发到{PLACEHOLDER_EMAIL}谢谢"


@pytest.mark.parametrize(
    "plate",
    [
        "京A12345",
        "粤B·D12345",
        "沪A·1234学",
        "苏E 12345",
        "川A12345D",
        "浙a·f12345",
        "京Ａ１２３４５",
    ],
)
def test_licence_plates_are_replaced(plate):
    assert scrub(f"车牌{plate}的车占道") == f"车牌{PLACEHOLDER_PLATE}的车占道"


def test_several_kinds_in_one_message_each_get_their_placeholder():
    text = "我叫张三，电话13800138000，身份证11010519491231002X，邮箱a@b.cn，车京A12345。"
    assert scrub(text, extra_patterns=["张三"]) == (
        f"我叫{PLACEHOLDER_STAFF}，电话{PLACEHOLDER_MOBILE}，身份证{PLACEHOLDER_ID_NUMBER}，"
        f"邮箱{PLACEHOLDER_EMAIL}，车{PLACEHOLDER_PLATE}。"
    )


def test_id_ending_in_x_directly_followed_by_a_phone_is_caught_too():
    # the phone is found first; only once it is replaced does the X have a boundary after it
    assert scrub("11010519491231002X13800138000") == PLACEHOLDER_ID_NUMBER + PLACEHOLDER_MOBILE


def test_text_around_a_fullwidth_number_keeps_its_own_fullwidth_characters():
    assert scrub("电话：１３８００１３８０００（白天）") == f"电话：{PLACEHOLDER_MOBILE}（白天）"


# --- staff patterns -----------------------------------------------------------------------------


def test_staff_patterns_are_replaced_with_the_staff_placeholder():
    patterns = ["李局长", r"工号\d{6}", re.compile(r"[A-Z]{2}-\d{3}")]
    text = "李局长说工号123456的人负责，单号AB-123。"
    expected = f"{PLACEHOLDER_STAFF}说{PLACEHOLDER_STAFF}的人负责，单号{PLACEHOLDER_STAFF}。"
    assert scrub(text, extra_patterns=patterns) == expected


def test_staff_pattern_matches_fullwidth_digits_too():
    assert scrub("工号１２３４５６", extra_patterns=[r"工号\d{6}"]) == PLACEHOLDER_STAFF


def test_invalid_staff_pattern_raises_value_error_naming_it():
    bad = r"工号(\d+"
    with pytest.raises(ValueError, match="invalid scrub pattern") as raised:
        scrub("任何文字", extra_patterns=["张三", bad])
    assert repr(bad) in str(raised.value)


def test_staff_pattern_never_matches_inside_a_placeholder():
    once = scrub("电话13800138000", extra_patterns=["号"])
    assert once == f"电话{PLACEHOLDER_MOBILE}"
    assert scrub(once, extra_patterns=["号"]) == once


# --- ordinary text is left alone ----------------------------------------------------------------

ORDINARY = [
    "等了3个月才办好",
    "2026年的服务比去年好",
    "办证花了120元",
    "打了12345热线三次",
    "我打了12345",
    "第2次去才办成",
    "住在3栋2单元501室",
    "2026-11-27那天窗口没人",
    "给99.5分",
    "共128人参加",
    "排队1.5小时，13:30才叫到号",
    "满意度从85%升到92%",
    "2025-2026学年的学费",
    "一共去了3趟，每趟20公里",
    "电话打不通，12345也没人接",
    "编号A12345的窗口",
    "新版APP很好用",
    "去年12月至今年3月",
    "第1-3季度",
    "金额 1,000,000 元",
    "门牌号1号楼1单元101",
    "年龄60岁以上的老人",
    "版本v2.3.1有问题",
    "",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_are_left_untouched(text):
    assert scrub(text) == text


# --- properties ---------------------------------------------------------------------------------

pii_fragments = st.one_of(
    resident_ids(),
    old_resident_ids(),
    bank_cards(),
    mobiles.flatmap(lambda m: st.sampled_from(mobile_shapes(m))),
    st.sampled_from(
        ["010-12345678", "(0755)8765 4321", "a.b@example.com", "京A12345", "粤B·D12345"]
    ),
    st.sampled_from(PLACEHOLDERS),
)
noise = st.text(alphabet="0123456789０１２ Xx-.+()@ab京A我的电话，。", max_size=12)
messages = st.lists(st.one_of(pii_fragments, noise, st.text(max_size=8)), max_size=6).map("".join)


@settings(max_examples=300)
@given(text=messages)
def test_scrub_is_idempotent(text):
    once = scrub(text)
    assert scrub(once) == once


@settings(max_examples=100)
@given(text=messages)
def test_scrub_with_staff_patterns_is_idempotent(text):
    patterns = ["张三", r"ab\d", "号"]
    once = scrub(text, extra_patterns=patterns)
    assert scrub(once, extra_patterns=patterns) == once


@settings(max_examples=300)
@given(text=st.text().filter(lambda s: not any(c.isdigit() or c in "@＠" for c in s)))
def test_text_without_digits_or_at_signs_is_unchanged(text):
    assert scrub(text) == text


@settings(max_examples=100)
@given(number=resident_ids(), mobile=mobiles, card=bank_cards())
def test_scrubbed_text_contains_none_of_the_original_digits_runs(number, mobile, card):
    text = f"身份证{number}，手机{mobile[:3]} {mobile[3:7]} {mobile[7:]}，卡{card}。"
    scrubbed = scrub(text)
    assert not re.search(r"\d{4}", scrubbed), scrubbed


def test_the_test_id_checker_agrees_with_a_published_example():
    # guards the independent checker: a wrong one would make the generated cases meaningless
    assert id_ok("11010519491231002X")
    assert not id_ok("110105194912310021")
    assert not id_ok("110105194902300021")
