"""keepgreen: git hosting, Gerrit-style review and Zuul-style gating in one package."""

__version__ = "0.1.0"
