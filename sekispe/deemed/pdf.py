"""The fixed form (様式) of deemed attendance, filled in, as a PDF.

One form for both readers: the certifier downloads it from the e-mailed link
and the specialist from their application page, for organisations that want
paper on file. It holds everything the specialist declared, the oath they
signed, and the certifier's part with boxes for a signature and a seal
(署名欄・押印欄); once the certifier has answered on the site, their name,
title and the date are filled in.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
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

from sekispe.deemed import services
from sekispe.deemed.models import CertificationRequest, CertifierRelation, DeemedApplication
from sekispe.lib.pdf import register_japanese_font

INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#5a6270")
RULE = colors.HexColor("#8a94a3")
PALE = colors.HexColor("#eef3f8")
MARGIN = 16 * mm
LABEL_WIDTH = 38 * mm
FORM_NUMBER = "様式 D-1"


@cache
def _styles(word_wrap: str | None) -> dict[str, ParagraphStyle]:
    font = register_japanese_font()
    body = ParagraphStyle(
        "body", fontName=font, fontSize=9.5, leading=14, textColor=INK, wordWrap=word_wrap
    )
    return {
        "body": body,
        "small": ParagraphStyle("small", body, fontSize=8, leading=11, textColor=MUTED),
        "right": ParagraphStyle("right", body, fontSize=8.5, leading=12, alignment=2),
        "title": ParagraphStyle(
            "title", body, fontSize=16, leading=22, alignment=1, spaceBefore=2, spaceAfter=2
        ),
        "subtitle": ParagraphStyle(
            "subtitle", body, fontSize=9, leading=13, alignment=1, textColor=MUTED, spaceAfter=6
        ),
        "h2": ParagraphStyle(
            "h2", body, fontSize=11, leading=16, spaceBefore=8, spaceAfter=3, keepWithNext=1
        ),
        "label": ParagraphStyle("label", body, fontSize=8.5, leading=12, textColor=MUTED),
        "box_label": ParagraphStyle(
            "box_label", body, fontSize=8, leading=11, textColor=MUTED, alignment=0
        ),
        "seal": ParagraphStyle(
            "seal", body, fontSize=14, leading=18, alignment=1, textColor=colors.HexColor("#c9d1da")
        ),
    }


def _style(name: str) -> ParagraphStyle:
    # Japanese breaks lines between any two characters; English only at spaces.
    return _styles("CJK" if (get_language() or "ja").startswith("ja") else None)[name]


def _p(text: object, style: str = "body") -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), _style(style))


def _blank_date() -> Table:
    """A date the certifier writes by hand: 「　　年　　月　　日」. Blank cells
    make the room (the CID font has no glyph for a no-break space, and
    Paragraph collapses ordinary ones)."""
    cells = ["", _p(_("年")), "", _p(_("月")), "", _p(_("日"))]
    table = Table([cells], colWidths=[18 * mm, 6 * mm, 10 * mm, 6 * mm, 10 * mm, 6 * mm])
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    table.hAlign = "LEFT"
    return table


def _ja(day: dt.date | None) -> str:
    if day is None:
        return ""
    return _("%(y)d年%(m)d月%(d)d日") % {"y": day.year, "m": day.month, "d": day.day}


def _rows(rows: list[tuple[str, Any]], width: float) -> Table:
    """A two-column form: grey labels on the left, the declared value on the right."""
    data = [
        [_p(label, "label"), value if isinstance(value, Flowable) else _p(value)]
        for label, value in rows
    ]
    table = Table(data, colWidths=[LABEL_WIDTH, width - LABEL_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (0, -1), PALE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _signature_boxes(width: float) -> Table:
    """署名欄 (wide) and 押印欄 (a square), each labelled inside its top edge,
    with an empty column between them as the gap."""
    seal, gap = 30 * mm, 6 * mm
    data = [
        [_p(_("署名欄（自署）"), "box_label"), "", _p(_("押印欄"), "box_label")],
        ["", "", _p(_("印"), "seal")],
    ]
    table = Table(
        data, colWidths=[width - seal - gap, gap, seal], rowHeights=[5 * mm, seal - 5 * mm]
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 1), 0.8, INK),
                ("BOX", (2, 0), (2, 1), 0.8, INK),
                ("VALIGN", (0, 0), (-1, 0), "TOP"),
                ("VALIGN", (2, 1), (2, 1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def confirmed_certification(application: DeemedApplication) -> CertificationRequest | None:
    return (
        application.certifications.filter(outcome=CertificationRequest.Outcome.CONFIRMED)
        .order_by("-used_at")
        .first()
    )


def _story(
    application: DeemedApplication, certification: CertificationRequest | None, width: float
) -> list[Flowable]:
    record = application.record
    item = application.syllabus_item
    period_start = (
        services.period_of(record).starts_on
        if (record.expires_on == application.period_expires_on)
        else None
    )
    story: list[Flowable] = [
        _p(
            _("%(form)s　申請番号 %(ref)s") % {"form": FORM_NUMBER, "ref": application.reference},
            "right",
        ),
        _p(_("みなし受講 業務証明書"), "title"),
        _p(
            _(
                "情報処理安全確保支援士の登録更新に係る講習（実践講習・特定講習）のみなし受講のための"
                "業務の証明"
            ),
            "subtitle",
        ),
        _p(_("独立行政法人情報処理推進機構 理事長 殿")),
        Spacer(1, 3 * mm),
        _p(_("1. 申請者"), "h2"),
        _rows(
            [
                (_("氏名"), record.name),
                (_("登録番号"), record.registration_number),
                (
                    _("対象期間"),
                    _("%(start)s〜%(end)s（有効期限）")
                    % {"start": _ja(period_start), "end": _ja(application.period_expires_on)}
                    if period_start
                    else _("%(end)sまでの期間") % {"end": _ja(application.period_expires_on)},
                ),
            ],
            width,
        ),
        _p(_("2. 業務の内容"), "h2"),
        _rows(
            [
                (
                    _("シラバスの小項目"),
                    f"{item.code} {item.name}（{item.major.code} {item.major.name}）",
                ),
                (_("業務を行った組織"), application.organisation),
                (_("組織との関係"), CertifierRelation(application.relation).label),
                (_("担当した役割"), application.role),
                (
                    _("業務の期間"),
                    _("%(start)s〜%(end)s")
                    % {
                        "start": _ja(application.work_started_on),
                        "end": _ja(application.work_ended_on),
                    },
                ),
                (_("従事時間"), _("%(hours)d時間") % {"hours": application.hours}),
                (_("業務の名称・概要"), application.work_summary),
                (_("業務の内容"), application.description),
            ],
            width,
        ),
        _p(_("3. 申請者の宣誓"), "h2"),
        _rows(
            [
                (_("宣誓文"), application.oath_text),
                (
                    _("宣誓日時"),
                    timezone.localtime(application.oath_signed_at).strftime("%Y-%m-%d %H:%M"),
                ),
            ],
            width,
        ),
    ]
    story.append(KeepTogether(_certifier_part(application, certification, width)))
    story += [
        Spacer(1, 4 * mm),
        _p(
            _(
                "記載内容に虚偽があった場合、みなし受講の承認は取り消され、登録の取消しの対象となることが"
                "あります。IPAは無作為に選んだ申請についてサンプル調査を行い、証明者に確認することが"
                "あります。"
            ),
            "small",
        ),
    ]
    return story


def _certifier_part(
    application: DeemedApplication, certification: CertificationRequest | None, width: float
) -> list[Flowable]:
    confirmed = (
        certification is not None
        and certification.outcome == CertificationRequest.Outcome.CONFIRMED
    )
    name = certification.confirmed_name if confirmed else application.certifier_name
    title = certification.confirmed_title if confirmed else application.certifier_title
    day = timezone.localdate(certification.used_at) if confirmed and certification.used_at else None
    parts: list[Flowable] = [
        _p(_("4. 証明（所属組織または顧客）"), "h2"),
        _p(_("上記の申請者が、上記の業務を行ったことを証明します。")),
        Spacer(1, 2 * mm),
    ]
    rows: list[tuple[str, Any]] = [
        (_("証明日"), _ja(day) if day else _blank_date()),
        (_("組織名"), application.certifier_organisation),
        (_("役職"), title),
        (_("氏名"), name),
        (_("メールアドレス"), application.certifier_email),
    ]
    if application.confirmation_id is not None:
        rows.append(
            (
                _("証明の方法"),
                _("アクティブリストの完了確認（%(day)s）による証明")
                % {"day": _ja(timezone.localdate(application.confirmation.confirmed_at))},
            )
        )
    elif confirmed:
        rows.append((_("証明の方法"), _("IPAのサイト上で証明済み")))
    parts += [_rows(rows, width), Spacer(1, 3 * mm), _signature_boxes(width)]
    return parts


def _footer(application: DeemedApplication):  # type: ignore[no-untyped-def]
    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(register_japanese_font(), 7.5)
        canvas.setFillColor(MUTED)
        text = _("%(form)s みなし受講 業務証明書 申請番号 %(ref)s　%(page)s ページ") % {
            "form": FORM_NUMBER,
            "ref": application.reference,
            "page": doc.page,
        }
        canvas.drawString(MARGIN, 9 * mm, text)
        canvas.restoreState()

    return draw


def render_form(
    application: DeemedApplication,
    certification: CertificationRequest | None = None,
    *,
    compress: bool = True,
) -> bytes:
    """The filled-in form as an A4 PDF; `compress=False` keeps the page streams
    readable (for tests). `invariant` keeps the time and a random id out of the
    file, so one application always gives the same bytes."""
    register_japanese_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=_("みなし受講 業務証明書 %(ref)s") % {"ref": application.reference},
        creator="sekispe",
        lang=get_language() or "ja",
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    footer = _footer(application)
    doc.build(
        _story(application, certification, doc.width), onFirstPage=footer, onLaterPages=footer
    )
    return buffer.getvalue()


def response(
    application: DeemedApplication, certification: CertificationRequest | None = None
) -> HttpResponse:
    """The PDF as a download, never cached by a shared cache."""
    if certification is None:
        certification = confirmed_certification(application)
    body = render_form(application, certification)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="sekispe-deemed-{application.reference}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    return response
