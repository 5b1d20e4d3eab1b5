import codecs

import pytest

from piclient.player.subtitles import (
    Cue,
    SubtitleError,
    convert,
    decode_text,
    detect_format,
    normalise,
    parse_subtitles,
    parse_timestamp,
    to_srt,
    to_webvtt,
)

SRT = (
    "1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i>, <b>mother</b>\r\n\r\n\r\n"
    # No number, a dot instead of a comma, and SRT position junk after the times.
    "00:00:03.000 --> 00:00:04,250 X1:100 X2:200\r\n{\\an8}<font color=\"#ffff00\">Up top</font>\r\n\r\n"
    "7\r\n00:00:05,000 --> 00:00:06,000\r\nTwo\r\nrows\r\n\r\n"
    "8\r\n00:01:07,5 --> 00:01:08,000\r\n1984\r\n"
)

SAMI = """<SAMI>
<HEAD>
<TITLE>봄날</TITLE>
<STYLE TYPE="text/css">
<!--
P { margin-left:8pt; margin-right:8pt; font-size:20pt; }
.ENCC { Name:English; lang:en-US; SAMIType:CC; }
.KRCC { Name:한국어; lang:ko-KR; SAMIType:CC; }
-->
</STYLE>
</HEAD>
<BODY>
<SYNC Start=1000><P Class=ENCC>Hello,<br>mother
<SYNC Start=1000><P Class=KRCC>엄마,<br>안녕하세요 &amp; 반가워요
<SYNC Start=2500><P Class=ENCC>&nbsp;
<SYNC Start=2500><P Class=KRCC>&nbsp;
<SYNC Start=4000><P Class=KRCC><font color="yellow">밥은</font>
  먹었니?
<SYNC Start="6000"><P Class=KRCC>고마워
<SYNC Start=60000><P Class=KRCC>끝
</BODY>
</SAMI>
"""


def test_it_reads_srt_with_crlf_comma_milliseconds_and_a_missing_number() -> None:
    assert parse_subtitles(SRT, "film.srt") == [
        Cue(1.0, 2.5, "Hello, mother"),
        Cue(3.0, 4.25, "Up top", top=True),
        Cue(5.0, 6.0, "Two\nrows"),
        Cue(67.5, 68.0, "1984"),  # a one-digit fraction is tenths, and a number-like last line is text
    ]


def test_a_cue_number_on_its_own_line_is_not_taken_for_text() -> None:
    text = "00:00:01,000 --> 00:00:02,000\n2001\n\n12\n00:00:03,000 --> 00:00:04,000\nnext\n"
    assert [c.text for c in parse_subtitles(text)] == ["2001", "next"]


def test_it_reads_webvtt_with_settings_notes_styles_and_hourless_times() -> None:
    text = (
        "WEBVTT - a film\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "NOTE a comment that mentions 00:00:01.000 times\nover two lines\n\n"
        "intro\n00:01.000 --> 00:02.000 position:10%,line-left align:left size:35%\n"
        "<v Mother>Hello &amp; <c.yellow>welcome</c></v>\n\n"
        "01:00:00.000 --> 01:00:01.500 line:0\n<00:00:00.500>karaoke &lt;3\n"
    )
    assert parse_subtitles(text) == [
        Cue(1.0, 2.0, "Hello & welcome"),
        Cue(3600.0, 3601.5, "karaoke <3", top=True),
    ]


def test_an_empty_webvtt_file_has_no_cues_but_is_not_an_error() -> None:
    assert parse_subtitles("WEBVTT\n\n") == []


def test_sami_in_cp949_picks_the_korean_class_and_ends_lines_at_blank_syncs() -> None:
    data = SAMI.encode("cp949")
    text = decode_text(data)
    assert text == SAMI
    assert parse_subtitles(text, "film.smi", language="ko") == [
        Cue(1.0, 2.5, "엄마,\n안녕하세요 & 반가워요"),
        Cue(4.0, 6.0, "밥은 먹었니?"),  # source line breaks are spaces in SAMI
        Cue(6.0, 16.0, "고마워"),  # no blank sync before the next line a minute later: cut at 10 s
        Cue(60.0, 70.0, "끝"),
    ]


def test_sami_picks_the_english_class_for_english() -> None:
    cues = parse_subtitles(SAMI, "film.smi", language="en")
    assert cues == [Cue(1.0, 2.5, "Hello,\nmother")]


def test_sami_without_a_language_takes_the_first_class_in_the_file() -> None:
    assert parse_subtitles(SAMI)[0].text == "Hello,\nmother"


