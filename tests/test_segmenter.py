"""The segmenter: same words as pyvi, spans into the input, long input, no temp files."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyvi import ViTokenizer

from clipsearch.text.segmenter import Segmenter, Word, get_segmenter, segment, tokenize_like_pyvi

# Sentences written for these tests, plus the examples of docs/architecture.md.
SENTENCES = [
    # The documented examples.
    "Hội nghị bàn về công tác văn phòng cấp ủy, đổi mới phương thức lãnh đạo.",
    "Hội nghị bàn về công tác văn phòng cấp uỷ, đổi mới phương thức lãnh đạo.",
    "Cấp ủy các cấp cần chủ động nắm tình hình.",
    "cấp ủy các cấp cần chủ động nắm tình hình.",
    "Nhân dân yêu hòa bình.",
    "Nhân dân yêu hoà bình.",
    "VĂN PHÒNG CẤP ỦY",
    "Trụ sở tại TP.HCM",
    "TP.HCM",
    "Ngày 1/8/2014, Bộ Chính trị họp.",
    "1/8/2014",
    "Ban Chấp hành T.Ư Đảng khoá XI.",
    "T.Ư",
    # E-mails, URLs, numbers, ellipses, underscores.
    "Liên hệ toà soạn qua thư điện tử bandoc@baomoi.com.vn hoặc ban.doc+tin@vnexpress.net nhé.",
    "Xem chi tiết tại https://vnexpress.net/thoi-su/bao-ve-rung_dau-nguon.html?id=12 và http://nhandan.vn.",
    "Dự án có tổng vốn 1.000.000 đồng, lãi suất 6,5% một năm và 2.500,75 USD phí.",
    "Giá xăng tăng 1_000 đồng, tức là 1,234,567 đồng mỗi lít...",
    "Chờ đợi... rồi lại chờ đợi... mãi không thấy...",
    "Tên biến văn_phòng_cấp_ủy được đặt sai, _ và __ cũng vậy_",
    # Ordinary press sentences.
    "Sáng nay, Thủ tướng Chính phủ đã chủ trì cuộc họp về phòng chống thiên tai.",
    "Ông Nguyễn Văn An, Chủ tịch UBND tỉnh Quảng Ngãi, cho biết mưa lũ đã làm sập 15 căn nhà.",
    "Bệnh viện Bạch Mai tiếp nhận hơn 200 ca sốt xuất huyết trong tuần qua!",
    "Học sinh trường THPT Chu Văn An đạt giải nhất cuộc thi khoa học kỹ thuật cấp quốc gia.",
    "Giá vàng hôm nay (12/3) giảm mạnh; nhiều người dân đổ xô đi bán.",
    "Thuỷ điện Hoà Bình xả lũ lần thứ ba ==> hạ du cần cảnh giác -> sơ tán >> ngay.",
    "Mr. Smith, Mrs. Brown, Ms. Lan, Dr. Hùng và ThS. Minh tham dự hội thảo ở Tp. Đà Nẵng.",
    "Đội tuyển Việt Nam thắng 3-0, HLV Park Hang-seo nói: “Chúng tôi rất vui”.",
    "Khoẻ mạnh, hoà nhã, tuỳ cơ ứng biến — đó là phẩm chất của người lính thuỷ.",
    "Khỏe mạnh, hòa nhã, tùy cơ ứng biến — đó là phẩm chất của người lính thủy.",
    "Quận 1\nQuận 3\n\nHuyện Củ Chi",
    "   khoảng trắng   ở   đầu và cuối   ",
    "“Trích dẫn” và 'nháy đơn' cùng [ngoặc vuông] {ngoặc nhọn} <thẻ>.",
    "Tỷ lệ lạm phát là 3,2%, GDP tăng 5.05% so với cùng kỳ năm 2022.",
    "",
    "   ",
    "!!!",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tokenize_like_pyvi(sentence: str) -> None:
    assert tokenize_like_pyvi(sentence) == ViTokenizer.tokenize(sentence)


@pytest.mark.parametrize("sentence", SENTENCES[:13])
def test_tokenize_like_pyvi_nfd(sentence: str) -> None:
    # pyvi NFC-normalises its input before segmenting; so must we.
    decomposed = unicodedata.normalize("NFD", sentence)
    assert tokenize_like_pyvi(decomposed) == ViTokenizer.tokenize(decomposed)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Hội nghị bàn về công tác văn phòng cấp ủy, đổi mới phương thức lãnh đạo.", "cấp ủy ,"),
        ("Hội nghị bàn về công tác văn phòng cấp uỷ, đổi mới phương thức lãnh đạo.", "cấp_uỷ ,"),
        ("Cấp ủy các cấp cần chủ động nắm tình hình.", "Cấp_ủy các"),
        ("Nhân dân yêu hoà bình.", "hoà_bình ."),
        ("VĂN PHÒNG CẤP ỦY", "VĂN_PHÒNG CẤP ỦY"),
        ("TP.HCM", "TP. HCM"),
        ("1/8/2014", "1 / 8 / 2014"),
        ("T.Ư", "T. Ư"),
        ("1.000.000 đồng", "1.000.000 đồng"),
        ("Chờ đợi...", "Chờ_đợi ..."),
    ],
)
def test_documented_segmentations(sentence: str, expected: str) -> None:
    assert expected in tokenize_like_pyvi(sentence)


# Letters (both tone placements), digits and the punctuation pyvi's patterns care about.
_VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
ALPHABET = _VIET + _VIET.upper() + "0123456789" + " " * 10 + "\n.,;:!?-/_@()“”'\"%>=<"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_tokenize_like_pyvi_random(text: str) -> None:
    assert tokenize_like_pyvi(text) == ViTokenizer.tokenize(text)


# fmt: off
WORDS = [
    "văn", "phòng", "cấp", "ủy", "uỷ", "Văn", "Phòng", "hòa", "hoà", "bình", "Nhân", "dân", "thành", "phố", "Hồ",
    "Chí", "Minh", "TP.HCM", "T.Ư", "1/8/2014", "1.000", "khỏe", "khoẻ", "mạnh", "Đảng", "ủy", "viên", "HÀ",
    "NỘI", "xã", "hội", "chủ", "nghĩa", ",", ".", "...", "?", "a@b.vn", "http://x.vn/a_b",
]
# fmt: on


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join))
def test_tokenize_like_pyvi_random_words(text: str) -> None:
    assert tokenize_like_pyvi(text) == ViTokenizer.tokenize(text)


# ---------------------------------------------------------------------------
# Spans


def check_spans(text: str, segments: list[Word]) -> None:
    """Each segment's span holds exactly its syllables, separated by nothing
    but whitespace (a newline can itself be a syllable); segments are in order; every non-space character of the
    text is in some segment."""
    covered = [False] * len(text)
    previous_end = 0
    for seg in segments:
        assert seg.syllables
        assert previous_end <= seg.start < seg.end <= len(text)
        assert text[previous_end : seg.start].strip() == ""
        pos = seg.start
        for syl in seg.syllables:
            # pyvi keeps "\n" as a syllable of its own; other whitespace separates.
            while pos < seg.end and not text.startswith(syl, pos) and text[pos].isspace():
                pos += 1
            assert text.startswith(syl, pos), (text[seg.start : seg.end], seg.syllables)
            covered[pos : pos + len(syl)] = [True] * len(syl)
            pos += len(syl)
        assert pos == seg.end
        previous_end = seg.end
    assert text[previous_end:].strip() == ""
    assert all(c or text[i].isspace() for i, c in enumerate(covered))


def test_spans_of_a_sentence() -> None:
    text = "Nhân dân  yêu hoà bình, văn phòng cấp uỷ ở TP.HCM."
    segs = segment(text)
    check_spans(text, segs)
    by_text = {s.text: text[s.start : s.end] for s in segs}
    assert by_text["Nhân_dân"] == "Nhân dân"
    assert by_text["hoà_bình"] == "hoà bình"
    assert by_text[","] == ","
    assert by_text["TP."] == "TP."
    assert by_text["HCM."] == "HCM."  # pyvi's abbreviation pattern [A-ZĐ]+\.
    assert " ".join(s.text for s in segs) == tokenize_like_pyvi(text)


@pytest.mark.parametrize("sentence", [s for s in SENTENCES if s.strip()])
def test_spans_of_sentences(sentence: str) -> None:
    segs = segment(sentence)
    check_spans(sentence, segs)
    # The span of a word, with `_` between its syllables, is the word pyvi prints.
    for seg in segs:
        if len(seg.syllables) > 1:
            assert "_".join(sentence[seg.start : seg.end].split()) == seg.text
    assert " ".join(s.text for s in segs) == tokenize_like_pyvi(sentence)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET + "\t\u00a0", max_size=80))
def test_spans_random(text: str) -> None:
    text = unicodedata.normalize("NFC", text)
    segs = segment(text)
    check_spans(text, segs)
    assert " ".join(s.text for s in segs) == (tokenize_like_pyvi(text) if segs else "")


def test_empty_input() -> None:
    assert segment("") == []
    assert segment("   \t ") == []


def test_segment_text_property() -> None:
    segs = segment("văn phòng")
    assert [s.text for s in segs] == ["văn_phòng"]
    assert segs[0].syllables == ("văn", "phòng")
    assert (segs[0].start, segs[0].end) == (0, 9)


# ---------------------------------------------------------------------------
# Long input

LONG_SENTENCES = [
    "Hội nghị toàn quốc về công tác văn phòng cấp uỷ đã kết thúc tại Hà Nội.",
    "Ông Lê Văn Bình phát biểu ý kiến chỉ đạo, nhấn mạnh việc đổi mới phương thức làm việc",
    "người dân các xã vùng sâu vùng xa được hỗ trợ 1.000.000 đồng mỗi tháng;",
    "giá xăng dầu tăng liên tục trong ba tuần qua",
]


def _long_text(n_syllables: int) -> str:
    parts: list[str] = []
    count = 0
    i = 0
    while count < n_syllables:
        sentence = LONG_SENTENCES[i % len(LONG_SENTENCES)]
        parts.append(sentence)
        count += len(sentence.split())
        i += 1
    return " ".join(parts)


def test_very_long_line() -> None:
    text = _long_text(20_000)
    assert "\n" not in text
    words = len(text.split())
    assert words >= 20_000
    segs = segment(text)
    check_spans(text, segs)
    n_syllables = sum(len(s.syllables) for s in segs)
    assert n_syllables >= words  # punctuation is a syllable of its own
    # pyvi joins some syllables into words, but not most and not none.
    assert words // 3 < len(segs) < n_syllables


def test_very_long_line_without_sentence_ends() -> None:
    text = " ".join(["văn phòng cấp uỷ tỉnh Quảng Ngãi"] * 3000)  # 21,000 syllables, no punctuation
    segs = segment(text)
    check_spans(text, segs)
    assert sum(len(s.syllables) for s in segs) == 21_000
    assert 21_000 // 3 < len(segs) < 21_000


def test_chunking_keeps_every_syllable() -> None:
    text = _long_text(3_000)
    whole = get_segmenter().segment(text, chunk=10**9)
    chunked = get_segmenter().segment(text, chunk=100)
    check_spans(text, chunked)
    assert [syl for s in whole for syl in s.syllables] == [syl for s in chunked for syl in s.syllables]
    # Chunks are cut after sentence ends, where pyvi never joins anyway.
    assert [s.text for s in chunked] == [s.text for s in whole]


# ---------------------------------------------------------------------------
# No temporary files


def test_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A private temporary directory, so that other processes writing to the
    # system one cannot make this test flaky.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert tempfile.gettempdir() == str(private)
    before = sorted(os.listdir(private))
    seg = Segmenter()
    assert [s.text for s in seg.segment("Nhân dân yêu hoà bình.")] == ["Nhân_dân", "yêu", "hoà_bình", "."]
    assert sorted(os.listdir(tempfile.gettempdir())) == before
    assert before == []


def test_get_segmenter_is_shared() -> None:
    assert get_segmenter() is get_segmenter()


CACHE_SAMPLE = "Văn phòng cấp ủy họp tại TP.HCM ngày 1/8/2014. Ông Nguyễn Văn A nói: hòa bình là trên hết."


def _words(segmenter: Segmenter) -> list[str]:
    return [s.text for s in segmenter.segment(CACHE_SAMPLE)]


def test_the_parsed_model_is_cached_and_segments_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = Segmenter()  # parses pyvi's files, writes the cache
    cached = list((tmp_path / "clipsearch").glob("pyvi-*.marshal"))
    assert len(cached) == 1
    second = Segmenter()  # reads the cache
    assert _words(second) == _words(first) == tokenize_like_pyvi(CACHE_SAMPLE).split()
    assert (second._bigrams.joined, second._trigrams.joined, second._state) == (
        first._bigrams.joined,
        first._trigrams.joined,
        first._state,
    )


def test_writing_a_cache_removes_only_stale_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from clipsearch.text.segmenter import STALE_CACHE_DAYS

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "clipsearch"
    folder.mkdir()
    stale, recent = folder / "pyvi-0000000000000000.marshal", folder / "pyvi-1111111111111111.marshal"
    other = folder / "notes.txt"
    for path in (stale, recent, other):
        path.write_bytes(b"x")
    long_ago = time.time() - (STALE_CACHE_DAYS + 1) * 86400
    for path in (stale, other):
        os.utime(path, (long_ago, long_ago))
    Segmenter()  # no cache of its own yet: parses pyvi's files and writes one
    left = sorted(p.name for p in folder.iterdir())
    assert stale.name not in left and recent.name in left and other.name in left
    assert len([name for name in left if name.startswith("pyvi-")]) == 2  # its own and the recent one


def test_a_damaged_cache_is_parsed_again_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    expected = _words(Segmenter())
    (cached,) = (tmp_path / "clipsearch").glob("pyvi-*.marshal")
    for damage in (b"", b"not marshal", cached.read_bytes()[:1000]):
        cached.write_bytes(damage)
        assert _words(Segmenter()) == expected
        assert cached.stat().st_size > 1000  # written again


def test_an_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _words(Segmenter()) == tokenize_like_pyvi(CACHE_SAMPLE).split()


def test_dictionary_searched_then_a_set_answers_the_same() -> None:
    from clipsearch.text.segmenter import DICTIONARY_SEARCHES, _Dictionary, _load_ngrams

    bigrams, _ = _load_ngrams()
    words = bigrams.strip("\n").split("\n")
    # not words: parts of words, words run together, words with their line ends
    others = [words[0][1:], words[1][:-1], f"{words[2]}\n{words[3]}", "", "văn", "phòng cấp", "\n"]
    dictionary = _Dictionary(bigrams)
    searched = dictionary.lookup(1)
    assert searched is dictionary  # a few lookups: the text is searched
    found = [w in searched for w in words[:40] + others]
    as_set = dictionary.lookup(DICTIONARY_SEARCHES)
    assert isinstance(as_set, frozenset) and len(as_set) == len(words)
    assert found == [w in as_set for w in words[:40] + others] == [True] * 40 + [False] * len(others)
    assert dictionary.lookup(1) is as_set  # from then on


@pytest.mark.parametrize("query", SENTENCES[:6])
def test_a_short_query_segments_as_pyvi_before_the_dictionary_is_a_set(query: str) -> None:
    fresh = Segmenter()
    assert " ".join(s.text for s in fresh.segment(query)) == ViTokenizer.tokenize(query)
    assert fresh._bigrams._set is None


def test_reading_a_cache_keeps_it_from_being_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from clipsearch.text.segmenter import STALE_CACHE_DAYS

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    Segmenter()  # writes the cache
    (cached,) = (tmp_path / "clipsearch").glob("pyvi-*.marshal")
    long_ago = time.time() - (STALE_CACHE_DAYS + 1) * 86400
    os.utime(cached, (long_ago, long_ago))
    Segmenter()  # reads it
    assert cached.stat().st_mtime > time.time() - 3600


# ---------------------------------------------------------------------------
# The dictionary looked up in its text (a query) and through its index (a text being indexed)


def _dictionary_words() -> list[str]:
    from clipsearch.text.segmenter import _load_ngrams

    bigrams, trigrams = _load_ngrams()
    pairs, triples = bigrams.strip("\n").split("\n"), trigrams.strip("\n").split("\n")
    return pairs[::150] + triples[::20]


DICTIONARY_WORDS = _dictionary_words()
_PIECES = st.sampled_from(DICTIONARY_WORDS).flatmap(
    lambda w: st.sampled_from([w, w.capitalize(), w.title(), w.upper()])
) | st.sampled_from([*WORDS, "và", "của", "các"])


def _indexed_segmenter() -> Segmenter:
    segmenter = Segmenter()
    segmenter.segment(_long_text(200))  # more lookups than the text is searched for
    assert segmenter._syllables.indexed
    return segmenter


INDEXED = _indexed_segmenter()


def _runs_in_dictionary(text: str) -> list[tuple[int, int, str]]:
    """Every run of two or three syllables whose lowercase form is one of pyvi's words, found by brute force."""
    from clipsearch.text.segmenter import _PYVI_PATTERN, _load_ngrams

    bigrams, trigrams = (set(words.strip("\n").split("\n")) for words in _load_ngrams())
    matches = list(_PYVI_PATTERN.finditer(text))
    runs = []
    for n, words in ((2, bigrams), (3, trigrams)):
        for i in range(len(matches) - n + 1):
            if " ".join(m.group().lower() for m in matches[i : i + n]) in words:
                runs.append(
                    (matches[i].start(), matches[i + n - 1].end(), "_".join(m.group() for m in matches[i : i + n]))
                )
    return runs


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=30).map(" ".join))
def test_dictionary_text_and_index_agree(text: str) -> None:
    from clipsearch.text.segmenter import _PYVI_PATTERN, DICTIONARY_SEARCHES

    assume(len(_PYVI_PATTERN.findall(text)) <= DICTIONARY_SEARCHES)
    fresh = Segmenter()  # looks the dictionary's words up in its text
    searched = fresh.words_and_known(text)
    assert not fresh._syllables.indexed
    assert INDEXED.words_and_known(text) == searched
    assert INDEXED.segment(text) == fresh.segment(text)
    words, runs = searched
    assert [(r.start, r.end, r.text) for r in runs] == _runs_in_dictionary(text)
    assert " ".join(s.text for s in INDEXED.segment(text)) == (ViTokenizer.tokenize(text) if text.strip() else "")
    assert words == [w for w in INDEXED.segment(text) if len(w.syllables) > 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(_PIECES, max_size=60).map(" ".join), st.integers(min_value=3, max_value=12))
