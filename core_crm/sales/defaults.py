"""Pipelines every workspace starts with, in English and Simplified Chinese.

Each stage: (key, English name, Chinese name, default probability %, outcome)."""

from __future__ import annotations

OPEN, WON, LOST = "open", "won", "lost"

PIPELINE_DEFAULTS: list[tuple[str, str, str, list[tuple[str, str, str, int, str]]]] = [
    (
        "new-business",
        "New business",
        "新业务",
        [
            ("qualification", "Qualification", "资格确认", 10, OPEN),
            ("needs-analysis", "Needs analysis", "需求分析", 20, OPEN),
            ("proposal", "Proposal / quote", "方案报价", 50, OPEN),
            ("negotiation", "Negotiation", "商务谈判", 75, OPEN),
            ("won", "Closed won", "赢单", 100, WON),
            ("lost", "Closed lost", "丢单", 0, LOST),
        ],
    ),
    (
        "renewals",
        "Renewals",
        "续约",
        [
            ("upcoming", "Renewal due", "待续约", 40, OPEN),
            ("renewal-quote", "Renewal quote sent", "续约报价已发", 70, OPEN),
            ("won", "Renewed", "已续约", 100, WON),
            ("lost", "Not renewed", "未续约", 0, LOST),
        ],
    ),
]
