"""Leaderboard: validate submitted RunRecords, store them, and render ranked tables (Markdown or HTML)."""
from aligngym.leaderboard.board import entries, render_html, render_markdown, submit

__all__ = ["entries", "render_html", "render_markdown", "submit"]
