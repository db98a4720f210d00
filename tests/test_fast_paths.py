"""The analysis's fast paths against the straightforward code they replace,
on varied text: NFC and NFD, both tone placements, mixed case, punctuation,
numbers, invisible and control characters, look-alikes of ``Đ``, zone marks,
empty text and very long tokens."""

from __future__ import annotations

import re
import tempfile
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import TEXT as TEXT_FIELD
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage

from clipsearch.codec.compact import CompactCodec
from clipsearch.codec.formats import IntFrequency, Presence, TokenColumns, VarintPositions
from clipsearch.codec.layout import encode_joined_block, encode_small_blocks
from clipsearch.codec.terminfo import encode_term_info, encode_whole_term_infos
from clipsearch.codec.varints import encode_varints, vectorised_encode
from clipsearch.reprints import minhash
from clipsearch.reprints.minhash import signature, zones_signature
from clipsearch.text import normalize as normalize_module
from clipsearch.text import zones
from clipsearch.text.fold import fold
from clipsearch.text.normalize import normalize, normalize_tone_placement
from clipsearch.text.segmenter import get_segmenter
from clipsearch.text.syllables import Syllable, syllable_form, syllable_forms, syllable_spans, syllables
from clipsearch.text.zones import (
    PARAGRAPH_GAP,
    ZONE_MARK,
    analyse_syllables,
    analyse_words,
    exact_word,
    join_zones,
    known_words,
    one_case,
    paragraphs,
    syllable_columns,
)
from clipsearch.writing import arrays
from clipsearch.writing.arrays import AnalysedBatch, FieldPostings, analyse_documents
from clipsearch.writing.fields import (
    ExactTokenizer,
    ExactWordTokenizer,
    PairTokenizer,
    SignatureColumn,
    SyllableTokenizer,
    WordTokenizer,
    _ZonedTokenizer,
    build_schema,
)

from .test_text import LETTERS, PLACEMENT_PAIRS, UNITS

# What the text is made of: the units of test_text's offset property, and
# what a clipping's field value also holds.
MORE_UNITS = st.one_of(
    UNITS,
    st.sampled_from(["Ð", "ð", "Ɖ", "ɖ", "\f", "\v", "\x1c", "\x1f", "\x85", ZONE_MARK, "\n\n", "\u0301", "😀"]),
    st.sampled_from(["\u2028", "\u3000", "\u1160", "q", "Q", "\u0323\u0301", " \u0301", "\u00a0\u0300"]),
    st.sampled_from([w.upper() for pair in PLACEMENT_PAIRS for w in pair]),
    st.text(alphabet="aăâbcdđeêghikloôơpqrstuưvxy0123456789", min_size=30, max_size=300),  # very long tokens
    st.sampled_from([ch for ch, _ in LETTERS]).map(lambda ch: ch * 50),
)
TEXT = st.lists(MORE_UNITS, max_size=60).map("".join)
ZONES = st.tuples(TEXT, TEXT, TEXT).map(lambda zones: join_zones(*zones))
# Words pyvi's model and dictionary join.
SENTENCE_WORDS = ["Văn phòng", "cấp ủy", "nhân dân", "Hà Nội", "cơ thể", "HỌC SINH", "học sinh", "thành phố", "Texas"]

# The syllable pattern as the straightforward code matched it, one match at a time.
_SYLLABLE_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")


def _reference_syllables(text: str) -> list[Syllable]:
    norm = normalize(text)
    return [
        Syllable(syllable_form(m.group()), *norm.span(m.start(), m.end())) for m in _SYLLABLE_RE.finditer(norm.text)
    ]


def _reference_rows(value: str) -> list[tuple[int, int, str, str, int, int]]:
    """A field value's syllable rows, syllable by syllable."""
    rows = []
    pos = 0
    offset = 0
    for zone, zone_text in enumerate(value.split(ZONE_MARK)):
        for start, paragraph in paragraphs(zone_text):
            base = offset + start
            for syl in _reference_syllables(paragraph):
                rows.append((zone, pos, fold(syl.text), syl.text, base + syl.start, base + syl.end))
                pos += 1
            pos += PARAGRAPH_GAP
        offset += len(zone_text) + len(ZONE_MARK)
    return rows


@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(0, 1000))
def test_syllable_spans_are_the_matches_one_by_one(text: str, base: int) -> None:
    expected = _reference_syllables(text)
    assert syllables(normalize(text)) == expected
    forms, starts, ends = syllable_spans(normalize(text), base)
    assert forms == [s.text for s in expected]
    assert starts == [s.start + base for s in expected]
    assert ends == [s.end + base for s in expected]


