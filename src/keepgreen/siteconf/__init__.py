"""The site's ``config`` project: what runs the site, kept as files and changed by review.

``seed/`` is the layout ``keepgreen init`` commits as the project's first state; ``seeding``
writes it. The running site reads pipelines and base jobs from the merged tip of ``config``.
"""
