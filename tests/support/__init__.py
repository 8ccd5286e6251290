"""Shared test helpers: tiny ONNX models with manifests (`models`) and a real uvicorn server (`server`)."""
