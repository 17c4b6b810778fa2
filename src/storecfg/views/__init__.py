"""Views: turn plans and diagnostics into text, JSON or Markdown. Nothing else prints."""
