"""Article extraction: body, title, metadata, dates (see article.py and dates.py)."""
