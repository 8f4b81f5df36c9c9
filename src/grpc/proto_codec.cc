#include "grpc/proto_codec.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

namespace router::grpc_adapter {

bool DecodeRequest(const ::grpc::ByteBuffer* buffer, google::protobuf::Message* message) {
  if (buffer == nullptr || !buffer->Valid()) {
    message->Clear();
    return true;
  }
  // ProtoBufferReader takes a non-const buffer but only reads it.
  ::grpc::ProtoBufferReader reader(const_cast<::grpc::ByteBuffer*>(buffer));
  return message->ParseFromZeroCopyStream(&reader);
}

bool EncodeResponse(const google::protobuf::Message& message, ::grpc::ByteBuffer* buffer) {
  bool own_buffer = false;
  ::grpc::Status s = ::grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      message, buffer, &own_buffer);
  return s.ok();
}

std::vector<std::string> HeaderValues(const ::grpc::ServerContextBase& context,
                                      std::string_view name) {
  std::vector<std::string> out;
  const auto& md = context.client_metadata();
  auto range = md.equal_range(::grpc::string_ref(name.data(), name.size()));
  for (auto it = range.first; it != range.second; ++it) {
    out.emplace_back(it->second.data(), it->second.size());
  }
  return out;
}

std::string FirstHeader(const ::grpc::ServerContextBase& context, std::string_view name) {
  const auto& md = context.client_metadata();
  auto it = md.find(::grpc::string_ref(name.data(), name.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

std::string CorrelationId(const ::grpc::ServerContextBase& context) {
  std::string id = FirstHeader(context, "x-correlation-id");
  if (id.empty()) id = FirstHeader(context, "correlation-id");
  if (id.size() > 256) return "";
  return id;
}

}  // namespace router::grpc_adapter
