"""TypesService.Echo over HTTP with Flask, written by hand as people do today: a stub that
grpcio-tools generated from proto/types.proto, one gRPC channel per worker process, and
json_format both ways. Served by gunicorn (see bench/gateway.py).

    UPSTREAM=127.0.0.1:50051 gunicorn -w 5 flask_app:app
"""

import json
import os

import grpc
from flask import Flask, Response, request
from google.protobuf import json_format

import types_pb2
import types_pb2_grpc

app = Flask(__name__)
channel = grpc.insecure_channel(os.environ["UPSTREAM"])
stub = types_pb2_grpc.TypesServiceStub(channel)


@app.post("/echo")
def echo():
    try:
        message = json_format.Parse(request.get_data(), types_pb2.AllTypes())
    except json_format.ParseError as error:
        return Response(json.dumps({"code": 3, "message": str(error)}), status=400,
                        mimetype="application/json")
    try:
        answer = stub.Echo(message, timeout=10)
    except grpc.RpcError as error:
        return Response(json.dumps({"code": error.code().value[0], "message": error.details()}),
                        status=502, mimetype="application/json")
    return Response(json_format.MessageToJson(answer, indent=None), mimetype="application/json")