@settings(max_examples=300, deadline=None)
@given(ZONES)
def test_syllable_columns_are_the_rows_syllable_by_syllable(value: str) -> None:
    expected = _reference_rows(value)
    assert list(analyse_syllables(value)) == expected
    for k, column in enumerate(syllable_columns(value)):
        assert list(column) == [row[k] for row in expected]


def test_syllable_columns_of_empty_text() -> None:
    assert syllable_columns("") == ((), (), (), (), (), ())
    assert analyse_syllables(join_zones("", " \n ", "...")) == ()


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_tone_placement_is_the_regular_expression_everywhere(text: str) -> None:
    text = unicodedata.normalize("NFC", text)
    regex = normalize_module._NEW_STYLE_RE
    assert normalize_tone_placement(text) == regex.sub(normalize_module._move_tone, text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_translation_for_the_analysis_is_the_table(text: str) -> None:
    assert normalize_module._for_analysis(text) == text.translate(normalize_module._ANALYSIS_TABLE)


# ---------------------------------------------------------------------------
# Token columns and postings made by batch


@settings(max_examples=200, deadline=None)
@given(ZONES, st.sets(st.sampled_from(["van", "phong", "cap", "uy", "hoa", "binh", "a", "1", "tp", "hcm"])))
def test_token_columns_are_the_tokenizers_rows(value: str, common: set[str]) -> None:
    for tokenizer in (SyllableTokenizer(), ExactTokenizer(), PairTokenizer(common), SyllableTokenizer((1.0,))):
        columns = tokenizer.columns(value)
        reference = _ZonedTokenizer.columns(tokenizer, value)  # made of the rows, token by token
        assert [list(column) for column in columns] == [list(column) for column in reference]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([w for pair in PLACEMENT_PAIRS for w in pair] + SENTENCE_WORDS), max_size=30))
def test_word_columns_are_the_tokenizers_rows(words: list[str]) -> None:
    value = join_zones(" ".join(words[:5]), "", " ".join(words[5:]))
    for tokenizer in (WordTokenizer(), ExactWordTokenizer()):
        columns = tokenizer.columns(value)
        assert [list(column) for column in columns] == [
            list(column) for column in _ZonedTokenizer.columns(tokenizer, value)
        ]


def _postings_of(postings: FieldPostings) -> list[tuple[int, str, float, bytes]]:
    """``(document, term, weight, value)`` of every posting, sorted."""
    terms = list(postings.vocabulary)
    values: list[bytes] = []
    if postings.keep_values:
        at = 0
        for size in postings.sizes:
            values.append(bytes(postings.data[at : at + size]))
            at += size
    else:
        values = [b""] * len(postings)
    return sorted(
        zip(postings.docs, [terms[t] for t in postings.term_ids], postings.weights, values, strict=True),
        key=lambda p: (p[0], p[1]),
    )


class _Columns:
    """An analyzer whose only analysis is given columns (by value)."""

    def __init__(self, columns: dict[str, TokenColumns]) -> None:
        self.by_value = columns

    def columns(self, value: str) -> TokenColumns:
        return self.by_value[value]


@st.composite
def _token_columns(draw: st.DrawFn) -> TokenColumns:
    texts = draw(st.lists(st.sampled_from(["a", "b", "van", "phòng", "x y", "ă", "0", "long" * 20]), max_size=40))
    gaps = draw(
        st.lists(st.sampled_from([1, 1, 1, 2, 6, 127, 128, 300, 20000]), min_size=len(texts), max_size=len(texts))
    )
    boosts = draw(st.sampled_from([(3.0, 2.0, 1.0), (1.0,), (0.5, 1.5, 0.1), (2.0, 0.3)]))
    zones = sorted(draw(st.lists(st.integers(0, len(boosts) + 3), min_size=len(texts), max_size=len(texts))))
    positions = [sum(gaps[: k + 1]) - 1 for k in range(len(texts))]
    return TokenColumns(texts, positions, zones, boosts + (boosts[-1],) * 4)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_token_columns(), min_size=1, max_size=8),
    st.sampled_from([1.0, 2.0, 0.25, 1.7]),
    st.lists(st.sampled_from([1.0, 1.0, 2.0, 0.5, 1.3]), min_size=8, max_size=8),
)
def test_batch_postings_are_word_values_document_by_document(
    batch: list[TokenColumns], field_boost: float, doc_boosts: list[float]
) -> None:
    values = {f"v{k}": columns for k, columns in enumerate(batch)}
    analyzer = _Columns(values)
    docnums = [3 * k + 1 for k in range(len(batch))]
    for fmt in (
        VarintPositions(field_boost=field_boost),
        IntFrequency(field_boost=field_boost),
        Presence(field_boost=field_boost),
    ):
        keep_values = isinstance(fmt, VarintPositions)
        reference = FieldPostings(keep_values)
        lengths = []
        for docnum, value, boost in zip(docnums, values, doc_boosts, strict=False):
            lengths.append(reference.add(docnum, fmt.word_values(value, analyzer), boost))
        fast = FieldPostings(keep_values)
        fast.add_batch(fmt.batch_postings(docnums, batch, doc_boosts[: len(batch)]))
        assert _postings_of(fast) == _postings_of(reference)
        assert [fmt.field_length(columns) for columns in batch] == lengths


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 300), st.integers(0, 1 << 62)), max_size=50))
def test_varints_encoded_at_once_are_those_encoded_one_list_at_a_time(values: list[int]) -> None:
    data, sizes = vectorised_encode(np.asarray(values, dtype=np.int64))
    assert data.tobytes() == encode_varints(values)
    assert sizes.tolist() == [len(encode_varints([v])) for v in values]


