"""Near-duplicate detection: MinHash signatures, similarity and LSH grouping.

Only the bundled seed and text written for these tests are used."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.clipping import Clipping, read_clipping
from clipsearch.reprints.minhash import (
    DEFAULT_THRESHOLD,
    MIN_ROWS,
    NUM_HASHES,
    SIGNATURE_BYTES,
    bands_for,
    candidate_probability,
    group,
    signature,
    similarity,
)
from clipsearch.schema import ANALYSIS_VERSION

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_3c8457e68fc84bd7.txt"
SEED_ID = "000_3c8457e68fc84bd7"

# A clipping on another topic, of about the seed's length, written for these tests.
UNRELATED_TITLE = "Nông dân đồng bằng sông Cửu Long xuống giống vụ lúa đông xuân sớm để tránh hạn mặn"
UNRELATED_LEAD = (
    "Trước dự báo xâm nhập mặn đến sớm và sâu hơn mọi năm, nhiều địa phương ở đồng bằng sông Cửu Long đã "
    "khuyến cáo bà con xuống giống lúa đông xuân sớm từ hai đến ba tuần, đồng thời nạo vét kênh mương để trữ "
    "nước ngọt phục vụ sản xuất."
)
UNRELATED_BODY = (
    "Tại huyện Thạnh Phú, tỉnh Bến Tre, những ngày này trên các cánh đồng không khí ra quân gieo sạ diễn ra "
    "tấp nập. Ông Nguyễn Văn Tư, một nông dân có gần hai héc-ta ruộng, cho biết năm nay gia đình ông chọn giống "
    "lúa ngắn ngày, chịu mặn tốt, để kịp thu hoạch trước khi nước mặn tràn vào kênh nội đồng.",
    "Theo Trung tâm Khí tượng thủy văn quốc gia, độ mặn bốn gam mỗi lít có thể lấn sâu vào đất liền từ năm mươi "
    "đến sáu mươi cây số trên các cửa sông lớn. Ngành nông nghiệp các tỉnh đã lập kế hoạch vận hành cống, đắp đập "
    "tạm và bố trí máy bơm dã chiến ở những vùng trũng thấp, nơi thường thiếu nước vào cuối mùa khô.",
    "Bà Lê Thị Hạnh, cán bộ khuyến nông xã, cho biết các tổ hợp tác đã được hướng dẫn cách đo độ mặn bằng máy "
    "cầm tay trước khi lấy nước vào ruộng. Mỗi ấp cử người trực ở đầu kênh để báo tin khi độ mặn vượt ngưỡng cho "
    "phép, giúp bà con chủ động đóng cống và tránh thiệt hại cho lúa đang làm đòng.",
    "Bên cạnh cây lúa, nhiều hộ dân chuyển một phần diện tích sang trồng dưa hấu, bắp và rau màu ít tốn nước. "
    "Hợp tác xã nông nghiệp trong vùng cam kết bao tiêu sản phẩm với giá ổn định, đồng thời hỗ trợ phân bón "
    "hữu cơ và màng phủ nông nghiệp để giữ ẩm cho đất trong những tháng nắng gắt nhất.",
    "Lãnh đạo sở nông nghiệp tỉnh nhận định, nếu thời tiết thuận lợi và lịch thời vụ được tuân thủ nghiêm, "
    "năng suất vụ đông xuân năm nay có thể đạt bảy tấn mỗi héc-ta, cao hơn vụ trước. Tỉnh cũng dành kinh phí "
    "dự phòng để hỗ trợ những hộ bị thiệt hại do hạn mặn kéo dài ngoài dự báo.",
)
REPRINT_TITLE = "Văn phòng cấp ủy phải chuyên nghiệp hơn, đổi mới mạnh mẽ hơn"


@pytest.fixture(scope="module")
def seed() -> Clipping:
    return read_clipping(SEED)


def seed_signature(seed: Clipping) -> bytes:
    return signature(seed.title, seed.lead, seed.body_text)


def reprint(seed: Clipping) -> tuple[str, str, str]:
    """The seed re-published: another title, no lead, one name shortened."""
    body = seed.body_text.replace("Trần Quốc Vượng", "Quốc Vượng")
    assert body != seed.body_text and seed.title != REPRINT_TITLE and seed.lead
    return REPRINT_TITLE, "", body


def sig_of(values: list[int]) -> bytes:
    """A signature with the given MinHash values (for testing :func:`group` directly)."""
    assert len(values) == NUM_HASHES
    return np.asarray(values, dtype="<u2").tobytes()


# ---------------------------------------------------------------------------
# Signatures


def test_signature_size_and_type(seed: Clipping) -> None:
    sig = seed_signature(seed)
    assert isinstance(sig, bytes)
    assert len(sig) == SIGNATURE_BYTES == NUM_HASHES * 2


def test_reprint_is_grouped_with_the_seed_and_unrelated_text_is_not(seed: Clipping) -> None:
    original = seed_signature(seed)
    copy = signature(*reprint(seed))
    other = signature(UNRELATED_TITLE, UNRELATED_LEAD, "\n\n".join(UNRELATED_BODY))
    assert original != copy
    assert similarity(original, copy) >= DEFAULT_THRESHOLD + 0.2
    assert similarity(original, other) < 0.1
    assert similarity(copy, other) < 0.1
    groups = group({SEED_ID: original, "reprint": copy, "unrelated": other})
    assert groups == {SEED_ID: SEED_ID, "reprint": SEED_ID}


def test_unrelated_text_is_about_as_long_as_the_seed(seed: Clipping) -> None:
    seed_length = len(seed.title) + len(seed.lead) + len(seed.body_text)
    other_length = len(UNRELATED_TITLE) + len(UNRELATED_LEAD) + len("\n\n".join(UNRELATED_BODY))
    assert 0.5 * seed_length <= other_length <= 1.5 * seed_length


def test_identical_texts_have_similarity_one(seed: Clipping) -> None:
    a = seed_signature(seed)
    b = signature(seed.title, seed.lead, seed.body_text)
    assert similarity(a, b) == 1.0
    assert similarity(a, signature(*reprint(seed))) < 1.0


def test_signature_is_the_same_in_other_processes(seed: Clipping) -> None:
    code = (
        "import sys\n"
        "from clipsearch.clipping import read_clipping\n"
        "from clipsearch.reprints.minhash import signature\n"
        "c = read_clipping(sys.argv[1])\n"
        "print(signature(c.title, c.lead, c.body_text).hex())\n"
    )
    expected = seed_signature(seed).hex()
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, env=env, check=True
        )
        assert done.stdout.strip() == expected


def test_signature_is_pinned() -> None:
    # Signatures are stored in indexes: a change of hashing must be deliberate, with a new
    # ANALYSIS_VERSION (so indexes holding the old ones are rebuilt). Update both together.
    sig = signature("Hà Nội mùa thu", "Lá vàng rơi trên phố cổ", "")
    assert (ANALYSIS_VERSION, sig.hex()[:32]) == (1, PINNED_PREFIX)


PINNED_PREFIX = "279b7799dddd59b96e07be07eb6e78bc"


def test_nfd_and_tone_placement_do_not_change_the_signature(seed: Clipping) -> None:
    original = seed_signature(seed)
    nfd = [unicodedata.normalize("NFD", s) for s in (seed.title, seed.lead, seed.body_text)]
    assert nfd[2] != seed.body_text
    assert signature(*nfd) == original
    # The seed uses the new placement (ủy, hóa); the old one puts the mark on the second vowel.
    old = [
        s.replace("ủy", "uỷ").replace("Ủy", "Uỷ").replace("hóa", "hoá") for s in (seed.title, seed.lead, seed.body_text)
    ]
    assert old[2] != seed.body_text and "hoá" in old[2]
    assert signature(*old) == original


def test_tone_placement_and_case_in_short_text() -> None:
    assert signature("Hoà bình", "", "uỷ ban") == signature("Hòa bình", "", "ủy ban")
    assert signature("HOÀ BÌNH", "", "ỦY BAN") == signature("hoà bình", "", "uỷ ban")
    assert signature("Hoà bình", "", "uỷ ban") != signature("Hoà bình", "", "uỷ quyền")


def test_very_short_texts_get_signatures() -> None:
    one = signature("Bão", "", "")
    two = signature("Lũ lụt", "", "")
    assert len(one) == len(two) == SIGNATURE_BYTES
    assert similarity(one, signature("bão", "", "")) == 1.0
    assert similarity(one, two) < 0.1
    assert len(signature("", "", "")) == SIGNATURE_BYTES


def test_signature_ignores_diacritics_and_zone_boundaries() -> None:
    # Folded syllables: the same words typed without diacritics are the same shingles.
    assert signature("Đổi mới công tác", "", "") == signature("Doi moi cong tac", "", "")
    # Title, lead and body are one text: where the lead ends does not matter.
    assert signature("Tin", "một hai ba", "bốn năm") == signature("Tin", "", "một hai ba\n\nbốn năm")


_SYLLABLES = ["hoà", "bình", "thuỷ", "lợi", "khoẻ", "mạnh", "uỷ", "ban", "nhân", "dân", "Đà", "Nẵng", "2026", "quý"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=30))
def test_nfd_and_new_placement_give_the_same_signature(words: list[str]) -> None:
    text = " ".join(words)
    new_style = text.replace("hoà", "hòa").replace("thuỷ", "thủy").replace("khoẻ", "khỏe").replace("uỷ", "ủy")
    expected = signature(text, "", "")
    assert signature(unicodedata.normalize("NFD", text), "", "") == expected
    assert signature("", new_style, "") == expected


# ---------------------------------------------------------------------------
# Similarity


def test_similarity_counts_equal_values() -> None:
    a = sig_of(list(range(NUM_HASHES)))
    b = sig_of(list(range(NUM_HASHES // 4)) + [60000 + i for i in range(NUM_HASHES - NUM_HASHES // 4)])
    assert similarity(a, a) == 1.0
    assert similarity(a, b) == 0.25
    assert similarity(a, b) == similarity(b, a)


def test_similarity_rejects_signatures_of_different_sizes() -> None:
    with pytest.raises(ValueError):
        similarity(b"\x00\x00" * 4, b"\x00\x00" * 5)
    with pytest.raises(ValueError):
        similarity(b"\x00\x00\x00", b"\x00\x00\x00")


# ---------------------------------------------------------------------------
# Grouping


def chain() -> dict[str, bytes]:
    """Three signatures a ~ b (0.625) and b ~ c (0.625) but a !~ c (0.25), and a stranger."""
    a = list(range(NUM_HASHES))
    b = a[:40] + [1000 + i for i in range(40, NUM_HASHES)]
    c = [2000 + i for i in range(24)] + b[24:]
    d = [3000 + i for i in range(NUM_HASHES)]
    # The smallest id is an end of the chain, inserted last.
    return {"m-middle": sig_of(b), "z-end": sig_of(a), "d-stranger": sig_of(d), "c-end": sig_of(c)}


def test_group_is_transitive_and_names_the_smallest_id() -> None:
    sigs = chain()
    assert similarity(sigs["z-end"], sigs["m-middle"]) == 0.625
    assert similarity(sigs["m-middle"], sigs["c-end"]) == 0.625
    assert similarity(sigs["z-end"], sigs["c-end"]) == 0.25
    expected = {"c-end": "c-end", "m-middle": "c-end", "z-end": "c-end"}
    assert group(sigs, threshold=0.6) == expected
    # The result does not depend on the order of the mapping.
    assert group(dict(reversed(list(sigs.items()))), threshold=0.6) == expected


def test_group_threshold_is_inclusive_and_splits_the_chain() -> None:
    sigs = chain()
    assert group(sigs, threshold=0.625) == {"c-end": "c-end", "m-middle": "c-end", "z-end": "c-end"}
    assert group(sigs, threshold=0.64) == {}
    assert group(sigs, threshold=0.2) == {"c-end": "c-end", "m-middle": "c-end", "z-end": "c-end"}


def test_group_joins_identical_signatures() -> None:
    same = sig_of([7] * NUM_HASHES)
    other = sig_of(list(range(NUM_HASHES)))
    assert group({"b": same, "a": same, "c": same, "x": other}) == {"a": "a", "b": "a", "c": "a"}


def test_group_of_nothing_or_one() -> None:
    assert group({}) == {}
    assert group({"only": sig_of(list(range(NUM_HASHES)))}) == {}


def test_group_rejects_mixed_sizes() -> None:
    with pytest.raises(ValueError):
        group({"a": b"\x00\x00" * NUM_HASHES, "b": b"\x00\x00" * (NUM_HASHES // 2)})


def test_group_finds_pairs_hidden_in_many_signatures() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 1 << 16, size=(2000, NUM_HASHES), dtype=np.uint16)
    # Pair 10 with 1500 at a similarity just above the default threshold, in scattered positions.
    shared = rng.permutation(NUM_HASHES)[: int(np.ceil(DEFAULT_THRESHOLD * NUM_HASHES))]
    values[1500, shared] = values[10, shared]
    sigs = {f"id{i:04d}": row.astype("<u2").tobytes() for i, row in enumerate(values)}
    assert group(sigs) == {"id0010": "id0010", "id1500": "id0010"}


# ---------------------------------------------------------------------------
# LSH parameters


@pytest.mark.parametrize("threshold", [0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
def test_bands_find_pairs_at_the_threshold(threshold: float) -> None:
    bands, rows = bands_for(threshold)
    assert bands * rows <= NUM_HASHES
    assert candidate_probability(threshold, bands, rows) >= 0.99
    # More rows per band would miss too many pairs at the threshold (or not fit).
    more = rows + 1
    assert NUM_HASHES // more == 0 or candidate_probability(threshold, NUM_HASHES // more, more) < 0.99


def test_bands_have_at_least_two_rows() -> None:
    assert bands_for(0.3) == (NUM_HASHES // MIN_ROWS, MIN_ROWS) == (32, 2)
    assert bands_for(0.05) == (32, 2)
    assert candidate_probability(0.3, 32, 2) > 0.95


def test_bands_reject_bad_thresholds() -> None:
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            bands_for(bad)
