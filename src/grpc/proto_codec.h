#pragma once
// Raw-bytes helpers for handlers registered as raw callback methods (grpc-api.md §1: handlers
// take raw bytes so admin auth runs before decoding), plus metadata access. Thread-safe.

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"

namespace router::grpc_adapter {

// Parses `buffer` into `message`; false on malformed bytes (including invalid UTF-8 in proto3
// string fields, which protobuf rejects). A null buffer parses as an empty message.
bool DecodeRequest(const ::grpc::ByteBuffer* buffer, google::protobuf::Message* message);

// Serializes `message` into `buffer`; false on failure.
bool EncodeResponse(const google::protobuf::Message& message, ::grpc::ByteBuffer* buffer);

// All values of request header `name` (lowercase), in arrival order.
std::vector<std::string> HeaderValues(const ::grpc::ServerContextBase& context,
                                      std::string_view name);

// The first value of header `name`, or "".
std::string FirstHeader(const ::grpc::ServerContextBase& context, std::string_view name);

// x-correlation-id, else correlation-id; "" when absent or longer than 256 bytes.
std::string CorrelationId(const ::grpc::ServerContextBase& context);

}  // namespace router::grpc_adapter