def _reference_analysis(schema: Any, documents: list[dict[str, Any]]) -> AnalysedBatch:
    """``analyse_documents`` document by document, through the formats' ``word_values``."""
    batch = AnalysedBatch()
    for docnum, fields in enumerate(documents):
        perdoc = []
        for fieldname in sorted(name for name in fields if not name.startswith("_")):
            value = fields[fieldname]
            fieldobj = schema[fieldname]
            length = 0
            if fieldobj.indexed:
                postings = batch.postings.setdefault(fieldname, FieldPostings.of(fieldobj))
                freqs = postings.add(docnum, fieldobj.format.word_values(value, fieldobj.analyzer, mode="index"))
                length = freqs if fieldobj.scorable else 0
            column = fieldobj.to_column_value(value) if fieldobj.column_type else None
            perdoc.append((fieldname, value if fieldobj.stored else None, length, column))
        batch.documents.append(perdoc)
    return batch


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, st.sampled_from(SENTENCE_WORDS)), min_size=1, max_size=6), st.booleans())
def test_documents_analysed_by_batch_are_those_analysed_one_by_one(
    clippings: list[tuple[str, str, str]], some_by_word_values: bool
) -> None:
    schema = build_schema(["van", "phong", "cap", "uy", "hoa", "binh", "a"])
    documents = [
        {
            "id": f"c{k}",
            "title": title,
            "text": join_zones(title, "", body + " " + word),
            "pairs": join_zones(title, "", body),
        }
        for k, (title, body, word) in enumerate(clippings)
    ]
    if some_by_word_values:  # a field's postings made now by batch, now document by document
        real = arrays.token_columns
        by_batch = lambda value, analyzer, kwargs: real(value, analyzer, kwargs) if len(value) % 2 else None  # noqa: E731
        arrays.token_columns = by_batch
    try:
        fast = analyse_documents(schema, documents)
    finally:
        if some_by_word_values:
            arrays.token_columns = real
    reference = _reference_analysis(schema, documents)
    assert fast.documents == reference.documents
    assert sorted(fast.postings) == sorted(reference.postings)
    for name in reference.postings:
        assert _postings_of(fast.postings[name]) == _postings_of(reference.postings[name])


# ---------------------------------------------------------------------------
# MinHash signatures from the shared analysis


def _reference_signature(title: str, lead: str, body: str) -> bytes:
    """The signature as it was computed on its own: the text split at
    whitespace, each token's syllables normalised, folded and hashed."""
    text = f"{title}\n{lead}\n{body}"
    ids = [zlib.crc32(fold(s).encode("utf-8")) for token in text.split() for s in syllable_forms(token)]
    array = np.asarray(ids or [0], dtype=np.uint64)
    shingles = minhash._shingle_hashes(array, minhash.SHINGLE_SYLLABLES)
    with np.errstate(over="ignore"):
        values = (shingles[:, None] * minhash._A + minhash._B) >> np.uint64(32)
    return values.min(axis=0).astype("<u2").tobytes()


@settings(max_examples=400, deadline=None)
@given(TEXT, TEXT, TEXT)
def test_signatures_from_the_shared_analysis_are_those_of_the_text_alone(title: str, lead: str, body: str) -> None:
    expected = _reference_signature(title, lead, body)
    assert signature(title, lead, body) == expected
    if ZONE_MARK not in title + lead + body:
        assert SignatureColumn().to_column_value(join_zones(title, lead, body)) == expected
    # a fourth zone does not count
    assert zones_signature(join_zones(title, lead, body) + ZONE_MARK + "thêm vào") == expected


