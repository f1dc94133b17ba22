"""Deterministic, realistic demo data for the Active List.

`generate_specialists(n, seed, today)` draws everything from one
`random.Random(seed)` and reads the calendar only through `today` (the
anchor), so the same N, seed and anchor always give the same specialists. The
`seed-demo` command passes the fixed `DEMO_ANCHOR`, so the data does not drift
with the run date.

Proportions follow the facts in docs (003, 000): home prefectures weighted by
the 2021 registrant table, registration on 1 April or 1 October for 3 years,
a common course every fiscal year and a practical course once per period.
Nothing here is a real person, company, address or telephone number.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

from sekispe.lib.dates import add_years, fiscal_year, period_end
from sekispe.listings.models import Availability
from sekispe.listings.services import CourseInput, ListingInput, WriteCounts, write_listings
from sekispe.reference import data
from sekispe.reference.models import Affiliation
from sekispe.reference.services import block_prefectures, prefecture_block
from sekispe.registry.models import RegistryStatus

T = TypeVar("T")

# The anchor the command passes. Current periods start at most 2.5 years
# before it, so with 2026-10-01 every active registration runs until at least
# 2027-03-31 (and is therefore visible when the demo is run in 2026-27).
# Move it forward by half-years to keep the demo current.
DEMO_ANCHOR = dt.date(2026, 10, 1)

# The first RISS registrations took effect on 2017-04-01; nobody can have
# been registered earlier, which bounds the renewal count.
FIRST_REGISTRATION = dt.date(2017, 4, 1)

JST = dt.timezone(dt.timedelta(hours=9))

# --- names ---------------------------------------------------------------------
# (kanji, katakana reading, romaji for e-mail addresses)

SURNAMES: tuple[tuple[str, str, str], ...] = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"), ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"), ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"), ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"), ("中島", "ナカジマ", "nakajima"), ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"), ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"), ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"), ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"), ("坂本", "サカモト", "sakamoto"), ("斉藤", "サイトウ", "saito"),
    ("福田", "フクダ", "fukuda"), ("太田", "オオタ", "ota"), ("西村", "ニシムラ", "nishimura"),
    ("藤井", "フジイ", "fujii"), ("金子", "カネコ", "kaneko"), ("岡本", "オカモト", "okamoto"),
    ("藤原", "フジワラ", "fujiwara"), ("中野", "ナカノ", "nakano"), ("三浦", "ミウラ", "miura"),
    ("原田", "ハラダ", "harada"), ("中川", "ナカガワ", "nakagawa"), ("松田", "マツダ", "matsuda"),
    ("竹内", "タケウチ", "takeuchi"), ("小野", "オノ", "ono"), ("田村", "タムラ", "tamura"),
    ("中山", "ナカヤマ", "nakayama"), ("和田", "ワダ", "wada"), ("石田", "イシダ", "ishida"),
    ("森田", "モリタ", "morita"), ("上田", "ウエダ", "ueda"), ("原", "ハラ", "hara"),
    ("内田", "ウチダ", "uchida"), ("柴田", "シバタ", "shibata"), ("酒井", "サカイ", "sakai"),
    ("宮崎", "ミヤザキ", "miyazaki"), ("横山", "ヨコヤマ", "yokoyama"), ("高木", "タカギ", "takagi"),
    ("安藤", "アンドウ", "ando"), ("宮本", "ミヤモト", "miyamoto"), ("大野", "オオノ", "ohno"),
    ("小島", "コジマ", "kojima"), ("谷口", "タニグチ", "taniguchi"), ("工藤", "クドウ", "kudo"),
    ("今井", "イマイ", "imai"), ("高田", "タカダ", "takada"), ("増田", "マスダ", "masuda"),
    ("丸山", "マルヤマ", "maruyama"), ("杉山", "スギヤマ", "sugiyama"), ("村田", "ムラタ", "murata"),
    ("大塚", "オオツカ", "otsuka"), ("新井", "アライ", "arai"), ("小山", "コヤマ", "koyama"),
    ("平野", "ヒラノ", "hirano"), ("藤本", "フジモト", "fujimoto"), ("河野", "コウノ", "kono"),
    ("上野", "ウエノ", "ueno"), ("野口", "ノグチ", "noguchi"), ("武田", "タケダ", "takeda"),
    ("松井", "マツイ", "matsui"), ("千葉", "チバ", "chiba"), ("岩崎", "イワサキ", "iwasaki"),
    ("菅原", "スガワラ", "sugawara"), ("木下", "キノシタ", "kinoshita"), ("久保", "クボ", "kubo"),
    ("佐野", "サノ", "sano"), ("野村", "ノムラ", "nomura"), ("松尾", "マツオ", "matsuo"),
    ("市川", "イチカワ", "ichikawa"), ("菊地", "キクチ", "kikuchi"), ("杉本", "スギモト", "sugimoto"),
    ("古川", "フルカワ", "furukawa"), ("大西", "オオニシ", "onishi"), ("島田", "シマダ", "shimada"),
    ("水野", "ミズノ", "mizuno"), ("桜井", "サクライ", "sakurai"), ("高野", "タカノ", "takano"),
    ("吉川", "ヨシカワ", "yoshikawa"), ("山内", "ヤマウチ", "yamauchi"), ("西田", "ニシダ", "nishida"),
    ("飯田", "イイダ", "iida"), ("比嘉", "ヒガ", "higa"), ("金城", "キンジョウ", "kinjo"),
)  # fmt: skip

MALE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("健太", "ケンタ", "kenta"), ("翔太", "ショウタ", "shota"), ("大輔", "ダイスケ", "daisuke"),
    ("拓也", "タクヤ", "takuya"), ("直樹", "ナオキ", "naoki"), ("健一", "ケンイチ", "kenichi"),
    ("誠", "マコト", "makoto"), ("浩", "ヒロシ", "hiroshi"), ("隆", "タカシ", "takashi"),
    ("剛", "ツヨシ", "tsuyoshi"), ("亮", "リョウ", "ryo"), ("大樹", "ダイキ", "daiki"),
    ("翔", "ショウ", "sho"), ("拓海", "タクミ", "takumi"), ("悠斗", "ユウト", "yuto"),
    ("蓮", "レン", "ren"), ("陽介", "ヨウスケ", "yosuke"), ("和也", "カズヤ", "kazuya"),
    ("達也", "タツヤ", "tatsuya"), ("雄一", "ユウイチ", "yuichi"), ("修", "オサム", "osamu"),
    ("聡", "サトシ", "satoshi"), ("学", "マナブ", "manabu"), ("徹", "トオル", "toru"),
    ("淳", "ジュン", "jun"), ("裕介", "ユウスケ", "yusuke"), ("康弘", "ヤスヒロ", "yasuhiro"),
    ("正人", "マサト", "masato"), ("智之", "トモユキ", "tomoyuki"), ("秀樹", "ヒデキ", "hideki"),
    ("哲也", "テツヤ", "tetsuya"), ("浩二", "コウジ", "koji"), ("義明", "ヨシアキ", "yoshiaki"),
    ("俊介", "シュンスケ", "shunsuke"), ("健二", "ケンジ", "kenji"), ("一郎", "イチロウ", "ichiro"),
    ("武", "タケシ", "takeshi"), ("博之", "ヒロユキ", "hiroyuki"), ("光太郎", "コウタロウ", "kotaro"),
    ("慎也", "シンヤ", "shinya"), ("圭", "ケイ", "kei"), ("航", "ワタル", "wataru"),
    ("涼太", "リョウタ", "ryota"), ("雅樹", "マサキ", "masaki"), ("貴之", "タカユキ", "takayuki"),
    ("昌平", "ショウヘイ", "shohei"), ("優", "ユウ", "yu"), ("洋平", "ヨウヘイ", "yohei"),
    ("大介", "ダイスケ", "daisuke"), ("信也", "シンヤ", "shinya"), ("克也", "カツヤ", "katsuya"),
    ("正樹", "マサキ", "masaki"),
)  # fmt: skip

FEMALE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("陽子", "ヨウコ", "yoko"), ("恵子", "ケイコ", "keiko"), ("裕子", "ユウコ", "yuko"),
    ("美穂", "ミホ", "miho"), ("直美", "ナオミ", "naomi"), ("智子", "トモコ", "tomoko"),
    ("久美子", "クミコ", "kumiko"), ("由美", "ユミ", "yumi"), ("真由美", "マユミ", "mayumi"),
    ("恵", "メグミ", "megumi"), ("愛", "アイ", "ai"), ("彩", "アヤ", "aya"), ("舞", "マイ", "mai"),
    ("麻衣", "マイ", "mai"), ("美咲", "ミサキ", "misaki"), ("沙織", "サオリ", "saori"),
    ("香織", "カオリ", "kaori"), ("明美", "アケミ", "akemi"), ("陽菜", "ヒナ", "hina"),
    ("結衣", "ユイ", "yui"), ("さくら", "サクラ", "sakura"), ("千尋", "チヒロ", "chihiro"),
    ("奈々", "ナナ", "nana"), ("理恵", "リエ", "rie"), ("由佳", "ユカ", "yuka"),
    ("亜希子", "アキコ", "akiko"), ("友美", "トモミ", "tomomi"), ("美紀", "ミキ", "miki"),
    ("純子", "ジュンコ", "junko"), ("典子", "ノリコ", "noriko"), ("綾香", "アヤカ", "ayaka"),
    ("優子", "ユウコ", "yuko"), ("幸子", "サチコ", "sachiko"), ("真理", "マリ", "mari"),
    ("里美", "サトミ", "satomi"), ("瞳", "ヒトミ", "hitomi"), ("葵", "アオイ", "aoi"),
    ("遥", "ハルカ", "haruka"), ("千春", "チハル", "chiharu"), ("紀子", "ノリコ", "noriko"),
    ("美和", "ミワ", "miwa"), ("玲奈", "レイナ", "reina"), ("菜摘", "ナツミ", "natsumi"),
    ("早紀", "サキ", "saki"), ("加奈子", "カナコ", "kanako"), ("由紀", "ユキ", "yuki"),
    ("絵美", "エミ", "emi"), ("涼子", "リョウコ", "ryoko"), ("景子", "ケイコ", "keiko"),
)  # fmt: skip

# Registrants are mostly men; the share of women is an assumption, not a figure
# from the documents.
FEMALE_SHARE = 0.15

# --- companies ------------------------------------------------------------------

COMPANY_STEMS: tuple[tuple[str, str], ...] = (
    ("東都", "toto"), ("みらい", "mirai"), ("さくら", "sakura"), ("アオバ", "aoba"),
    ("北斗", "hokuto"), ("ひかり", "hikari"), ("大和", "yamato"), ("浪速", "naniwa"),
    ("中部", "chubu"), ("瀬戸内", "setouchi"), ("しなの", "shinano"), ("フジ", "fuji"),
    ("ミナト", "minato"), ("あさひ", "asahi"), ("白樺", "shirakaba"), ("若葉", "wakaba"),
    ("つばさ", "tsubasa"), ("コスモ", "cosmo"), ("杜の都", "morinomiyako"), ("紀州", "kishu"),
    ("筑紫", "tsukushi"), ("出雲", "izumo"), ("琉球", "ryukyu"), ("湘南", "shonan"),
    ("武蔵野", "musashino"), ("常陸", "hitachino"), ("房総", "boso"), ("上州", "joshu"),
    ("加賀", "kaga"), ("伊予", "iyo"), ("阿波", "awa"), ("肥後", "higo"),
)  # fmt: skip

COMPANY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("{}システム株式会社", "{}-system"),
    ("株式会社{}ITコンサルティング", "{}-itc"),
    ("{}情報技術株式会社", "{}-it"),
    ("株式会社{}セキュリティ", "{}-security"),
    ("{}ソリューションズ株式会社", "{}-solutions"),
    ("{}ネットワークサービス株式会社", "{}-net"),
    ("株式会社{}電算", "{}-densan"),
    ("{}ITサポート合同会社", "{}-itsupport"),
)

# --- codes and weights ------------------------------------------------------------

# Share of listings that name each guidance theme is an assumption: rules and
# risk analysis are the most requested first steps for SMEs (003).
THEME_WEIGHTS: dict[int, float] = {1: 30, 2: 24, 3: 20, 4: 16, 5: 22}
THEME_COUNT_WEIGHTS = (30, 35, 22, 13)  # 1, 2, 3 or 4 themes

INDUSTRY_WEIGHTS: dict[str, float] = {
    "A": 1, "B": 0.5, "C": 0.3, "D": 10, "E": 18, "F": 1.5, "G": 10, "H": 5, "I": 13,
    "J": 4, "K": 4, "L": 5, "M": 4, "N": 3, "O": 3, "P": 9, "Q": 1, "R": 8, "S": 2,
}  # fmt: skip

INDUSTRY_LABELS: dict[str, str] = {
    "A": "農業法人", "B": "漁業協同組合", "C": "採石業", "D": "建設業", "E": "製造業",
    "F": "エネルギー事業者", "G": "情報通信業", "H": "運輸業", "I": "卸売・小売業",
    "J": "金融・保険業", "K": "不動産業", "L": "士業事務所", "M": "飲食業・宿泊業",
    "N": "生活関連サービス業", "O": "教育機関", "P": "医療・福祉", "Q": "協同組合",
    "R": "サービス業", "S": "自治体",
}  # fmt: skip

PERIOD_SHARES: dict[str, float] = {
    "spot": 0.75, "1-3m": 0.6, "3-6m": 0.5, "6-12m": 0.35, "12m+": 0.25,
}  # fmt: skip

QUALIFICATION_WEIGHTS: dict[str, float] = {
    "itc": 30, "smeca": 14, "cissp": 16, "csa": 14, "cisa": 10, "pe": 6, "tax": 2, "cpa": 2,
}  # fmt: skip

OTHER_QUALIFICATIONS = (
    "情報セキュリティマネジメント試験",
    "ネットワークスペシャリスト",
    "システム監査技術者",
    "データベーススペシャリスト",
    "ITストラテジスト",
    "プロジェクトマネージャ",
    "CompTIA Security+",
    "ISMS審査員補",
    "個人情報保護士",
    "GIAC GCIH",
)

SPECIFIC_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("株式会社セキュリティ教育センター", "SEC"),
    ("一般社団法人情報セキュリティ人材育成協会", "ISHR"),
    ("株式会社サイバー演習ラボ", "CRL"),
    ("デジタル人材アカデミー株式会社", "DHA"),
    ("株式会社インシデント対応研究所", "IRI"),
)

# Area code of each prefectural capital, for plausible landline numbers.
AREA_CODES: dict[str, str] = {
    "01": "011", "02": "017", "03": "019", "04": "022", "05": "018", "06": "023", "07": "024",
    "08": "029", "09": "028", "10": "027", "11": "048", "12": "043", "13": "03", "14": "045",
    "15": "025", "16": "076", "17": "076", "18": "0776", "19": "055", "20": "026", "21": "058",
    "22": "054", "23": "052", "24": "059", "25": "077", "26": "075", "27": "06", "28": "078",
    "29": "0742", "30": "073", "31": "0857", "32": "0852", "33": "086", "34": "082", "35": "083",
    "36": "088", "37": "087", "38": "089", "39": "088", "40": "092", "41": "0952", "42": "095",
    "43": "096", "44": "097", "45": "0985", "46": "099", "47": "098",
}  # fmt: skip

# --- text fragments ---------------------------------------------------------------

BACKGROUNDS = (
    "SIerのシステムエンジニア",
    "社内情報システム部門の担当者",
    "セキュリティ専門企業のコンサルタント",
    "ネットワークエンジニア",
    "地方銀行のシステム部門",
    "製造業の情報システム部門",
    "ITベンダーのプリセールス",
    "データセンターのインフラエンジニア",
    "自治体向けシステムの開発者",
    "監査法人のIT監査担当",
    "SOC（セキュリティ監視センター）のアナリスト",
)

CAREER_FOCUS = (
    "中小企業のIT環境の構築と運用",
    "業務システムの設計・開発",
    "社内ネットワークとサーバの運用",
    "情報セキュリティ監査",
    "ログ監視とインシデントの初動対応",
    "ISMS認証の取得・維持の支援",
    "脆弱性診断とWebアプリケーションの改修支援",
    "ヘルプデスクとPC・アカウントの管理",
)

THEME_SENTENCES: dict[int, tuple[str, ...]] = {
    1: (
        "情報セキュリティ基本方針や規程の整備を、会社の規模と実態に合わせて無理なく進めることを得意としています。",
        "ひな形をそのまま使うのではなく、現場で守れる規程づくりを心がけています。",
        "ISMSやプライバシーマークの取得を見据えた規程整備もご相談ください。",
    ),
    2: (
        "情報資産台帳の作成からリスク分析まで、経営者の方にも分かる言葉でご説明します。",
        "IPAの「中小企業の情報セキュリティ対策ガイドライン」に沿って、情報資産の洗い出しとリスク分析を支援しています。",
        "どこに重要な情報があるかを情報資産台帳で見える化し、対策の優先順位を一緒に決めます。",
    ),
    3: (
        "Microsoft 365やGoogle Workspaceなどクラウドサービスの設定点検と、テレワーク環境の安全対策を支援します。",
        "クラウドの共有設定やアカウント管理を見直し、情報漏えいの芽を摘みます。",
        "クラウドサービスの利用ルールづくりと多要素認証の導入を、業務を止めずに進めます。",
    ),
    4: (
        "ランサムウェア被害を想定したインシデント対応手順書の作成と机上演習を実施しています。",
        "万一のインシデント対応では、初動の切り分けから関係機関への報告まで伴走します。",
        "バックアップとログの取得状況を確認し、被害を最小化する備えをご提案します。",
    ),
    5: (
        "標的型攻撃メール訓練や従業員教育の企画・講師を多数務めています。",
        "専門用語を使わない従業員教育で、「自分ごと」として考えてもらえる研修を心がけています。",
        "テレワーク時代の情報の持ち出しやSNS利用のルールなど、身近な題材で従業員教育を行います。",
    ),
}

EXTRA_SENTENCES = (
    "SECURITY ACTIONの一つ星・二つ星宣言の支援も行っています。",
    "取引先から求められるサプライチェーン対策への対応もご相談ください。",
    "脆弱性診断の結果の読み解きと、対策の優先順位付けをお手伝いします。",
    "まずは「5分でできる！情報セキュリティ自社診断」で現状を一緒に確認するところから始めます。",
    "商工会議所の相談会で個別相談を担当した経験があります。",
    "IT導入補助金を活用したセキュリティ製品の選定もご相談に応じます。",
    "ISMS認証の取得・更新審査への準備も支援しています。",
)

CLOSINGS = (
    "「何から始めればよいか分からない」という段階からお気軽にご相談ください。",
    "経営者の方と同じ目線で、身の丈に合った対策を一緒に考えます。",
    "遠方の方もオンラインで対応いたします。",
    "社内に担当者がいない企業でも、無理なく続けられる仕組みづくりを大切にしています。",
)

TRACK_TEMPLATES: dict[int, tuple[str, ...]] = {
    1: (
        "情報セキュリティ基本方針と関連規程（アクセス管理・外部委託・インシデント対応）を策定",
        "ISMS認証取得に向けた規程類の整備と内部監査を支援",
        "既存の就業規則・情報管理規程を点検し、テレワーク規程を追加",
    ),
    2: (
        "情報資産台帳を作成し、リスク分析の結果から対策の優先順位を整理",
        "顧客の個人情報を含む情報資産の洗い出しとリスク評価を実施",
        "5分でできる自社診断をもとに情報資産台帳とリスク対応計画を作成",
    ),
    3: (
        "テレワーク導入に伴うクラウドサービスの設定点検と利用ルールの策定",
        "クラウドストレージの共有設定を見直し、多要素認証を導入",
        "利用中のクラウドサービス{n}件を棚卸しし、安全利用チェックを実施",
    ),
    4: (
        "ランサムウェア感染時のインシデント対応を支援し、復旧と再発防止策を提案",
        "インシデント対応手順書を作成し、机上演習を{n}回実施",
        "不正アクセスの痕跡調査とログ分析を行い、報告書を作成",
    ),
    5: (
        "全従業員向けの従業員教育と標的型攻撃メール訓練を実施（開封率{a}%→{b}%）",
        "新入社員向け情報セキュリティ研修の講師を{n}年連続で担当",
        "管理職向けにインシデント発生時の判断を学ぶ従業員教育を実施",
    ),
}

EXTRA_TRACKS = (
    "Webサイトの脆弱性診断と改修方針の助言",
    "取引先からのサプライチェーンセキュリティ要請への対応を支援",
    "SECURITY ACTION二つ星の宣言と自社診断を支援",
    "UTM・EDRなどセキュリティ製品の比較検討と導入を支援",
)

COMPANY_SIZES = (5, 8, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 300)


# --- helpers ----------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _weighted_sample(rng: random.Random, weights: dict[T, float], k: int) -> list[T]:
    """k distinct keys, each drawn in proportion to its weight (no replacement)."""
    pool = dict(weights)
    chosen: list[T] = []
    for _ in range(min(k, len(pool))):
        pick = rng.choices(list(pool), weights=list(pool.values()))[0]
        chosen.append(pick)
        del pool[pick]
    return chosen


def _round_to(value: float, step: int) -> int:
    return round(value / step) * step


def _fee(rng: random.Random, low: int, high: int, mode: int, step: int) -> int:
    """A fee in [low, high] on a `step` grid, most often near `mode`."""
    return max(low, min(high, _round_to(rng.triangular(low, high, mode), step)))


def registration_start(anchor: dt.date) -> dt.date:
    """The latest registration date (1 April or 1 October) on or before `anchor`."""
    if anchor.month >= 10:
        return dt.date(anchor.year, 10, 1)
    if anchor.month >= 4:
        return dt.date(anchor.year, 4, 1)
    return dt.date(anchor.year - 1, 10, 1)


def _months_back(day: dt.date, half_years: int) -> dt.date:
    """`day` (a 1 April or 1 October) moved back by `half_years` half-years."""
    months = day.year * 12 + (day.month - 1) - 6 * half_years
    return dt.date(months // 12, months % 12 + 1, 1)


def _random_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


# --- the parts of one specialist -------------------------------------------------


def _regions(rng: random.Random, home: str) -> tuple[str, ...]:
    """Always home; often neighbours in the same block; occasionally a wide area."""
    block = prefecture_block(home)
    neighbours = [c for c in block_prefectures(block) if c != home]
    chosen = {home}
    roll = rng.random()
    if roll < 0.04:  # nationwide (online-first specialists)
        chosen.update(p.code for p in data.PREFECTURES)
    elif roll < 0.12:  # the whole block plus an adjacent one
        chosen.update(neighbours)
        others = [b.code for b in data.BLOCKS if b.code != block]
        chosen.update(block_prefectures(rng.choice(others)))
    elif roll < 0.70 and neighbours:
        weights = {c: data.REGISTRANTS_2021[c] ** 0.5 for c in neighbours}
        chosen.update(_weighted_sample(rng, weights, rng.randint(1, min(3, len(neighbours)))))
    return tuple(sorted(chosen))


def _syllabus(rng: random.Random, themes: Sequence[int]) -> tuple[str, ...]:
    """Mostly the chosen themes' syllabus links, plus a few other sub-items."""
    links = {t.code: t.syllabus for t in data.GUIDANCE_THEMES}
    chosen: set[str] = set()
    for theme in themes:
        items = links[theme]
        chosen.update(rng.sample(items, rng.randint(max(1, len(items) // 2), len(items))))
    all_codes = [code for code, _, _ in data.SYLLABUS_ITEMS]
    chosen.update(rng.sample(all_codes, rng.choice((0, 0, 1, 1, 2))))
    return tuple(sorted(chosen, key=all_codes.index))


def _update_age_seconds(rng: random.Random) -> int:
    """Most listings were touched in the last four months; some are stale (要更新,
    over 180 days) and a few are over a year old, so hidden until confirmed."""
    roll = rng.random()
    days = (
        rng.randint(0, 120) if roll < 0.86 else rng.randint(190, 330) if roll < 0.97
        else rng.randint(370, 430)
    )  # fmt: skip
    return days * 86400 + rng.randint(0, 86399)


def _fees(rng: random.Random) -> dict[str, int]:
    visit = rng.random() < 0.80
    online = rng.random() < 0.85
    if not (visit or online):
        online = True
    fees: dict[str, int] = {}
    if visit:
        fees["visit"] = _fee(rng, 20_000, 100_000, 35_000, 5_000)
    if online:
        # Online sessions are shorter and cheaper than a visit.
        fees["online"] = _fee(rng, 5_000, 50_000, 12_000, 1_000)
    if rng.random() < 0.40:
        fees["training"] = _fee(rng, 30_000, 200_000, 60_000, 10_000)
    if rng.random() < 0.22:
        fees["product"] = _fee(rng, 30_000, 150_000, 50_000, 10_000)
    return fees


def _phone(rng: random.Random, home: str, mobile: bool) -> str:
    # A local number never starts with 0 in Japan, so a leading 0 after the
    # area code makes every generated number impossible to dial.
    if mobile:
        return f"{rng.choice(('090', '080', '070'))}-0{rng.randint(0, 999):03d}-{rng.randint(0, 9999):04d}"
    area = AREA_CODES[home]
    local_digits = 10 - len(area) - 4
    local = "0" + "".join(str(rng.randint(0, 9)) for _ in range(local_digits - 1))
    return f"{area}-{local}-{rng.randint(0, 9999):04d}"


def _qualifications(rng: random.Random) -> tuple[tuple[str, ...], str]:
    codes: list[str] = []
    if rng.random() < 0.40:
        k = rng.choices((1, 2, 3), weights=(75, 20, 5))[0]
        codes = _weighted_sample(rng, QUALIFICATION_WEIGHTS, k)
    other = ""
    if rng.random() < 0.15:
        other = "、".join(rng.sample(OTHER_QUALIFICATIONS, rng.choice((1, 1, 2))))
    order = [code for code, _, _ in data.QUALIFICATIONS]
    return tuple(sorted(codes, key=order.index)), other


def _profile(
    rng: random.Random,
    *,
    themes: Sequence[int],
    industries: Sequence[str],
    home: str,
    company: str,
    career_years: int,
) -> str:
    parts = [
        f"{rng.choice(BACKGROUNDS)}として約{career_years}年、"
        f"{rng.choice(CAREER_FOCUS)}に携わってきました。"
    ]
    home_name = next(p.short_name for p in data.PREFECTURES if p.code == home)
    if company:
        parts.append(f"現在は{company}で、中小企業向けの情報セキュリティ支援を担当しています。")
    else:
        parts.append(
            f"独立後は個人事業主として、{home_name}を中心に中小企業の情報セキュリティ支援を行っています。"
        )
    for theme in themes:
        parts.append(rng.choice(THEME_SENTENCES[theme]))
    if industries:
        labels = "、".join(INDUSTRY_LABELS[c] for c in industries[:3])
        parts.append(
            f"特に{labels}のお客様の支援実績が多く、業界特有の事情を踏まえたご提案が可能です。"
        )
    parts.extend(rng.sample(EXTRA_SENTENCES, rng.choice((0, 1, 1, 2))))
    parts.append(rng.choice(CLOSINGS))
    return "".join(parts)


def _track_record(rng: random.Random, themes: Sequence[int], industries: Sequence[str]) -> str:
    lines: list[str] = []
    candidates = [rng.choice(TRACK_TEMPLATES[t]) for t in themes]
    # A second item from the main theme or a side task, so every record has 2-4 lines.
    extra = rng.sample(EXTRA_TRACKS, 1 if len(candidates) > 1 else 2)
    candidates.extend(extra[: 1 if rng.random() < 0.5 or len(candidates) == 1 else 0])
    if len(candidates) < 2:
        candidates.append(extra[-1])
    for template in candidates[: rng.randint(2, 4)]:
        industry = INDUSTRY_LABELS[rng.choice(industries)] if industries else "中小企業"
        a = rng.randint(15, 40)
        text = template.format(n=rng.randint(2, 8), a=a, b=rng.randint(1, a // 3))
        lines.append(f"・{industry}（従業員{rng.choice(COMPANY_SIZES)}名）：{text}")
    return "\n".join(lines)


def _courses(
    rng: random.Random, registered_on: dt.date, anchor: dt.date
) -> tuple[CourseInput, ...]:
    """Common course in most fiscal years of the period so far; practical for most."""
    courses: list[CourseInput] = []
    last_fy = fiscal_year(anchor)
    for fy in range(fiscal_year(registered_on), last_fy + 1):
        fy_start = max(dt.date(fy, 4, 1), registered_on)
        fy_end = min(dt.date(fy + 1, 3, 31), anchor)
        # The running fiscal year is only partly done; a missed past year is
        # rare but real (it shows up as "courses not up to date").
        share = 0.55 if fy == last_fy else 0.95
        # Someone registered days ago has not had time to take the course yet.
        if (fy_end - fy_start).days >= 30 and rng.random() < share:
            courses.append(
                CourseInput(
                    kind="common", completed_on=_random_day(rng, fy_start, fy_end), provider="IPA"
                )
            )
    elapsed_years = (anchor - registered_on).days / 365
    # Most take the practical course in the first two years of the period.
    if elapsed_years > 0.1 and rng.random() < min(0.95, 0.2 + 0.4 * elapsed_years):
        day = _random_day(rng, registered_on, anchor)
        if rng.random() < 0.55:
            courses.append(
                CourseInput(
                    kind="practical",
                    completed_on=day,
                    provider="IPA",
                    course_code=rng.choice(("IPA-GD", "IPA-IR", "IPA-CS")),
                )
            )
        else:
            provider, prefix = rng.choice(SPECIFIC_PROVIDERS)
            courses.append(
                CourseInput(
                    kind="specific",
                    completed_on=day,
                    provider=provider,
                    course_code=f"{prefix}-{fiscal_year(day)}-{rng.randint(1, 12):02d}",
                )
            )
    return tuple(sorted(courses, key=lambda c: (c.completed_on, c.kind)))


# --- the generator ------------------------------------------------------------------


def generate_specialists(n: int, seed: int, today: dt.date) -> list[ListingInput]:
    """`n` demo specialists; the same (n, seed, today) always gives the same list.

    `today` is the anchor: current periods start on one of the six registration
    dates up to it, so active registrations expire at least 6 months after it.
    """
    if n < 0:
        raise ValueError("n must be zero or more")
    if n > 900_000:
        raise ValueError("registration numbers have 6 digits; at most 900,000 specialists")
    rng = random.Random(seed)
    anchor_start = registration_start(today)
    prefs = list(data.REGISTRANTS_2021)
    pref_weights = list(data.REGISTRANTS_2021.values())

    people: list[tuple[dt.date, float, dict[str, Any]]] = []
    for _ in range(n):
        home = rng.choices(prefs, weights=pref_weights)[0]
        surname, surname_kana, surname_roma = rng.choice(SURNAMES)
        given_pool = FEMALE_NAMES if rng.random() < FEMALE_SHARE else MALE_NAMES
        given, given_kana, given_roma = rng.choice(given_pool)

        # Registry facts. A few lapsed registrants exercise the visibility rule.
        status_roll = rng.random()
        if status_roll < 0.015:
            status = RegistryStatus.EXPIRED
            registered_on = _months_back(anchor_start, rng.randint(7, 10))
        elif status_roll < 0.03:
            status = RegistryStatus.DEREGISTERED
            registered_on = _months_back(anchor_start, rng.randint(0, 5))
        else:
            status = RegistryStatus.ACTIVE
            registered_on = _months_back(anchor_start, rng.randint(0, 5))
        expires_on = period_end(registered_on)
        max_renewals = 0
        while add_years(registered_on, -3 * (max_renewals + 1)) >= FIRST_REGISTRATION:
            max_renewals += 1
        renewal_count = rng.choices(
            range(max_renewals + 1), weights=[0.5, 0.3, 0.15, 0.05, 0.03, 0.02][: max_renewals + 1]
        )[0]
        first_registered = add_years(registered_on, -3 * renewal_count)

        k = rng.choices((1, 2, 3, 4), weights=THEME_COUNT_WEIGHTS)[0]
        themes = tuple(sorted(_weighted_sample(rng, THEME_WEIGHTS, k)))
        industry_order = [code for code, _, _ in data.INDUSTRIES]
        industries = tuple(
            sorted(
                _weighted_sample(rng, INDUSTRY_WEIGHTS, rng.choice((1, 2, 2, 3, 3, 4))),
                key=industry_order.index,
            )
        )
        periods = tuple(code for code, share in PERIOD_SHARES.items() if rng.random() < share)
        periods = periods or (rng.choice(("spot", "1-3m")),)
        qualifications, other_quals = _qualifications(rng)

        sole = rng.random() < 0.55
        company = ""
        company_slug = ""
        if not sole:
            stem, stem_roma = rng.choice(COMPANY_STEMS)
            pattern, slug = rng.choice(COMPANY_PATTERNS)
            company, company_slug = pattern.format(stem), slug.format(stem_roma)
        if sole:
            domain = rng.choice(("example.jp", "example.com"))
            email = f"{given_roma}.{surname_roma}{rng.randint(1, 99)}@{domain}"
        else:
            email = f"{surname_roma}.{given_roma[0]}@{company_slug}.example.jp"
        phone = _phone(rng, home, mobile=sole and rng.random() < 0.5)
        if rng.random() < 0.08:
            phone = ""  # e-mail only
        web = ""
        if rng.random() < 0.35:
            web = (
                f"https://{surname_roma}-security.example.jp/"
                if sole
                else f"https://www.{company_slug}.example.jp/"
            )

        availability = Availability.ACCEPTING
        availability_until: dt.date | None = None
        if rng.random() < 0.15:
            availability = Availability.NOT_ACCEPTING
            if rng.random() < 0.45:  # back after a busy spell
                availability_until = today + dt.timedelta(days=rng.randint(14, 240))

        career_years = max(5, (today - first_registered).days // 365 + rng.randint(4, 20))
        fields: dict[str, Any] = {
            "name": f"{surname} {given}",
            "name_kana": f"{surname_kana} {given_kana}",
            "registered_on": registered_on,
            "expires_on": expires_on,
            "home_prefecture": home,
            "prefectures": _regions(rng, home),
            "themes": themes,
            "syllabus_items": _syllabus(rng, themes),
            "industries": industries,
            "periods": periods,
            "qualifications": qualifications,
            "other_qualifications": other_quals,
            "first_free": rng.random() < 0.35,
            "fees": _fees(rng),
            "affiliation": Affiliation.SOLE if sole else Affiliation.COMPANY,
            # Employees whose employer forbids side work are not listed (003).
            "employer_permits_outside_work": not sole,
            "company_name": company,
            "email": email,
            "phone": phone,
            "web": web,
            "profile": _profile(
                rng,
                themes=themes,
                industries=industries,
                home=home,
                company=company,
                career_years=career_years,
            ),
            "track_record": _track_record(rng, themes, industries),
            "availability": availability,
            "availability_until": availability_until,
            "renewal_count": renewal_count,
            "status": status,
            "courses": _courses(rng, registered_on, min(today, expires_on)),
            "updated_at": dt.datetime.combine(today, dt.time(12, 0), tzinfo=JST)
            - dt.timedelta(seconds=_update_age_seconds(rng)),
        }
        people.append((first_registered, rng.random(), fields))

    # Numbers are issued in order of first registration, as the registry does;
    # the second key breaks ties within one registration date at random.
    numbers = sorted(rng.sample(range(1, min(999_999, max(30_000, n * 8 // 5)) + 1), n))
    people.sort(key=lambda p: (p[0], p[1]))
    # Registry-only facts come from their own generator so that adding them did
    # not change any listing drawn above for a given seed.
    registry_rng = random.Random(f"{seed}-registry")
    items = [
        ListingInput(
            registration_number=f"{number:06d}",
            **fields,
            **_registry_facts(registry_rng, first_registered, fields["email"]),
        )
        for number, (first_registered, _, fields) in zip(numbers, people, strict=True)
    ]
    # Return in a shuffled, seeded order so bulk writes don't follow the numbers.
    rng.shuffle(items)
    return items


# Ages of new registrants in 2020 (domain.md): 20s 26%, 30s 34%, 40s 29%, 50s 10%, 60s 1%.
AGE_AT_REGISTRATION = ((25, 0.26), (35, 0.34), (45, 0.29), (55, 0.10), (63, 0.01))
# What registrants choose to show on the public search service (公開届); many show nothing.
PUBLICATION_CHOICES = (
    ((), 0.35),
    (("name", "name_kana", "home_prefecture"), 0.35),
    (("name", "name_kana", "home_prefecture", "birth_year", "registered_on"), 0.2),
    (("name", "name_kana", "home_prefecture", "registered_on", "email"), 0.1),
)


def _registry_facts(rng: random.Random, first_registered: dt.date, email: str) -> dict[str, Any]:
    centre = rng.choices(
        [age for age, _ in AGE_AT_REGISTRATION], weights=[w for _, w in AGE_AT_REGISTRATION]
    )[0]
    age_then = max(20, min(70, centre + rng.randint(-5, 4)))
    published = rng.choices(
        [items for items, _ in PUBLICATION_CHOICES], weights=[w for _, w in PUBLICATION_CHOICES]
    )[0]
    return {
        "birth_year": first_registered.year - age_then,
        # Most registrants gave IPA the same address they list publicly.
        "registry_email": email if rng.random() < 0.9 else "",
        "published_items": published,
    }


def write_demo_specialists(
    items: list[ListingInput],
    *,
    actor_label: str,
    source: dict[str, Any],
    progress: bool,
    desc: str = "デモデータ投入",
) -> WriteCounts:
    """Write generated specialists through `write_listings` behind a tqdm bar."""
    from tqdm import tqdm

    # disable=None lets tqdm stay quiet when stderr is not a terminal.
    with tqdm(
        total=len(items), desc=desc, unit="件", file=sys.stderr, disable=None if progress else True
    ) as bar:
        # Demo data is not a change anybody made: no history rows.
        return write_listings(
            items,
            actor_label=actor_label,
            source=source,
            progress=bar.update,
            record_history=False,
        )


# --- the review queue ---------------------------------------------------------------


def create_demo_review_queue(changes: int = 8, first_time: int = 4) -> int:
    """Approval transitions for the seeded listings and a review queue with real diffs.

    Seeded listings are written published with no history (demo data is
    nobody's change); each gets the approval transition it would have had.
    `changes` live listings then get a gated edit through the lifecycle (one
    more theme, every other one a longer track record), so the review shows
    live → proposed while the listing stays in search. `first_time` never
    published listings wait as first applications, with no earlier version
    to compare. Does nothing once a queue exists. Returns the queue length.
    """
    from sekispe.listings import lifecycle
    from sekispe.listings.models import (
        Listing,
        ListingRevision,
        ListingStatus,
        ListingTransition,
    )

    S = ListingStatus
    if Listing.objects.filter(status=S.SUBMITTED).exists() or ListingRevision.objects.exists():
        return 0
    approved = Listing.objects.filter(status=S.PUBLISHED, transitions__isnull=True)
    ListingTransition.objects.bulk_create(
        (
            ListingTransition(
                listing_id=pk,
                from_status=S.SUBMITTED,
                to_status=S.PUBLISHED,
                actor_label="seed-demo",
                note="demo",
                created_at=updated_at,
            )
            for pk, updated_at in approved.values_list("pk", "updated_at").iterator()
        ),
        batch_size=1000,
    )
    # Visible ones without an account (the demo specialist keeps a plain listing).
    picked = list(
        Listing.objects.visible()
        .filter(record__account__isnull=True)
        .select_related("record")
        .order_by("-record__registration_number")[: changes + first_time]
    )
    for i, listing in enumerate(picked[:changes]):
        themes = set(listing.themes.values_list("pk", flat=True))
        extra = next((t.code for t in data.GUIDANCE_THEMES if t.code not in themes), None)
        values = {}
        if i % 2 or extra is None:
            values["track_record"] = (
                listing.track_record + "\n" if listing.track_record else ""
            ) + "2026年度は小売業2社でクラウドサービスの利用規程づくりを支援しました。"
        lifecycle.update_listing(
            listing,
            lifecycle.ListingChanges(
                sets={"themes": themes | ({extra} if extra else set())}, values=values
            ),
            actor=None,
        )
    waiting = [listing.pk for listing in picked[changes:]]
    # Never published: their approval transition goes, they wait as first applications.
    ListingTransition.objects.filter(listing_id__in=waiting).delete()
    Listing.objects.filter(pk__in=waiting).update(status=S.SUBMITTED)
    ListingTransition.objects.bulk_create(
        ListingTransition(
            listing_id=pk,
            from_status=S.DRAFT,
            to_status=S.SUBMITTED,
            actor_label="seed-demo",
            note="demo",
        )
        for pk in waiting
    )
    return len(picked)
