"""The downloadable PDF of a self-diagnosis result.

Rendered from the same `presentation.result_context()` dict as the result page,
so the page and the PDF cannot disagree. Japanese is set in the shared font of
`sekispe.lib.pdf` (a built-in CID font: nothing embedded, the PDF stays small).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sekispe.core.mail import site_url
from sekispe.lib.pdf import register_japanese_font as _register_font

# The result page's colours (static/css/diagnosis.css), so a printout reads like the page.
SEGMENT_COLOURS = {
    "done": colors.HexColor("#1d6b3a"),
    "partly": colors.HexColor("#7fbf8f"),
    "not_done": colors.HexColor("#c9d1da"),
    "unknown": colors.HexColor("#d98c1f"),
}
# Count labels drawn inside a segment need contrast with its fill.
SEGMENT_INK = {
    "done": colors.white,
    "partly": colors.HexColor("#1b1b1b"),
    "not_done": colors.HexColor("#1b1b1b"),
    "unknown": colors.HexColor("#1b1b1b"),
}
ANSWER_INK = {
    "done": colors.HexColor("#1d6b3a"),
    "partly": colors.HexColor("#2f6b3f"),
    "not_done": colors.HexColor("#1b1b1b"),
    "unknown": colors.HexColor("#7a4b00"),
}
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#5a6270")
RULE = colors.HexColor("#c9d1da")
ACCENT_HEX = "#1f4e79"
ACCENT = colors.HexColor(ACCENT_HEX)
PALE = colors.HexColor("#eef3f8")

MARGIN_X = 18 * mm
MARGIN_TOP = 16 * mm
# Room for the footer: the search path may wrap to a second line.
MARGIN_BOTTOM = 26 * mm
FOOTER_TOP = MARGIN_BOTTOM - 4 * mm


def _styles() -> dict[str, ParagraphStyle]:
    # Japanese breaks lines between any two characters; English only at spaces.
    return _styles_for("CJK" if (get_language() or "ja").startswith("ja") else None)


@cache
def _styles_for(word_wrap: str | None) -> dict[str, ParagraphStyle]:
    font = _register_font()
    body = ParagraphStyle(
        "body", fontName=font, fontSize=9.5, leading=14, textColor=INK, wordWrap=word_wrap
    )
    return {
        "body": body,
        "title": ParagraphStyle("title", body, fontSize=17, leading=24, spaceAfter=2),
        "lead": ParagraphStyle("lead", body, textColor=MUTED, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2",
            body,
            fontSize=12.5,
            leading=18,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3", body, fontSize=10.5, leading=15, spaceBefore=5, spaceAfter=2, keepWithNext=1
        ),
        "step": ParagraphStyle("step", body, fontSize=8.5, leading=12, alignment=1),
        "step_current": ParagraphStyle(
            "step_current", body, fontSize=8.5, leading=12, alignment=1, textColor=colors.white
        ),
        "bullet": ParagraphStyle(
            "bullet",
            body,
            leftIndent=14,
            bulletIndent=2,
            bulletFontName=font,
            spaceAfter=1,
        ),
        "why": ParagraphStyle(
            "why", body, fontSize=8.5, leading=12, leftIndent=14, textColor=MUTED, spaceAfter=3
        ),
        "small": ParagraphStyle("small", body, fontSize=8.5, leading=12, textColor=MUTED),
        "footer": ParagraphStyle("footer", body, fontSize=7.5, leading=10, textColor=MUTED),
        "footer_page": ParagraphStyle(
            "footer_page", body, fontSize=7.5, leading=10, textColor=MUTED, alignment=2
        ),
        "cell": ParagraphStyle("cell", body, fontSize=8.5, leading=12),
        "cell_head": ParagraphStyle("cell_head", body, fontSize=8.5, leading=12, textColor=MUTED),
        **{
            f"answer_{kind}": ParagraphStyle(
                f"answer_{kind}", body, fontSize=8.5, leading=12, textColor=ink
            )
            for kind, ink in ANSWER_INK.items()
        },
    }


def _t(value: object) -> str:
    """Text from the context (lazy translations included), safe as Paragraph markup."""
    return escape(str(value))


def _em(text: object) -> str:
    # The CID font has no bold face, so emphasis is by colour.
    return f'<font color="{ACCENT_HEX}">{_t(text)}</font>'


def _p(text: object, style: str = "body") -> Paragraph:
    return Paragraph(_t(text), _styles()[style])


def _bullets(items: Iterable[object]) -> list[Paragraph]:
    style = _styles()["bullet"]
    return [Paragraph(_t(item), style, bulletText="・") for item in items]


def _question_list(questions: Sequence[dict[str, Any]], *, show_answer: bool) -> list[Flowable]:
    styles = _styles()
    flowables: list[Flowable] = []
    for q in questions:
        text = _t(q["text"])
        if show_answer:
            text += _t(_("（現在の回答：%(answer)s）") % {"answer": q["answer_label"]})
        flowables.append(Paragraph(text, styles["bullet"], bulletText=f"{q['number']}."))
        if q.get("why"):
            flowables.append(Paragraph(_t(q["why"]), styles["why"]))
    return flowables


def _step_ladder(context: dict[str, Any], width: float) -> Table:
    styles = _styles()
    step = context["result"].step
    cells = []
    for s in context["steps"]:
        style = styles["step_current"] if s["current"] else styles["step"]
        marker = _t(_("（現在）")) if s["current"] else ""
        cells.append(Paragraph(f"Step {s['number']}{marker}<br/>{_t(s['title'])}", style))
    table = Table([cells], colWidths=[width / len(cells)] * len(cells))
    commands: list[tuple[Any, ...]] = [
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("INNERGRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]
    for n, s in enumerate(context["steps"]):
        if s["current"]:
            commands.append(("BACKGROUND", (n, 0), (n, 0), ACCENT))
        elif s["number"] < step:
            commands.append(("BACKGROUND", (n, 0), (n, 0), PALE))
    table.setStyle(TableStyle(commands))
    return table


def _part_bars(chart: dict[str, Any], width: float) -> Drawing:
    """One stacked bar per part from the counts of each answer kind, and a legend."""
    font = _register_font()
    size, row_h, bar_h, pad, score_w = 9, 22, 14, 6, 36
    rows = chart["rows"]
    label_w = max((pdfmetrics.stringWidth(str(r.label), font, size) for r in rows), default=0)
    bar_x = label_w + pad
    track = width - bar_x - pad - score_w
    legend_h = 18
    height = row_h * len(rows) + legend_h
    drawing = Drawing(width, height)
    for n, row in enumerate(rows):
        y = height - (n + 1) * row_h + (row_h - bar_h) / 2
        text_y = y + (bar_h - size) / 2 + 1.5
        drawing.add(
            String(label_w, text_y, str(row.label), fontName=font, fontSize=size, textAnchor="end")
        )
        drawing.add(
            Rect(bar_x, y, track, bar_h, fillColor=colors.white, strokeColor=RULE, strokeWidth=0.5)
        )
        total = sum(s.count for s in row.segments)
        used = 0
        for s in row.segments:
            if not s.count:
                continue
            # Cumulative positions, so rounding never leaves a gap at the end of the track.
            x0 = bar_x + track * used / total
            used += s.count
            x1 = bar_x + track * used / total
            drawing.add(
                Rect(x0, y, x1 - x0, bar_h, fillColor=SEGMENT_COLOURS[s.kind], strokeColor=None)
            )
            if x1 - x0 >= 12:
                drawing.add(
                    String(
                        (x0 + x1) / 2,
                        text_y,
                        str(s.count),
                        fontName=font,
                        fontSize=size - 1,
                        fillColor=SEGMENT_INK[s.kind],
                        textAnchor="middle",
                    )
                )
        drawing.add(
            String(
                bar_x + track + pad,
                text_y,
                _("%(score)s点") % {"score": row.score},
                fontName=font,
                fontSize=size,
            )
        )
    x = bar_x
    for kind, label in chart["legend"]:
        drawing.add(Rect(x, 3, 9, 9, fillColor=SEGMENT_COLOURS[kind], strokeColor=None))
        drawing.add(String(x + 12, 4, str(label), fontName=font, fontSize=size - 1))
        x += 12 + pdfmetrics.stringWidth(str(label), font, size - 1) + 14
    return drawing


def _grid(rows: list[list[Any]], col_widths: list[float], *, header: bool = True) -> Table:
    table = Table(rows, colWidths=col_widths, repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), _register_font()),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), PALE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, MUTED),
        ]
    table.setStyle(TableStyle(commands))
    return table


def _score_table(context: dict[str, Any], width: float) -> Table:
    head = [_("分野"), _("点数"), *[label for _kind, label in context["chart"]["legend"]]]
    rows: list[list[Any]] = [[_p(h, "cell_head") for h in head]]
    kinds = [kind for kind, _label in context["chart"]["legend"]]
    for part in context["parts"]:
        rows.append(
            [_p(part["label"], "cell"), _p(part["score"], "cell")]
            + [_p(part["counts"][k], "cell") for k in kinds]
        )
    rest = (width - 0.3 * width - 0.1 * width) / len(kinds)
    return _grid(rows, [0.3 * width, 0.1 * width] + [rest] * len(kinds))


def _answers_table(context: dict[str, Any], width: float) -> Table:
    styles = _styles()
    rows: list[list[Any]] = [
        [_p(_("設問"), "cell_head"), _p(_("内容"), "cell_head"), _p(_("回答"), "cell_head")]
    ]
    for q in context["answers"]:
        rows.append(
            [
                _p(q["number"], "cell"),
                _p(q["text"], "cell"),
                Paragraph(_t(q["answer_label"]), styles[f"answer_{q['answer']}"]),
            ]
        )
    return _grid(rows, [12 * mm, width - 12 * mm - 30 * mm, 30 * mm])


def _security_action(level: int) -> str:
    if level >= 2:
        return _("★★二つ星を宣言できる段階です")
    if level == 1:
        return _("★一つ星を宣言できる段階です")
    return _("まだ宣言できる段階ではありません（Step 1 の完了が目安です）")


def _story(context: dict[str, Any], width: float) -> list[Flowable]:
    result = context["result"]
    guide = context["guide"]
    story: list[Flowable] = [_p(_("情報セキュリティ自己診断の結果"), "title")]
    if context.get("answered_on"):
        story.append(
            _p(
                _("%(date)s 回答（設問バージョン %(version)s）")
                % {"date": context["answered_on"], "version": result.version},
                "lead",
            )
        )

    story += [
        _p(
            _("あなたの会社は Step %(step)s「%(title)s」の段階です")
            % {"step": result.step, "title": guide.title},
            "h2",
        ),
        _step_ladder(context, width),
        Spacer(1, 5),
        _p(guide.summary),
        Spacer(1, 3),
        Paragraph(
            f"{_em('SECURITY ACTION')}：{_t(_security_action(result.security_action))}",
            _styles()["body"],
        ),
    ]

    story += [
        _p(_("総合 %(total)s点（100点満点）") % {"total": result.total}, "h2"),
        KeepTogether(
            [_part_bars(context["chart"], width), Spacer(1, 6), _score_table(context, width)]
        ),
        Spacer(1, 3),
        _p(
            _(
                "点数は「できている」を2点、「一部できている」を1点として、満点に対する割合で表しています。"
            ),
            "small",
        ),
    ]

    unknown = context["unknown_questions"]
    if unknown:
        story += [
            _p(
                ngettext(
                    "「分からない」と答えた項目が%(n)s件あります",
                    "「分からない」と答えた項目が%(n)s件あります",
                    len(unknown),
                )
                % {"n": len(unknown)},
                "h2",
            ),
            _p(
                _(
                    "分からないままでは、守れているかどうかも判断できません。まず社内の担当者や付き合いのあるITベンダーに確かめることが、最初の一歩です。"
                )
            ),
            Spacer(1, 3),
            *_question_list(unknown, show_answer=False),
        ]
    else:
        story += [
            _p(_("「分からない」と答えた項目"), "h2"),
            _p(_("「分からない」と答えた項目はありません。")),
        ]

    requirements = context["requirements"]
    if context.get("all_done"):
        story += [
            _p(_("すべての対策ができています"), "h2"),
            _p(
                _(
                    "Step 4 は続けることが目標です。使う仕組みや事業が変わるたびに、もう一度診断して見直しましょう。"
                )
            ),
        ]
    elif context.get("next_step"):
        story += [
            _p(
                _("Step %(step)s「%(title)s」に進むには")
                % {"step": context["next_step"], "title": context["next_guide"].title},
                "h2",
            ),
            _p(
                ngettext(
                    "次の%(n)s項目を「できている」にしましょう。",
                    "次の%(n)s項目を「できている」にしましょう。",
                    len(requirements),
                )
                % {"n": len(requirements)}
            ),
            Spacer(1, 3),
            *_question_list(requirements, show_answer=True),
        ]
    else:
        story += [
            _p(_("継続的な改善のために"), "h2"),
            *_question_list(requirements, show_answer=True),
        ]

    story.append(
        _p(
            _("Step %(step)s「%(title)s」で取り組むこと")
            % {"step": result.step, "title": guide.title},
            "h2",
        )
    )
    for heading, items in (
        (_("実施する対策"), guide.measures),
        (_("社内の担当者のタスク"), guide.internal_tasks),
        (_("外部の専門家（登録セキスペ）に頼めること"), guide.specialist_tasks),
        (_("人材の確保・育成"), guide.talent_measures),
    ):
        if items:
            story += [_p(heading, "h3"), *_bullets(items)]
    story += [
        Spacer(1, 3),
        _p(
            _(
                "出典：経済産業省「中小企業のサイバーセキュリティ対策の実践的方策ガイド」の内容を要約しています。"
            ),
            "small",
        ),
    ]

    story.append(_p(_("専門家に相談するとよいテーマ"), "h2"))
    if context["themes"]:
        styles = _styles()
        story += [
            Paragraph(_t(t["label"]), styles["bullet"], bulletText=f"{n}.")
            for n, t in enumerate(context["themes"], start=1)
        ]
    else:
        story.append(
            _p(
                _(
                    "大きな課題は見つかりませんでした。より強固な対策の相談先として、専門家の一覧を見ることができます。"
                )
            )
        )
    story += [
        Spacer(1, 4),
        Paragraph(_search_line(context), _styles()["body"]),
        _p(
            _(
                "テーマ、所在地、業種で絞り込んだアクティブリストが開きます。近くに専門家がいない場合は、近隣の地域やオンライン対応の専門家も案内します。"
            ),
            "small",
        ),
    ]

    if context.get("profile_rows"):
        rows = [
            [_p(label, "cell_head"), _p(value, "cell")] for label, value in context["profile_rows"]
        ]
        story += [
            _p(_("会社について"), "h2"),
            _grid(rows, [35 * mm, width - 35 * mm], header=False),
        ]
        if context.get("customer_demand"):
            story += [
                Spacer(1, 3),
                _p(
                    _(
                        "取引先から対策を求められている場合は、SECURITY ACTION の宣言や、サプライチェーン対策の評価制度への対応について、専門家に相談できます。"
                    )
                ),
            ]

    story += [_p(_("すべての回答"), "h2"), _answers_table(context, width)]

    return story


def _search_line(context: dict[str, Any]) -> str:
    return f"{_em(_('この課題に対応できる専門家を探す'))}：{_t(_absolute(context['search_url']))}"


def _absolute(url: str) -> str:
    """A printed link must work on its own: a path becomes SITE_URL + path."""
    return site_url(url) if url.startswith("/") else url


class _Stamp:
    """reportlab's TimeStamp for a given moment: the PDF's /CreationDate and /ModDate."""

    def __init__(self, moment: dt.datetime) -> None:
        offset = moment.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        self.t = moment.timestamp()
        self.lt = moment.timetuple()
        self.YMDhms = tuple(self.lt)[:6]
        # reportlab writes the offset as %+03d'%02d': hours with sign, then minutes.
        self.dhh = int(minutes / 60)
        self.dmm = abs(minutes) % 60
        self.tzname = moment.tzname()


def _canvas_made_at(moment: dt.datetime) -> type[Canvas]:
    class StampedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = _Stamp(moment)

    return StampedCanvas


def _footer(context: dict[str, Any]) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Every page ends with where to find a specialist, that the share link shows
    this same result, and the page number: a single printed page still says it."""
    styles = _styles()
    share = _t(_("共有用リンクを開くと、このPDFと同じ結果を見られます。"))
    if context.get("share_url"):
        share += f" {_t(context['share_url'])}"

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        width = doc.width
        page = _t(_("%(page)s ページ") % {"page": doc.page})
        lines = [
            Paragraph(_search_line(context), styles["footer"]),
            Table(
                [[Paragraph(share, styles["footer"]), Paragraph(page, styles["footer_page"])]],
                colWidths=[width - 20 * mm, 20 * mm],
                style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)],
            ),
        ]
        y = FOOTER_TOP
        canvas.setStrokeColor(RULE)
        canvas.line(doc.leftMargin, y, doc.leftMargin + width, y)
        y -= 3
        for line in lines:
            _w, h = line.wrapOn(canvas, width, FOOTER_TOP)
            y -= h
            line.drawOn(canvas, doc.leftMargin, y)
        canvas.restoreState()

    return draw


def render_pdf(
    context: dict[str, Any], *, compress: bool = True, created: dt.datetime | None = None
) -> bytes:
    """The result as an A4 PDF, created now (or at `created`, which tests fix).

    `invariant` keeps reportlab's random document id out of the file, so one
    result at one moment always gives the same bytes; the creation date is set
    by the canvas, not left at reportlab's invariant 2000-01-01.
    `compress=False` leaves the page streams readable (for tests)."""
    _register_font()
    moment = timezone.localtime(created or timezone.now())
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=_("情報セキュリティ自己診断の結果"),
        author="sekispe",
        subject=_("情報セキュリティ自己診断"),
        creator="sekispe",
        lang=get_language() or "ja",
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    footer = _footer(context)
    doc.build(
        _story(context, doc.width),
        onFirstPage=footer,
        onLaterPages=footer,
        canvasmaker=_canvas_made_at(moment),
    )
    return buffer.getvalue()
