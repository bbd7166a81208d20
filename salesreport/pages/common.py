"""Sections every page shows: the title block, what could not be computed, where the
numbers come from."""

from __future__ import annotations

from salesreport import html as H
from salesreport import words
from salesreport.findings import definition_href
from salesreport.pages.section import Html, Section, note
from salesreport.params import today


def title_block(ctx, audience: str, rep_id: str = "") -> Section:
    """The page's title (team, audience, month), what it holds, the month's data cut-off
    and currency, and the contents (filled in when the page is published). A month that
    is not over says so first."""
    from salesreport import analysis

    title, what = H.AUDIENCE_TITLES[audience]
    what = H.REP_PAGE_SUBTITLE if rep_id else what
    label = words.month_label(ctx.month, partial=ctx.partial)
    if ctx.partial:
        cut = f"Data up to {today():%-d %B %Y}"
    else:
        cut = f"Data up to the end of {words.month_label(ctx.month)}"
    sub = f"{what}. {cut}; amounts in {ctx.currency}."
    extra = f" · {analysis.rep_label(ctx.tables, rep_id)}" if rep_id else ""
    parts = [
        Html(
            f'<h1 class="sr-title">{H.esc(ctx.params.title)} · {H.esc(title)}{H.esc(extra)} · '
            f'{H.esc(label)}</h1><p class="sr-subtitle">{H.esc(sub)}</p>'
        )
    ]
    if ctx.partial:
        parts.append(
            Html(
                '<div class="sr-partial">'
                + H.esc(
                    f"{words.month_label(ctx.month, 'name')} is not over: this is the month to "
                    "date. Its figures are compared with whole months (targets, last month, "
                    "last year), and no forecast is recorded for it."
                )
                + "</div>"
            )
        )
    parts.append(Html(H.toc_placeholder()))
    return Section("", parts=parts)


def notes_section(ctx) -> Section:
    """What a section could not compute, and why (never hidden)."""
    un = (ctx.notes or {}).get("unavailable", {})
    if not un:
        return Section("")
    return Section(
        "Sections with no result", "no-result", [note(f"{k}: {v}") for k, v in un.items()], level=3
    )


def data_note(ctx) -> Section:
    """Where revenue comes from, and where every metric is defined."""
    from salesreport.revenue import revenue_source

    src = H.esc(revenue_source(ctx.tables))
    link = f'<a href="{H.esc(definition_href(ctx, "revenue").split("#")[0])}">KPI definitions</a>'
    return Section(
        "",
        parts=[Html(f'<p class="sr-note">Revenue is taken from {src}. {link}: every metric.</p>')],
    )