def test_chunks_find_the_same_dictionary_runs(text: str, chunk: int) -> None:
    whole = INDEXED.words_and_known(text, chunk=10**9)[1]
    chunked = INDEXED.words_and_known(text, chunk=chunk)[1]
    assert sorted(chunked) == sorted(whole)


def test_words_and_their_dictionary_runs_share_objects() -> None:
    words, runs = INDEXED.words_and_known("Nhân dân yêu hoà bình và văn phòng cấp uỷ.")
    shared = [run for run in runs if any(run is word for word in words)]
    assert shared and all(run in words for run in shared)


def _crfsuite_labels(segmenter: Segmenter, sylls: list[str]) -> list[int]:
    """pyvi's labels the long way: each position's attributes as pyvi's
    ``word2features`` makes them (booleans as 0 or 1), their weights times
    their values summed in that order as CRFsuite sums them, and
    :func:`~clipsearch.text.crfmodel.viterbi2`."""
    from clipsearch.text.crfmodel import viterbi2
    from clipsearch.text.segmenter import _load_ngrams

    bigrams, trigrams = (set(words.strip("\n").split("\n")) for words in _load_ngrams())
    state = segmenter._state
    scores: list[list[float]] = [[], []]
    for i, word in enumerate(sylls):
        attrs: list[tuple[str, float]] = [
            ("bias", 1.0),
            (f"word.lower():{word.lower()}", 1.0),
            ("word.isupper()", float(word.isupper())),
            ("word.istitle()", float(word.istitle())),
            ("word.isdigit()", float(word.isdigit())),
        ]
        for side, j in (("-1", i - 1), ("+1", i + 1)):
            if 0 <= j < len(sylls):
                other = sylls[j]
                pair = " ".join(sylls[min(i, j) : max(i, j) + 1]).lower()
                attrs += [
                    (f"{side}:word.lower():{other.lower()}", 1.0),
                    (f"{side}:word.istitle()", float(other.istitle())),
                    (f"{side}:word.isupper()", float(other.isupper())),
                    (f"{side}:word.bi_gram()", float(pair in bigrams)),
                ]
                k = j - 1 if side == "-1" else j + 1
                if 0 <= k < len(sylls):
                    triple = " ".join(sylls[min(i, k) : max(i, k) + 1]).lower()
                    attrs.append((f"{side[0]}2:word.tri_gram()", float(triple in trigrams)))
        for label in (0, 1):
            total = 0.0
            for attr, value in attrs:
                if attr in state:
                    total += state[attr][label] * value
            scores[label].append(total)
    return viterbi2(scores[0], scores[1], segmenter._transition)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=30).map(" ".join))
def test_labels_are_crfsuites_sums_decoded(text: str) -> None:
    from clipsearch.text.segmenter import _PYVI_PATTERN

    sylls = _PYVI_PATTERN.findall(text)
    syllables, lookups = INDEXED._lookups(len(sylls))
    entries = INDEXED._entries(sylls, syllables)
    assert INDEXED._inside(entries, *INDEXED._in_dictionary(entries, lookups)) == _crfsuite_labels(INDEXED, sylls)
