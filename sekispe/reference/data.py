"""Reference code lists, as facts from the JIS/JSIC standards and the RISS scheme.

Sources: JIS X 0401 (prefecture codes), JSIC Rev.14 major groups, and the
guidance themes and syllabus links set out in 003 (the 2025 study-group report,
table around line 911). `sync_reference_data()` loads these into the database
after every migrate, so this module is the single place to change them.
"""

from __future__ import annotations

from typing import NamedTuple


class Block(NamedTuple):
    code: str
    name: str
    name_en: str


class Pref(NamedTuple):
    code: str
    name: str
    short_name: str
    name_en: str
    block: str


BLOCKS: tuple[Block, ...] = (
    Block("hokkaido", "北海道", "Hokkaido"),
    Block("tohoku", "東北", "Tohoku"),
    Block("kanto", "関東", "Kanto"),
    Block("chubu", "中部", "Chubu"),
    Block("kinki", "近畿", "Kinki"),
    Block("chugoku", "中国", "Chugoku"),
    Block("shikoku", "四国", "Shikoku"),
    Block("kyushu", "九州・沖縄", "Kyushu-Okinawa"),
)

PREFECTURES: tuple[Pref, ...] = (
    Pref("01", "北海道", "北海道", "Hokkaido", "hokkaido"),
    Pref("02", "青森県", "青森", "Aomori", "tohoku"),
    Pref("03", "岩手県", "岩手", "Iwate", "tohoku"),
    Pref("04", "宮城県", "宮城", "Miyagi", "tohoku"),
    Pref("05", "秋田県", "秋田", "Akita", "tohoku"),
    Pref("06", "山形県", "山形", "Yamagata", "tohoku"),
    Pref("07", "福島県", "福島", "Fukushima", "tohoku"),
    Pref("08", "茨城県", "茨城", "Ibaraki", "kanto"),
    Pref("09", "栃木県", "栃木", "Tochigi", "kanto"),
    Pref("10", "群馬県", "群馬", "Gunma", "kanto"),
    Pref("11", "埼玉県", "埼玉", "Saitama", "kanto"),
    Pref("12", "千葉県", "千葉", "Chiba", "kanto"),
    Pref("13", "東京都", "東京", "Tokyo", "kanto"),
    Pref("14", "神奈川県", "神奈川", "Kanagawa", "kanto"),
    Pref("15", "新潟県", "新潟", "Niigata", "chubu"),
    Pref("16", "富山県", "富山", "Toyama", "chubu"),
    Pref("17", "石川県", "石川", "Ishikawa", "chubu"),
    Pref("18", "福井県", "福井", "Fukui", "chubu"),
    Pref("19", "山梨県", "山梨", "Yamanashi", "chubu"),
    Pref("20", "長野県", "長野", "Nagano", "chubu"),
    Pref("21", "岐阜県", "岐阜", "Gifu", "chubu"),
    Pref("22", "静岡県", "静岡", "Shizuoka", "chubu"),
    Pref("23", "愛知県", "愛知", "Aichi", "chubu"),
    Pref("24", "三重県", "三重", "Mie", "kinki"),
    Pref("25", "滋賀県", "滋賀", "Shiga", "kinki"),
    Pref("26", "京都府", "京都", "Kyoto", "kinki"),
    Pref("27", "大阪府", "大阪", "Osaka", "kinki"),
    Pref("28", "兵庫県", "兵庫", "Hyogo", "kinki"),
    Pref("29", "奈良県", "奈良", "Nara", "kinki"),
    Pref("30", "和歌山県", "和歌山", "Wakayama", "kinki"),
    Pref("31", "鳥取県", "鳥取", "Tottori", "chugoku"),
    Pref("32", "島根県", "島根", "Shimane", "chugoku"),
    Pref("33", "岡山県", "岡山", "Okayama", "chugoku"),
    Pref("34", "広島県", "広島", "Hiroshima", "chugoku"),
    Pref("35", "山口県", "山口", "Yamaguchi", "chugoku"),
    Pref("36", "徳島県", "徳島", "Tokushima", "shikoku"),
    Pref("37", "香川県", "香川", "Kagawa", "shikoku"),
    Pref("38", "愛媛県", "愛媛", "Ehime", "shikoku"),
    Pref("39", "高知県", "高知", "Kochi", "shikoku"),
    Pref("40", "福岡県", "福岡", "Fukuoka", "kyushu"),
    Pref("41", "佐賀県", "佐賀", "Saga", "kyushu"),
    Pref("42", "長崎県", "長崎", "Nagasaki", "kyushu"),
    Pref("43", "熊本県", "熊本", "Kumamoto", "kyushu"),
    Pref("44", "大分県", "大分", "Oita", "kyushu"),
    Pref("45", "宮崎県", "宮崎", "Miyazaki", "kyushu"),
    Pref("46", "鹿児島県", "鹿児島", "Kagoshima", "kyushu"),
    Pref("47", "沖縄県", "沖縄", "Okinawa", "kyushu"),
)