def test_sami_class_names_are_matched_when_the_style_has_no_language() -> None:
    text = ("<SAMI><BODY>\n<SYNC Start=500><P Class=ENUSCC>Hi\n<SYNC Start=500><P Class=KOKRCC>안녕\n"
            "<SYNC Start=900><P Class=ENUSCC>&nbsp;<SYNC Start=900><P Class=KOKRCC>&nbsp;</BODY></SAMI>")
    assert parse_subtitles(text, language="ko-KR") == [Cue(0.5, 0.9, "안녕")]


def test_sami_without_classes_reads_every_sync() -> None:
    text = "<sami><body><sync start=0>하나<sync start=1000>&nbsp;<sync start=2000>둘<sync start=3000></body>"
    assert parse_subtitles(text) == [Cue(0.0, 1.0, "하나"), Cue(2.0, 3.0, "둘")]


def test_srt_in_utf16_le_with_a_bom_is_decoded() -> None:
    data = codecs.BOM_UTF16_LE + "1\r\n00:00:01,000 --> 00:00:02,000\r\n할머니\r\n".encode("utf-16-le")
    assert parse_subtitles(decode_text(data)) == [Cue(1.0, 2.0, "할머니")]


def test_utf16_without_a_bom_is_recognised_by_its_nul_bytes() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\n할머니, 안녕하세요\n"
    assert decode_text(text.encode("utf-16-le")) == text
    assert decode_text(text.encode("utf-16-be")) == text


def test_utf8_with_a_bom_loses_the_bom() -> None:
    data = codecs.BOM_UTF8 + "WEBVTT\n\n00:01.000 --> 00:02.000\n안녕\n".encode()
    assert decode_text(data).startswith("WEBVTT")
    assert parse_subtitles(decode_text(data)) == [Cue(1.0, 2.0, "안녕")]


def test_utf32_with_a_bom_is_not_mistaken_for_utf16() -> None:
    data = codecs.BOM_UTF32_LE + "WEBVTT\n".encode("utf-32-le")
    assert decode_text(data) == "WEBVTT\n"


def test_euc_kr_and_cp949_only_hangul_decode_as_korean() -> None:
    assert decode_text("똠방각하".encode("cp949")) == "똠방각하"  # 똠 exists only in CP949, not EUC-KR
    assert decode_text("안녕하세요".encode("euc-kr")) == "안녕하세요"


def test_undecodable_bytes_fall_back_to_windows_1252_instead_of_failing() -> None:
    assert decode_text(b"caf\xe9 \xff") == "café ÿ"


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02garbage\xff\xfe" * 20, b"just some words\n",
                                  b"<html><body>404 Not Found</body></html>", bytes(range(256)) * 8])
def test_garbage_raises_subtitle_error(data: bytes) -> None:
    with pytest.raises(SubtitleError):
        convert(data, "film.srt")


def test_a_file_whose_lines_are_all_empty_raises_subtitle_error() -> None:
    with pytest.raises(SubtitleError):
        convert(b"1\n00:00:01,000 --> 00:00:02,000\n<i> </i>\n", "x.srt")


def test_format_is_detected_from_content_before_the_hint() -> None:
    assert detect_format("WEBVTT\n", "film.srt") == "vtt"
    assert detect_format("<SAMI><BODY><SYNC Start=1>", "film.srt") == "sami"
    assert detect_format("00:00:01,000 --> 00:00:02,000\nx\n", "https://x/film.SRT?sig=1") == "srt"
    assert detect_format("intro\n00:01.000 --> 00:02.000\nx\n", "https://x/subs/ko.vtt?t=1") == "vtt"
    assert detect_format("nothing here", "film.srt") is None
    assert detect_format("1\n00:00:01,000 --> 00:00:02,000\nx\n", "film.smi") == "srt"
    assert detect_format("garbage", "film.smi") is None


def test_timestamps_take_optional_hours_and_either_separator() -> None:
    assert parse_timestamp("01:02:03.250") == 3723.25
    assert parse_timestamp("02:03,5") == 123.5
    with pytest.raises(ValueError):
        parse_timestamp("soon")


def test_cues_are_sorted_and_empty_or_duplicate_ones_dropped() -> None:
    cues = [Cue(5, 6, "b"), Cue(1, 2, "a"), Cue(3, 4, "  "), Cue(1, 2, "a"), Cue(-3, -1, "gone")]
    assert normalise(cues) == [Cue(1, 2, "a"), Cue(5, 6, "b")]


