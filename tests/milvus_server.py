"""A Milvus server on 127.0.0.1 for tests: milvus-lite's engine and its gRPC servicer (the Milvus protocol that
pymilvus speaks to a standalone or distributed Milvus), with token authentication as a Milvus server with
``authorizationEnabled`` does it: every call carries ``authorization: base64(token)``; a wrong one is refused
with UNAUTHENTICATED and Milvus's message."""

from __future__ import annotations

import base64
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc


class _TokenCheck(grpc.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self.expected = base64.b64encode(token.encode()).decode()

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        given = dict(handler_call_details.invocation_metadata).get("authorization")
        if given == self.expected:
            return continuation(handler_call_details)

        def refuse(request: Any, context: grpc.ServicerContext) -> None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "auth check failure, please check username, password or API key are correct")

        return grpc.unary_unary_rpc_method_handler(refuse)


class MilvusServer:
    def __init__(self, data_dir: Path, token: str) -> None:
        self.data_dir, self.token = data_dir, token
        self.server: grpc.Server | None = None
        self.db: Any = None
        self.port = 0

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MilvusServer:
        from milvus_lite.adapter.grpc.servicer import MilvusServicer
        from milvus_lite.db import MilvusLite
        from pymilvus.grpc_gen import milvus_pb2_grpc

        self.db = MilvusLite(str(self.data_dir))
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[_TokenCheck(self.token)])
        milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(self.db), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=1).wait()
            self.db.close()
            self.server = None