# Registrants by home prefecture at 2021-04-01 (000, lines 4980-5091; total
# 20,178 including 4 overseas). The demo seed uses these as weights.
REGISTRANTS_2021: dict[str, int] = {
    "01": 241, "02": 42, "03": 84, "04": 239, "05": 40, "06": 40, "07": 52,
    "08": 303, "09": 69, "10": 115, "11": 1607, "12": 1684, "13": 6529, "14": 3815,
    "15": 101, "16": 109, "17": 138, "18": 53, "19": 35, "20": 156, "21": 130,
    "22": 207, "23": 768, "24": 66, "25": 90, "26": 218, "27": 1152, "28": 588,
    "29": 135, "30": 43, "31": 31, "32": 36, "33": 97, "34": 201, "35": 43,
    "36": 36, "37": 92, "38": 55, "39": 23, "40": 413, "41": 34, "42": 41,
    "43": 53, "44": 43, "45": 26, "46": 22, "47": 79,
}  # fmt: skip

# JSIC (Japan Standard Industrial Classification) Rev.14, major groups A-T.
INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("A", "農業，林業", "Agriculture and forestry"),
    ("B", "漁業", "Fisheries"),
    ("C", "鉱業，採石業，砂利採取業", "Mining and quarrying of stone and gravel"),
    ("D", "建設業", "Construction"),
    ("E", "製造業", "Manufacturing"),
    ("F", "電気・ガス・熱供給・水道業", "Electricity, gas, heat supply and water"),
    ("G", "情報通信業", "Information and communications"),
    ("H", "運輸業，郵便業", "Transport and postal activities"),
    ("I", "卸売業，小売業", "Wholesale and retail trade"),
    ("J", "金融業，保険業", "Finance and insurance"),
    ("K", "不動産業，物品賃貸業", "Real estate and goods rental and leasing"),
    (
        "L",
        "学術研究，専門・技術サービス業",
        "Scientific research, professional and technical services",
    ),
    ("M", "宿泊業，飲食サービス業", "Accommodations, eating and drinking services"),
    ("N", "生活関連サービス業，娯楽業", "Living-related and personal services and amusement"),
    ("O", "教育，学習支援業", "Education, learning support"),
    ("P", "医療，福祉", "Medical, health care and welfare"),
    ("Q", "複合サービス事業", "Compound services"),
    ("R", "サービス業（他に分類されないもの）", "Services, n.e.c."),
    ("S", "公務（他に分類されるものを除く）", "Government, except elsewhere classified"),
    ("T", "分類不能の産業", "Industries unable to classify"),
)

SYLLABUS_MAJORS: tuple[tuple[str, str, str], ...] = (
    ("1", "情報セキュリティマネジメントの推進又は支援", "Information security management"),
    ("2", "情報システムの企画・設計・開発・運用でのセキュリティ確保の推進又は支援",
     "Security in system planning, design, development and operation"),
    ("3", "情報及び情報システムの利用におけるセキュリティ対策の適用の推進又は支援",
     "Applying security measures in the use of information and systems"),
    ("4", "情報セキュリティインシデント管理の推進又は支援", "Incident management"),
)  # fmt: skip

SYLLABUS_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("1-1", "情報セキュリティ方針の策定", "Security policy"),
    ("1-2", "情報セキュリティリスクアセスメント", "Risk assessment"),
    ("1-3", "情報セキュリティリスク対応", "Risk treatment"),
    ("1-4", "情報セキュリティ諸規程の策定", "Rules and regulations"),
    ("1-5", "情報セキュリティ監査", "Audit"),
    ("1-6", "情報セキュリティに関する動向・事例の収集と分析", "Trends and case analysis"),
    ("1-7", "関係者とのコミュニケーション", "Stakeholder communication"),
    ("2-1", "セキュリティ要件の定義", "Security requirements"),
    ("2-2", "製品・サービスのセキュアな導入", "Secure adoption of products and services"),
    ("2-3", "アーキテクチャのセキュリティ設計", "Architecture"),
    ("2-4", "セキュリティ機能の設計・実装", "Security functions"),
    ("2-5", "セキュアプログラミング", "Secure programming"),
    ("2-6", "セキュリティテスト", "Security testing"),
    ("2-7", "運用・保守（セキュリティの観点）", "Operation and maintenance"),
    ("2-8", "開発環境のセキュリティ確保", "Development environment"),
    ("3-1", "暗号利用及び鍵管理", "Cryptography and key management"),
    ("3-2", "マルウェア対策", "Malware"),
    ("3-3", "バックアップ", "Backup"),
    ("3-4", "セキュリティ監視並びにログの取得及び分析", "Monitoring and log analysis"),
    ("3-5", "ネットワーク及び機器のセキュリティ管理", "Network and device management"),
    ("3-6", "脆弱性への対応", "Vulnerabilities"),
    ("3-7", "物理的セキュリティ管理", "Physical and environmental security"),
    ("3-8", "アカウント管理及びアクセス管理", "Account and access management"),
    ("3-9", "人的管理", "Personnel security"),
    ("3-10", "サプライチェーンの情報セキュリティの推進", "Supply chain"),
    ("3-11", "コンプライアンス管理", "Compliance"),
    ("4-1", "情報セキュリティインシデントの管理体制の構築", "Incident management structure"),
    ("4-2", "情報セキュリティ事象の評価", "Event assessment"),
    ("4-3", "情報セキュリティインシデントへの対応", "Incident response"),
    ("4-4", "証拠の収集及び分析", "Evidence collection and analysis"),
)


