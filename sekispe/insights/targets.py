"""The numbers the scheme is steered by, and the areas they count.

- 50,000 registered specialists by 2030 (003).
- SECURITY ACTION: 70,000 participating SMEs in the 36 prefectures outside
  the three big metropolitan areas (000, 001). The documents name the 36
  prefectures only as "3 大都市圏を除く 36 道県"; the 11 left out are the three
  metropolitan areas as the national statistics define them (東京圏, 名古屋圏,
  関西圏), which leaves exactly one 道 and 35 県: see docs/insights.md.
"""

from __future__ import annotations

import datetime as dt

REGISTRANT_TARGET = 50_000
REGISTRANT_TARGET_DAY = dt.date(2030, 12, 31)
SECURITY_ACTION_TARGET = 70_000

# JIS X 0401 codes of the three big metropolitan areas (三大都市圏).
METRO_PREFECTURES: dict[str, tuple[str, ...]] = {
    # 東京圏: 埼玉県, 千葉県, 東京都, 神奈川県
    "tokyo": ("11", "12", "13", "14"),
    # 名古屋圏: 岐阜県, 愛知県, 三重県
    "nagoya": ("21", "23", "24"),
    # 関西圏: 京都府, 大阪府, 兵庫県, 奈良県
    "kansai": ("26", "27", "28", "29"),
}
EXCLUDED_PREFECTURES: frozenset[str] = frozenset(
    code for codes in METRO_PREFECTURES.values() for code in codes
)


def outside_metro(prefecture: str) -> bool:
    """True for the 36 prefectures the SECURITY ACTION target counts."""
    return bool(prefecture) and prefecture not in EXCLUDED_PREFECTURES