# ---------------------------------------------------------------------------
# Words' forms, cached


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([ch for ch, _ in LETTERS] + ["Hà", "NỘI", "01", "2014", "Texas", "Đ"]), max_size=4))
def test_word_forms_are_those_made_word_by_word(syllables: list[str]) -> None:
    word = tuple(syllables)
    expected = (fold("_".join(syllable_form(s) for s in word)), exact_word(word), one_case(word))
    assert zones._word_forms(word) == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([w for pair in PLACEMENT_PAIRS for w in pair] + SENTENCE_WORDS), max_size=30),
    st.sampled_from(["", "\u200b", "\u00ad"]),
    st.booleans(),
)
def test_word_analysis_is_the_model_s_words_one_by_one(words: list[str], junk: str, nfd: bool) -> None:
    """Offsets mapped through NFD and dropped characters too."""
    words = [word.replace(" ", junk + " ", 1) for word in words]
    value = join_zones(" ".join(words[:4]).upper(), " ".join(words[4:8]), " ".join(words[8:]))
    if nfd:
        value = unicodedata.normalize("NFD", value)
    expected_words, expected_known = [], []
    segmenter = get_segmenter()
    offset = 0
    for zone, zone_text in enumerate(value.split(ZONE_MARK)):
        for start, paragraph in paragraphs(zone_text):
            base = offset + start
            norm = normalize(paragraph)
            found, runs = segmenter.words_and_known(zones._for_the_model(norm.text))
            for seg in found:
                s, e = norm.span(seg.start, seg.end)
                folded = fold("_".join(syllable_form(x) for x in seg.syllables))
                expected_words.append((zone, folded, base + s, base + e))
            joined = (seg for seg in found if one_case(seg.syllables))
            for (a, b), sylls in {(seg.start, seg.end): seg.syllables for seg in (*joined, *runs)}.items():
                if exact_word(sylls) is not None:
                    s, e = norm.span(a, b)
                    expected_known.append((zone, exact_word(sylls), base + s, base + e))
        offset += len(zone_text) + len(ZONE_MARK)
    assert analyse_words(value) == tuple(expected_words)
    assert known_words(value) == tuple(expected_known)


# ---------------------------------------------------------------------------
# Terms written together


@st.composite
def _terms(draw: st.DrawFn) -> list[tuple[list[int], list[float], list[int], list[bytes]]]:
    """Terms of a field: each one's postings (ids, weights, field lengths, values)."""
    terms = []
    for _ in range(draw(st.integers(1, 25))):
        count = draw(st.sampled_from([1, 1, 1, 2, 3, 7, 40, 600]))
        ids = sorted(draw(st.sets(st.integers(0, 1 << 20), min_size=count, max_size=count)))
        kind = draw(st.sampled_from(["one", "whole", "mixed", "huge"]))
        weight = {"one": 1.0, "whole": 3.0, "mixed": 0.5, "huge": float(1 << 40)}[kind]
        weights = [draw(st.sampled_from([1.0, 2.0, weight])) for _ in range(count)]
        lengths = [draw(st.sampled_from([0, 1, 7, 300, 200000])) for _ in range(count)]
        size = draw(st.sampled_from([0, 1, 3, 30, 70]))
        values = [bytes([k % 7]) * size for k in range(count)]
        terms.append((ids, weights, lengths, values))
    return terms


def _written(folder: Path, terms: list[Any], with_values: bool, together: bool) -> dict[str, bytes]:
    schema = Schema(field=TEXT_FIELD())
    schema["field"].format = VarintPositions() if with_values else Presence()
    storage = FileStorage(str(folder))
    codec = CompactCodec()
    writer = codec.field_writer(storage, codec.new_segment(storage, "t"))
    writer.start_field("field", schema["field"])
    texts = [f"term{k:03d}".encode() for k in range(len(terms))]
    if together:
        flat = [posting for term in terms for posting in zip(*term, strict=True)]
        ids, weights, lengths, values = zip(*flat, strict=True)
        bounds = np.cumsum([0] + [len(term[0]) for term in terms])
        sizes = np.asarray([len(v) for v in values]) if with_values else None
        data = np.frombuffer(b"".join(values) if with_values else b"", dtype=np.uint8)
        as_float32 = np.asarray(weights, dtype=np.float32)
        writer.write_terms(texts, bounds, np.asarray(ids), as_float32, np.asarray(lengths), sizes, data)
    else:
        for text, (ids, weights, lengths, values) in zip(texts, terms, strict=True):
            as_float32 = np.asarray(weights, dtype=np.float32).tolist()
            sizes = [len(v) for v in values] if with_values else None
            writer.write_term(text, ids, as_float32, lengths, sizes, b"".join(values) if with_values else b"")
    writer.finish_field()
    writer.close()
    return {path.suffix: path.read_bytes() for path in folder.iterdir()}


