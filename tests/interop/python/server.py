"""The interop service (fixtures/interop/) on grpcio, the gRPC C core, with grpcio-reflection.

Started by tests/interop/main.rs: `python server.py GENERATED_DIR`, where GENERATED_DIR holds the
code grpcio-tools generated from the schema at test time. Binds 127.0.0.1 on a free port, prints
the port on one line of stdout, and serves until its standard input closes (the test process
went away) or a time limit passes, so that no server outlives its tests.
"""

import os
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

sys.path.insert(0, sys.argv[1])
from interop.v1 import service_pb2, service_pb2_grpc  # noqa: E402

STACK = "grpcio-python " + grpc.__version__
MASK64 = (1 << 64) - 1
# The longest a server may live, whatever happens to its test process.
LIFETIME_SECONDS = 600


def seen(request):
    scalars = request.scalars
    well_known = request.well_known
    return service_pb2.Seen(
        choice_case=request.WhichOneof("choice") or "",
        int64_text=str(scalars.f_int64),
        uint64_text=str(scalars.f_uint64),
        sint64_text=str(scalars.f_sint64),
        fixed64_text=str(scalars.f_fixed64),
        sfixed64_text=str(scalars.f_sfixed64),
        bytes_hex=scalars.f_bytes.hex(),
        any_type_url=well_known.any.type_url,
        duration_millis=well_known.duration.ToMilliseconds(),
        timestamp_millis=well_known.timestamp.ToMilliseconds(),
        label_keys=sorted(request.labels.keys()),
        name_ids=[str(key) for key in sorted(request.names_by_id.keys())],
        mask_paths=list(well_known.field_mask.paths),
    )


def pack(message):
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class InteropService(service_pb2_grpc.InteropServiceServicer):
    def Echo(self, request, context):
        return service_pb2.EchoResponse(echo=request, seen=seen(request))

    def Range(self, request, context):
        for index in range(request.count):
            value = request.start + index * request.step
            yield service_pb2.RangeItem(
                index=index, value=value, text=str(value), unsigned=value & MASK64
            )

    def Sum(self, request_iterator, context):
        result = service_pb2.SumResult()
        for item in request_iterator:
            result.total += item.value
            result.count += 1
            result.names.append(item.name)
            result.by_name[item.name] = result.by_name.get(item.name, 0) + item.value
        return result

    def Chat(self, request_iterator, context):
        for message in request_iterator:
            reply = service_pb2.ChatReply(seq=message.seq, color=message.seq % 4)
            case = message.WhichOneof("payload")
            if case == "text":
                reply.text = message.text.upper()
            elif case == "number":
                reply.number = -message.number
            elif case == "blob":
                reply.blob = message.blob[::-1]
            yield reply

    def WhoAmI(self, request, context):
        metadata = {key: value for key, value in context.invocation_metadata()}
        api_key = metadata.get("x-api-key")
        if not api_key:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing x-api-key metadata")
        context.set_trailing_metadata((("x-interop-stack", STACK),))
        return service_pb2.WhoAmIResponse(
            api_key=api_key,
            x_headers={
                key: value
                for key, value in metadata.items()
                if key.startswith("x-") and not key.endswith("-bin")
            },
            stack=STACK,
        )

    def Reject(self, request, context):
        status = status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message="rejected field " + request.field,
            details=[
                pack(
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field=request.field, description=request.reason
                            )
                        ]
                    )
                ),
                pack(
                    error_details_pb2.ErrorInfo(
                        reason="INTEROP_REJECTED",
                        domain="interop.v1",
                        metadata={"field": request.field, "stack": STACK},
                    )
                ),
            ],
        )
        context.abort_with_status(rpc_status.to_status(status))
        return empty_pb2.Empty()


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    service_pb2_grpc.add_InteropServiceServicer_to_server(InteropService(), server)
    names = (
        service_pb2.DESCRIPTOR.services_by_name["InteropService"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)

    def stop_when_stdin_closes():
        sys.stdin.read()
        server.stop(0)

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    if not server.wait_for_termination(timeout=LIFETIME_SECONDS):
        return
    server.stop(0)


if __name__ == "__main__":
    main()
