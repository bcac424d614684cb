"""Speech-to-text for the archive: model resolution, the faster-whisper engine.

Kept free of Flask and the database so that a worker (or a test) can use it alone.
"""
