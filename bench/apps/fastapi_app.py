"""TypesService.Echo over HTTP with FastAPI, written by hand as people do today: a stub that
grpcio-tools generated from proto/types.proto, one grpc.aio channel, and json_format both
ways. Served by one uvicorn worker (see bench/gateway.py).

    UPSTREAM=127.0.0.1:50051 uvicorn fastapi_app:app
"""

import contextlib
import json
import os

import grpc
from fastapi import FastAPI, Request, Response
from google.protobuf import json_format

import types_pb2
import types_pb2_grpc

stub = None


@contextlib.asynccontextmanager
async def lifespan(app):
    global stub
    async with grpc.aio.insecure_channel(os.environ["UPSTREAM"]) as channel:
        stub = types_pb2_grpc.TypesServiceStub(channel)
        yield


app = FastAPI(lifespan=lifespan)


@app.post("/echo")
async def echo(request: Request):
    try:
        message = json_format.Parse(await request.body(), types_pb2.AllTypes())
    except json_format.ParseError as error:
        return Response(json.dumps({"code": 3, "message": str(error)}), status_code=400,
                        media_type="application/json")
    try:
        answer = await stub.Echo(message, timeout=10)
    except grpc.RpcError as error:
        return Response(json.dumps({"code": error.code().value[0], "message": error.details()}),
                        status_code=502, media_type="application/json")
    return Response(json_format.MessageToJson(answer, indent=None), media_type="application/json")