@settings(max_examples=80, deadline=None)
@given(_terms(), st.booleans())
def test_terms_written_together_are_those_written_one_by_one(terms: list[Any], with_values: bool) -> None:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        assert _written(Path(one), terms, with_values, True) == _written(Path(two), terms, with_values, False)


@settings(max_examples=200, deadline=None)
@given(_terms(), st.sampled_from([0, 3]), st.booleans())
def test_small_blocks_encoded_together_are_those_encoded_one_by_one(
    terms: list[Any], compression: int, with_values: bool
) -> None:
    terms = [term for term in terms if len(term[0]) <= 600 and all(float(w).is_integer() for w in term[1])]
    flat = [posting for term in terms for posting in zip(*term, strict=True)]
    ids, weights, _lengths, values = zip(*flat, strict=True) if flat else ((), (), (), ())
    low = [min(term[2]) % 256 for term in terms]
    high = [max(term[2]) % 256 for term in terms]
    top = [max(0.0, *term[1]) for term in terms]
    fits, blocks, sizes = encode_small_blocks(
        [len(term[0]) for term in terms],
        np.asarray(ids, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
        np.asarray([len(v) for v in values], dtype=np.int64) if with_values else None,
        np.frombuffer(b"".join(values) if with_values else b"", dtype=np.uint8),
        [sum(map(len, term[3])) if with_values else 0 for term in terms],
        min_length_byte=low,
        max_length_byte=high,
        max_weight=top,
        compression=compression,
    )
    expected = [
        encode_joined_block(
            term[0],
            term[1],
            [len(v) for v in term[3]] if with_values else None,
            b"".join(term[3]) if with_values else b"",
            min_length_byte=a,
            max_length_byte=b,
            max_weight=m,
            compression=compression,
            last=True,
        )
        for term, a, b, m in zip(terms, low, high, top, strict=True)
    ]
    kept = [block for block, fit in zip(expected, fits, strict=True) if fit]
    assert blocks.tobytes() == b"".join(kept)
    assert sizes.tolist() == [len(block) for block in kept]
    if not compression:
        assert fits.all()


@st.composite
def _term_info(draw: st.DrawFn) -> dict[str, Any]:
    """The fields of a term info of whole weights: inline (one document, a value or none) or not."""
    inline = draw(st.booleans())
    first = draw(st.integers(0, 1 << 30))
    return {
        "inline": inline,
        "weight": float(draw(st.integers(0, 1 << 40))),
        "doc_frequency": 1 if inline else draw(st.integers(2, 1 << 20)),
        "low": draw(st.integers(0, 255)),
        "high": draw(st.integers(0, 255)),
        "top": float(draw(st.integers(0, 300))),
        "first": first,
        "last": first if inline else first + draw(st.integers(0, 1 << 20)),
        "extent": (draw(st.integers(0, 1 << 40)), draw(st.integers(1, 1 << 30))),
        "value": draw(st.binary(max_size=200)),
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(_term_info(), max_size=30))
def test_term_infos_encoded_together_are_those_encoded_one_by_one(infos: list[dict[str, Any]]) -> None:
    def column(name: str) -> list[Any]:
        return [info[name] for info in infos]

    joined, sizes = encode_whole_term_infos(
        column("weight"),
        column("doc_frequency"),
        column("low"),
        column("high"),
        column("top"),
        column("first"),
        column("last"),
        (
            np.asarray([e[0] for e in column("extent")], np.int64),
            np.asarray([e[1] for e in column("extent")], np.int64),
        ),
        np.asarray(column("inline"), dtype=bool),
        (np.frombuffer(b"".join(column("value")), dtype=np.uint8), [len(v) for v in column("value")]),
    )
    expected = [
        encode_term_info(
            info["weight"],
            info["doc_frequency"],
            info["low"],
            info["high"],
            info["top"],
            info["first"],
            info["last"],
            extent=None if info["inline"] else info["extent"],
            value=(info["value"] or None) if info["inline"] else None,
        )
        for info in infos
    ]
    assert joined.tobytes() == b"".join(expected)
    assert sizes.tolist() == [len(info) for info in expected]