def test_a_small_overlap_is_trimmed_and_a_deliberate_one_kept() -> None:
    small = normalise([Cue(1.0, 2.04, "a"), Cue(2.0, 3.0, "b")])
    assert small == [Cue(1.0, 2.0, "a"), Cue(2.0, 3.0, "b")]
    sign = normalise([Cue(1.0, 9.0, "GOVERNMENT OFFICE"), Cue(2.0, 3.0, "hello")])
    assert sign == [Cue(1.0, 9.0, "GOVERNMENT OFFICE"), Cue(2.0, 3.0, "hello")]


def test_the_same_line_repeated_with_overlapping_times_becomes_one_line() -> None:
    assert normalise([Cue(1.0, 2.0, "a"), Cue(1.5, 3.0, "a")]) == [Cue(1.0, 3.0, "a")]


def test_a_cue_with_its_end_before_its_start_still_shows_briefly() -> None:
    assert normalise([Cue(4.0, 3.0, "oops")]) == [Cue(4.0, 6.0, "oops")]


def test_webvtt_output_escapes_text_and_reparses_to_the_same_cues() -> None:
    cues = [Cue(1.0, 2.5, "a <b> & c --> d"), Cue(3661.001, 3662.0, "둘\n줄")]
    text = to_webvtt(cues)
    assert text.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\na &lt;b&gt; &amp; c --&gt; d\n")
    assert "01:01:01.001 --> 01:01:02.000\n둘\n줄\n" in text
    assert parse_subtitles(text) == cues


def test_srt_output_numbers_cues_and_reparses_to_the_same_cues() -> None:
    cues = [Cue(1.0, 2.5, "하나"), Cue(3.0, 4.0, "둘")]
    text = to_srt(cues)
    assert text.startswith("1\n00:00:01,000 --> 00:00:02,500\n하나\n\n2\n")
    assert parse_subtitles(text) == cues


def test_convert_turns_cp949_sami_into_utf8_webvtt() -> None:
    out = convert(SAMI.encode("cp949"), "https://example.invalid/film.smi", language="ko")
    assert out.startswith("WEBVTT\n")
    assert "00:00:01.000 --> 00:00:02.500\n엄마,\n안녕하세요 &amp; 반가워요\n" in out


# --- encodings, decided by evidence ---------------------------------------------------------------------

KOREAN_SRT = ("1\n00:00:01,000 --> 00:00:02,500\n엄마, 안녕하세요. 밥은 먹었니?\n\n"
              "2\n00:00:03,000 --> 00:00:04,000\n오늘은 날씨가 참 좋구나. 내일 다시 전화할게요.\n")


def test_an_english_srt_in_windows_1252_keeps_its_quotes_and_accents() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,500\nIt’s fine. Don’t worry — “really”… café\n"
    assert decode_text(text.encode("cp1252")) == text


def test_a_short_windows_1252_line_is_not_read_as_rare_korean_syllables() -> None:
    # 0x92 0x73 ("’s") is a valid CP949 pair: 뭩, a syllable no Korean sentence uses.
    text = "1\n00:00:01,000 --> 00:00:02,500\nIt’s fine.\n"
    assert decode_text(text.encode("cp1252")) == text


def test_german_in_windows_1252_is_not_taken_for_another_code_page() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,500\nSchöne Grüße aus München\n"
    assert decode_text(text.encode("cp1252")) == text


def test_one_stray_byte_in_a_utf8_korean_file_loses_only_that_byte() -> None:
    data = KOREAN_SRT.encode()
    damaged = data[:60] + b"\xff" + data[60:]
    text = decode_text(damaged)
    assert text.replace("\ufffd", "") == KOREAN_SRT
    assert text.count("\ufffd") == 1


def test_a_short_utf8_korean_line_with_a_bad_last_byte_is_still_korean() -> None:
    # A download cut in the middle of a character.
    data = "1\n00:00:01,000 --> 00:00:02,000\n안녕하세요".encode()[:-1]
    assert decode_text(data).startswith("1\n00:00:01,000 --> 00:00:02,000\n안녕하세")


def test_cp949_korean_reads_as_korean_even_a_single_word() -> None:
    assert decode_text(KOREAN_SRT.encode("cp949")) == KOREAN_SRT
    one_word = "1\n00:00:01,000 --> 00:00:02,000\n할머니\n"
    assert decode_text(one_word.encode("cp949")) == one_word


# --- SAMI comments --------------------------------------------------------------------------------------

