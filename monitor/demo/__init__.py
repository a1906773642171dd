"""The bundled demo press site (``monitor demo``): a ministry publishing a release every few
seconds on 127.0.0.1, as an RSS feed with full text and as HTML pages. No internet needed."""

from monitor.demo.site import DemoSite, Release

__all__ = ["DemoSite", "Release"]