class Theme(NamedTuple):
    code: int
    name: str
    short_name: str
    name_en: str
    goals: tuple[str, str, str]
    syllabus: tuple[str, ...]


_FIRST_GOAL = "自社の現状の情報セキュリティリスクを洗い出す"

# Five guidance themes (指導テーマ); goals and syllabus links per 003 line ~911.
GUIDANCE_THEMES: tuple[Theme, ...] = (
    Theme(1, "情報セキュリティ規程の整備", "規程整備", "Information security rules",
          (_FIRST_GOAL, "基本方針を作り、既存の規程を点検する", "関連規程の案を策定する"),
          ("1-1", "1-4", "1-6", "3-1", "3-2", "3-6", "3-9", "3-11", "4-1")),
    Theme(2, "情報資産の洗い出しとリスク分析", "資産・リスク分析",
          "Information asset inventory and risk analysis",
          (_FIRST_GOAL, "自社の情報資産を洗い出す", "情報資産の一覧についてリスクを分析する"),
          ("1-2", "1-3", "1-6")),
    Theme(3, "クラウドサービスの安全利用", "クラウド安全利用", "Safe use of cloud services",
          (_FIRST_GOAL, "利用中・利用予定のクラウドサービスを洗い出す",
           "洗い出したクラウドサービスの安全利用を点検する"),
          ("1-4", "1-6", "2-2", "3-3", "3-8")),
    Theme(4, "セキュリティインシデント対応", "インシデント対応", "Security incident response",
          (_FIRST_GOAL, "インシデント対応手順書を作成する", "手順書に基づいて机上演習を行う"),
          ("1-6", "3-2", "3-4", "3-7", "4-1", "4-2", "4-3", "4-4")),
    Theme(5, "従業員向け情報セキュリティ教育", "従業員教育", "Employee security education",
          (_FIRST_GOAL, "従業員向けの教育を実施する", "教育結果を振り返り、次の教育計画を立てる"),
          ("1-6", "2-7", "3-9", "4-3")),
)  # fmt: skip

SUPPORT_PERIODS: tuple[tuple[str, str, str], ...] = (
    ("spot", "スポット", "Spot"),
    ("1-3m", "1〜3か月", "1-3 months"),
    ("3-6m", "3か月〜半年", "3-6 months"),
    ("6-12m", "半年〜1年", "6-12 months"),
    ("12m+", "1年以上", "Over 1 year"),
)

SERVICE_FORMS: tuple[tuple[str, str, str], ...] = (
    ("visit", "訪問コンサルティング", "On-site consulting"),
    ("online", "オンラインコンサルティング", "Online consulting"),
    ("training", "講習・研修", "Lecture / training"),
    ("product", "セキュリティ製品の選定・導入支援", "Security product selection support"),
)

AFFILIATIONS: tuple[tuple[str, str, str], ...] = (
    ("sole", "個人事業主", "Sole proprietor"),
    ("company", "企業所属", "Company employee"),
)

QUALIFICATIONS: tuple[tuple[str, str, str], ...] = (
    ("itc", "ITコーディネータ", "IT Coordinator"),
    ("smeca", "中小企業診断士", "SME Management Consultant"),
    ("cissp", "CISSP", "CISSP"),
    ("csa", "公認情報セキュリティ監査人", "Certified Information Security Auditor"),
    ("cisa", "CISA", "CISA"),
    ("pe", "技術士（情報工学部門）", "Professional Engineer (Information Engineering)"),
    ("tax", "税理士", "Certified Tax Accountant"),
    ("cpa", "公認会計士", "Certified Public Accountant"),
)
