"""The gRPC surface: the Open Inference Protocol (inference.GRPCInferenceService) and grpc.health.v1.
server.py starts it inside the app's lifespan; the *_pb2* modules are generated (scripts/gen_grpc.py)."""
