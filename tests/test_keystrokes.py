"""Telex and VNI keystrokes decoded to syllables (text/keystrokes.py), and
queries typed with the input method off (searching/correction.py): checked
against an encoder written here, over every syllable of the seed and the
fixtures, in the ways people type them."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import clipsearch
from clipsearch.cli import cli
from clipsearch.searching.correction import decode_query
from clipsearch.text.fold import has_diacritics
from clipsearch.text.keystrokes import decode_keystrokes
from clipsearch.text.normalize import normalize
from clipsearch.text.syllables import syllable_forms

from .conftest import FIXTURES, SEED, SEED_ID, write_clipping

_TONES = {"\u0301": ("s", "1"), "\u0300": ("f", "2"), "\u0309": ("r", "3"), "\u0303": ("x", "4"), "\u0323": ("j", "5")}
_MARKS = {  # letter with its mark -> (Telex, VNI)
    "â": ("aa", "a6"),
    "ă": ("aw", "a8"),
    "ê": ("ee", "e6"),
    "ô": ("oo", "o6"),
    "ơ": ("ow", "o7"),
    "ư": ("uw", "u7"),
    "đ": ("dd", "d9"),
}


def encode(syllable: str, scheme: int, tone_at_end: bool = True) -> str:
    """The keys that type ``syllable`` (0: Telex, 1: VNI): marks after their
    letter, the tone key at the end or right after the toned vowel."""
    keys, tone_key = [], ""
    for ch in unicodedata.normalize("NFC", syllable.lower()):
        parts = unicodedata.normalize("NFD", ch)
        base = "".join(c for c in parts if c not in _TONES)
        letter = unicodedata.normalize("NFC", base)
        keys.append(_MARKS[letter][scheme] if letter in _MARKS else letter)
        for c in parts:
            if c in _TONES:
                tone_key = _TONES[c][scheme]
                if not tone_at_end:
                    keys.append(tone_key)
    return "".join(keys) + (tone_key if tone_at_end else "")


def _index_form(syllable: str) -> str:
    return syllable_forms(normalize(syllable).text)[0]


def _syllables_with_marks() -> list[str]:
    texts = [SEED.read_text(encoding="utf-8")]
    for spec in FIXTURES.values():
        texts += [str(spec["title"]), str(spec["lead"]), *list(spec["body"])]  # type: ignore[call-overload]
    found = {s for text in texts for s in syllable_forms(normalize(text).text) if s.isalpha() and has_diacritics(s)}
    return sorted(found)


SYLLABLES = _syllables_with_marks()


def test_the_family_is_large() -> None:
    assert len(SYLLABLES) > 150


@pytest.mark.parametrize("scheme", [0, 1], ids=["telex", "vni"])
@pytest.mark.parametrize("tone_at_end", [True, False], ids=["tone-last", "tone-mid-word"])
def test_every_syllable_typed_with_keys_decodes_to_itself(scheme: int, tone_at_end: bool) -> None:
    wrong = {}
    for syllable in SYLLABLES:
        keys = encode(syllable, scheme, tone_at_end)
        if keys == syllable:
            continue
        got = decode_keystrokes(keys)
        if got != _index_form(syllable):
            wrong[syllable] = (keys, got)
    assert wrong == {}


@pytest.mark.parametrize(
    ("keys", "syllable"),
    [
        ("vawn", "văn"),
        ("phongf", "phòng"),
        ("caaps", "cấp"),
        ("uyr", "uỷ"),
        ("nguoiwf", "người"),  # the horn typed after the whole vowel group
        ("nguwowif", "người"),
        ("truwowngf", "trường"),
        ("ddif", "đì"),
        ("giaf", "già"),
        ("quys", "quý"),
        ("hoaf", "hoà"),  # new-style keys, the index's old-style placement
        ("va8n", "văn"),
        ("d9uo7ng", "đương"),
        ("ca61p", "cấp"),
        ("u3y", "uỷ"),
        ("wf", "ừ"),
    ],
)
def test_known_keystrokes(keys: str, syllable: str) -> None:
    assert decode_keystrokes(keys) == syllable


@pytest.mark.parametrize(
    "keys",
    ["messi", "trump", "fifa", "u23", "covid19", "mp3", "ak47", "bars", "g7", "van", "phong", "2026", "h5n1", "ngx"],
)
def test_what_no_keys_spell(keys: str) -> None:
    assert decode_keystrokes(keys) is None


@given(st.text(max_size=12))
def test_any_text_decodes_to_none_or_one_syllable_with_marks(text: str) -> None:
    got = decode_keystrokes(text)
    if got is not None:
        assert has_diacritics(got)
        assert syllable_forms(got) == [got]
        assert unicodedata.is_normalized("NFC", got)


# Queries


def _holds(words: set[str]):  # type: ignore[no-untyped-def]
    return lambda word: int(word.lower() in words)


def test_decode_query_leaves_phrases_operators_and_field_values() -> None:
    forms = {"văn", "phòng", "cấp", "uỷ"}
    got = decode_query(
        'vawn AND "phongf" OR source:(caaps uyr) title:caaps -uyr date:2026',
        _holds(set()),
        lambda s: int(s in forms),
    )
    assert got == 'văn AND "phongf" OR source:(caaps uyr) title:cấp -uỷ date:2026'


def test_decode_query_keeps_letter_case_and_what_the_index_holds() -> None:
    forms = {"văn", "phòng"}
    assert decode_query("Vawn PHONGF", _holds(set()), lambda s: int(s in forms)) == "Văn PHÒNG"
    assert decode_query("vawn phongf", _holds({"vawn"}), lambda s: int(s in forms)) == "vawn phòng"
    assert decode_query("vawn phongf", _holds(set()), lambda s: 0) is None


@pytest.fixture(scope="module")
def keys_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> clipsearch.Index:
    folder = tmp_path_factory.mktemp("keys")
    for path in corpus_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    write_clipping(
        folder,
        "names",
        "Messi và Trump gặp FIFA",
        "Chuyện bên lề: mix nhạc ở nước Mĩ.",
        ["Ba cái tên trong một bản tin."],
    )
    clipsearch.build_index([folder], folder.parent / "keys-index")
    return clipsearch.open_index(folder.parent / "keys-index")


TITLE_WORDS = "Tiếp tục đổi mới nâng cao chất lượng công tác văn phòng các tỉnh ủy thành ủy"


@pytest.mark.parametrize("scheme", [0, 1], ids=["telex", "vni"])
@pytest.mark.parametrize("start", range(0, 13, 3))
def test_keystrokes_of_the_seed_title_find_the_seed_first(
    keys_index: clipsearch.Index, scheme: int, start: int
) -> None:
    words = TITLE_WORDS.split()[start : start + 4]
    typed = " ".join(encode(w, scheme) for w in words)
    result = keys_index.query(typed)
    assert result.corrected is not None
    assert result.corrected.lower() == " ".join(_index_form(w) for w in words)
    assert result.hits and result.hits[0].id in (SEED_ID, *result.hits[0].similar)
    as_written = keys_index.query(" ".join(words))
    assert [h.id for h in result.hits] == [h.id for h in as_written.hits]
    assert result.total == as_written.total


@pytest.mark.parametrize("query", ["messi", "trump", "fifa", "mix", "Messi Trump", "mix nhạc"])
def test_words_the_index_holds_are_never_decoded(keys_index: clipsearch.Index, query: str) -> None:
    result = keys_index.query(query)
    assert result.corrected is None
    assert [h.id for h in result.hits] == ["names"]


@pytest.mark.parametrize("query", ["qwzx", "vawn zzq", "kyx lana", "u23", "zzzz mùa"])
def test_without_a_decodable_word_nothing_changes(keys_index: clipsearch.Index, query: str) -> None:
    result = keys_index.query(query)
    exact = keys_index.query(query, exact_input=True)
    if "vawn" in query:
        assert result.corrected == query.replace("vawn", "văn")
    else:
        assert result.corrected is None
        assert result.to_dict() == exact.to_dict()


def test_exact_input_and_quotes_search_as_typed(keys_index: clipsearch.Index) -> None:
    assert keys_index.query("vawn phongf").total > 0
    assert keys_index.query("vawn phongf", exact_input=True).total == 0
    assert keys_index.query('"vawn phongf"').total == 0
    assert keys_index.query("vawn phongf", exact_input=True).corrected is None


def test_the_cli_says_what_it_searched(keys_index: clipsearch.Index) -> None:
    runner = CliRunner()
    index_dir = str(keys_index.path)
    done = runner.invoke(cli, ["query", "vawn phongf caaps uyr", "--index-dir", index_dir, "--limit", "1"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == "Showing results for: văn phòng cấp uỷ"
    assert lines[1] == "Search instead for 'vawn phongf caaps uyr' as typed: --exact-input"
    done = runner.invoke(cli, ["query", "vawn phongf caaps uyr", "--index-dir", index_dir, "--exact-input"])
    assert done.exit_code == 0
    assert done.output == "No clipping matches 'vawn phongf caaps uyr'.\n"
    done = runner.invoke(cli, ["query", "va8n pho2ng", "--index-dir", index_dir, "--json", "--limit", "1"])
    assert '"corrected": "văn phòng"' in done.output


@pytest.mark.parametrize(
    "query", ["Nguyễn axít ở Quảng Ngãi", "văn phòng cấp ủy", "người dân mua sắm", "Thuỷ điện Hoà Bình"]
)
def test_decomposed_letters_are_never_taken_for_keys(keys_index: clipsearch.Index, query: str) -> None:
    nfd = unicodedata.normalize("NFD", query)
    result = keys_index.query(nfd)
    assert result.corrected is None
    assert result.to_dict() | {"query": query} == keys_index.query(query).to_dict()


def test_codes_the_index_holds_are_not_keys(tmp_path: Path) -> None:
    write_clipping(tmp_path, "codes", "Khí thải CO2 và đội U17", "Lượng CO2 tăng; U17 thắng.", ["Cò trắng bay."])
    write_clipping(tmp_path, "birds", "Cò và ứ", "Con cò.", ["Ứ hự."])
    clipsearch.build_index([tmp_path], tmp_path / "index")
    with clipsearch.open_index(tmp_path / "index") as index:
        for query in ("khí thải CO2", "đội U17", "co2", "u17"):
            result = index.query(query)
            assert result.corrected is None, query
            assert [h.id for h in result.hits] == ["codes"]


def test_field_values_and_field_names_are_not_keys() -> None:
    forms = {"văn": 5}
    assert decode_query("world -source:vawn", _holds(set()), lambda s: forms.get(s, 0)) is None
    assert decode_query("world -date:vawn", _holds(set()), lambda s: forms.get(s, 0)) is None
    assert decode_query("vawn:world", _holds(set()), lambda s: forms.get(s, 0)) is None
    assert decode_query("-title:vawn", _holds(set()), lambda s: forms.get(s, 0)) == "-title:văn"


@pytest.mark.parametrize(
    ("keys", "forms", "syllable"),
    [
        ("thuowr", {"thuở": 181, "thưở": 2}, "thuở"),  # uo + horn key: ươ or uơ, the one the index holds more
        ("nguoiwf", {"người": 900, "nguời": 1}, "người"),
        ("nguwoif", {"người": 900}, "người"),  # the horn typed on u alone: ưo is no vowel group
        ("quow", {"quơ": 20}, "quơ"),
        ("huow", {"huơ": 9}, "huơ"),
    ],
)
def test_keys_that_type_two_syllables_take_the_one_held(keys: str, forms: dict[str, int], syllable: str) -> None:
    assert decode_query(keys, _holds(set()), lambda s: forms.get(s, 0)) == syllable


def test_in_a_query_typed_with_keys_a_rare_word_as_typed_is_decoded_too() -> None:
    typed = {"ba2": 1, "so2": 10, "co2": 65, "gif": 1}
    forms = {"bà": 12_775, "sơ": 7_498, "cò": 251, "văn": 900, "gì": 10_901}

    def decode(query: str) -> str | None:
        return decode_query(query, lambda w: typed.get(w.lower(), 0), lambda s: forms.get(s, 0))

    assert decode("ba2") is None  # on its own, a word the index holds stays as typed
    assert decode("khí thải SO2") is None
    assert decode("va8n ba2") == "văn bà"  # typed with keys: ba2 too
    assert decode("vawn gif") == "văn gì"
    assert decode("co2 va8n") == "co2 văn"  # cò is not 50 times more frequent than co2
