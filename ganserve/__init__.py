"""ganserve: the Python client and the `ganserve` command line.

This package imports only httpx, numpy and pillow at module level, so it works without FastAPI,
onnxruntime or torch installed. Server and training commands import their packages lazily.
"""
