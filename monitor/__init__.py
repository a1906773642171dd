"""monitor: watches official press releases and alerts you when one matters."""

__version__ = "0.1.0"