COMMENTED_SAMI = """<SAMI><HEAD><STYLE TYPE="text/css"><!--
.KRCC { Name:한국어; lang:ko-KR; }
--></STYLE></HEAD>
<BODY>
<SYNC Start=1000><P Class=KRCC>안녕하세요
<!-- 번역자 메모: 아래 줄은 뺐음
<SYNC Start=1500><P Class=KRCC>지운 줄
-->
<SYNC Start=3000><P Class=KRCC>&nbsp;
<SYNC Start=4000><P Class=KRCC>밥은 <!-- 메모 --> 먹었니?
<SYNC Start=5000><P Class=KRCC>&nbsp;
</BODY></SAMI>
"""


def test_a_sync_inside_a_sami_comment_is_not_played_and_no_comment_marker_shows() -> None:
    assert parse_subtitles(COMMENTED_SAMI, "film.smi", language="ko") == [
        Cue(1.0, 3.0, "안녕하세요"),
        Cue(4.0, 5.0, "밥은 먹었니?"),
    ]


def test_a_sami_comment_that_is_never_closed_loses_only_its_marker() -> None:
    text = ("<SAMI><BODY><SYNC Start=1000><P Class=KRCC>하나 <!-- 닫히지 않은 메모\n"
            "<SYNC Start=2000><P Class=KRCC>둘\n<SYNC Start=3000><P Class=KRCC>&nbsp;</BODY></SAMI>")
    assert parse_subtitles(text, language="ko") == [Cue(1.0, 2.0, "하나 닫히지 않은 메모"), Cue(2.0, 3.0, "둘")]


def test_sami_class_languages_are_matched_as_language_tags() -> None:
    text = COMMENTED_SAMI.replace("lang:ko-KR", "lang:kor")
    assert parse_subtitles(text, language="ko-KR")[0] == Cue(1.0, 3.0, "안녕하세요")


# --- lines placed at the top ----------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "top"), [
    ("line:0", True), ("line:0,start align:center", True), ("position:50% line:3", True),
    ("line:10%", True), ("line:-1", False), ("line:85%", False), ("line:15", False), ("align:start", False),
    ("", False),
])
def test_a_webvtt_line_setting_in_the_upper_half_puts_the_cue_at_the_top(settings: str, top: bool) -> None:
    text = f"WEBVTT\n\n00:01.000 --> 00:02.000 {settings}\n표지판\n"
    assert parse_subtitles(text) == [Cue(1.0, 2.0, "표지판", top=top)]


@pytest.mark.parametrize(("tag", "top"), [("{\\an8}", True), ("{\\an7}", True), ("{\\an9}", True),
                                          ("{\\a6}", True), ("{\\pos(10,10)\\an8}", True), ("{\\an2}", False),
                                          ("{\\an5}", False), ("{\\a1}", False), ("{\\b1}", False)])
def test_an_srt_alignment_tag_in_the_top_row_puts_the_cue_at_the_top(tag: str, top: bool) -> None:
    text = f"1\n00:00:01,000 --> 00:00:02,000\n{tag}GOVERNMENT OFFICE\n"
    assert parse_subtitles(text, "signs.srt") == [Cue(1.0, 2.0, "GOVERNMENT OFFICE", top=top)]


def test_a_sign_at_the_top_and_dialogue_at_the_bottom_may_overlap() -> None:
    cues = normalise([Cue(1.0, 2.3, "은행", top=True), Cue(2.0, 3.0, "어서 와")])
    assert cues == [Cue(1.0, 2.3, "은행", top=True), Cue(2.0, 3.0, "어서 와")]


def test_files_with_a_line_at_the_top_go_to_mpv_as_srt_with_an8_and_others_as_webvtt() -> None:
    plain = convert(b"1\n00:00:01,000 --> 00:00:02,000\nhello\n", "a.srt")
    assert plain.startswith("WEBVTT\n")
    signs = convert(b"1\n00:00:01,000 --> 00:00:02,000\n{\\an8}BANK\n\n"
                    b"2\n00:00:01,500 --> 00:00:03,000\n<i>a</i> < b {not a tag} \\N\n", "a.srt")
    assert signs == ("1\n00:00:01,000 --> 00:00:02,000\n{\\an8}BANK\n\n"
                     "2\n00:00:01,500 --> 00:00:03,000\na < b \uff5bnot a tag\uff5d \uff3cN\n")
    assert parse_subtitles(signs) == [Cue(1.0, 2.0, "BANK", top=True),
                                      Cue(1.5, 3.0, "a < b \uff5bnot a tag\uff5d \uff3cN")]


def test_webvtt_output_keeps_a_top_cue_at_the_top() -> None:
    text = to_webvtt([Cue(1.0, 2.0, "BANK", top=True)])
    assert "00:00:01.000 --> 00:00:02.000 line:0\nBANK" in text
    assert parse_subtitles(text) == [Cue(1.0, 2.0, "BANK", top=True)]
