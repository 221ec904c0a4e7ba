#!/usr/bin/env python3
"""A grpcurl-style tool in plain grpcio: lists services, describes them and
calls methods with JSON, learning every type from the server's reflection
service (grpc.reflection.v1alpha). No generated code and no .proto files.

    grpc_reflect.py --target 127.0.0.1:50051 list
    grpc_reflect.py --target 127.0.0.1:50051 describe imunpack.v1.GemmService
    grpc_reflect.py --target 127.0.0.1:50051 call imunpack.v1.GemmService/IntGemm \
        '{"a": {"rows": 1, "cols": 2, "values": [3, 4]}, "b": {"rows": 2, "cols": 1, "values": [5, 6]}}'
"""
import argparse
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

_METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(data):
    """Yields (number, value) of a serialized message's varint and bytes fields."""
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            size, i = _read_varint(data, i)
            value, i = data[i:i + size], i + size
        else:
            raise ValueError(f"unexpected wire type {wire}")
        yield number, value


def _read_varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


class Reflection:
    def __init__(self, channel):
        self._stream = channel.stream_stream(
            _METHOD, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        self.pool = descriptor_pool.DescriptorPool()
        self._loaded = set()

    def _ask(self, field_number, text):
        # ServerReflectionRequest: 3 file_by_filename, 4 file_containing_symbol, 7 list_services.
        responses = list(self._stream(iter([_field(field_number, text.encode())]), timeout=10))
        for number, value in _fields(responses[0]):
            if number == 7:  # ErrorResponse
                raise SystemExit(f"reflection error: {dict(_fields(value)).get(2, b'').decode()}")
            if number in (4, 6):
                return number, value
        raise SystemExit("empty reflection response")

    def services(self):
        _, listing = self._ask(7, "")
        return [dict(_fields(s))[1].decode() for n, s in _fields(listing) if n == 1]

    def load(self, symbol):
        """Adds the file defining symbol, and its imports, to the pool."""
        _, files = self._ask(4, symbol)
        protos = []
        for number, blob in _fields(files):
            if number == 1:
                fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
                protos.append(fd)
        # Dependencies first: add files whose imports are all present.
        while protos:
            for fd in list(protos):
                if fd.name in self._loaded:
                    protos.remove(fd)
                elif all(d in self._loaded for d in fd.dependency):
                    self.pool.Add(fd)
                    self._loaded.add(fd.name)
                    protos.remove(fd)
                    break
            else:
                missing = protos[0].dependency[0]
                _, more = self._ask(3, missing)
                protos += [descriptor_pb2.FileDescriptorProto.FromString(b)
                           for n, b in _fields(more) if n == 1]
        return self.pool.FindServiceByName(symbol) if "/" not in symbol else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("verb", choices=["list", "describe", "call"])
    parser.add_argument("name", nargs="?", help="service, or Service/Method for call")
    parser.add_argument("request", nargs="?", default="{}", help="JSON request for call")
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.target, options=[
        ("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)])
    refl = Reflection(channel)
    if args.verb == "list":
        print("\n".join(refl.services()))
        return 0
    if not args.name:
        parser.error(f"{args.verb} needs a name")
    service_name, _, method_name = args.name.partition("/")
    service = refl.load(service_name)
    if args.verb == "describe":
        print(f"service {service.full_name} {{")
        for m in service.methods:
            print(f"  rpc {m.name}({m.input_type.full_name}) returns ({m.output_type.full_name});")
        print("}")
        return 0
    method = service.methods_by_name[method_name]
    factory = message_factory.MessageFactory(refl.pool)  # protobuf 3.21's API
    request_cls = factory.GetPrototype(method.input_type)
    response_cls = factory.GetPrototype(method.output_type)
    request = json_format.Parse(args.request, request_cls())
    call = channel.unary_unary(f"/{service.full_name}/{method.name}",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_cls.FromString)
    try:
        response = call(request, timeout=60)
    except grpc.RpcError as e:
        print(f"ERROR {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    print(json_format.MessageToJson(response, preserving_proto_field_name=True, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
