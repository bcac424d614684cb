"""Finding protected names in transcript text, however they are spelt.

``matching`` is the matcher (``NameMatcher``, ``Mention``, ``ProtectedName``) and says
how it works; ``spelling`` (spelling keys and endings), ``sounds`` (how alike two keys
sound), ``words`` (ordinary words), ``tokens`` (tokens and name parts) and
``thresholds`` (the tuned limits) are its parts.
"""
