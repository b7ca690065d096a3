"""The site's ``config`` project: what runs the site, kept as files and changed by review.

``seed/`` (``SEED``) is the layout ``keepgreen init`` commits as the project's first state;
``services/siteconf/seeding.py`` writes it. The running site reads pipelines and base jobs
from the merged tip of ``config``.
"""

from pathlib import Path

SEED = Path(__file__).parent / "seed"
