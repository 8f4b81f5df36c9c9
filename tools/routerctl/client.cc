#include "client.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

namespace router::routerctl {
namespace {

std::string FirstValue(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                       const std::string& key) {
  auto it = metadata.find(grpc::string_ref(key));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

Connection::Connection(const GlobalOptions& options) : options_(options) {
  if (const char* key = std::getenv(kAdminKeyEnv); key != nullptr) admin_key_ = key;
  channel_ = grpc::CreateChannel(options_.addr, grpc::InsecureChannelCredentials());
  router_ = beamline::flow::v1::Router::NewStub(channel_);
  admin_ = beamline::flow::v1::RouterAdmin::NewStub(channel_);
  generic_ = std::make_unique<grpc::GenericStub>(channel_);
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(bool admin) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(options_.timeout_ms));
  if (!options_.correlation_id.empty()) {
    context->AddMetadata("x-correlation-id", options_.correlation_id);
  }
  if (admin) {
    if (!admin_key_.empty()) context->AddMetadata("x-api-key", admin_key_);
    if (!options_.user_id.empty()) context->AddMetadata("x-user-id", options_.user_id);
  }
  return context;
}

grpc::Status Connection::RawUnaryCall(grpc::ClientContext* context, const std::string& method,
                                      const std::string& request, std::string* response) {
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status result;
  generic_->UnaryCall(context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                      [&](grpc::Status status) {
                        std::lock_guard<std::mutex> lock(mu);
                        result = std::move(status);
                        done = true;
                        cv.notify_one();
                      });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!result.ok()) return result;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read response bytes");
  }
  response->clear();
  for (const grpc::Slice& s : slices) {
    response->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return result;
}

std::string TrailerValue(const grpc::ClientContext& context, const std::string& key) {
  return FirstValue(context.GetServerTrailingMetadata(), key);
}

std::string HeaderValue(const grpc::ClientContext& context, const std::string& key) {
  return FirstValue(context.GetServerInitialMetadata(), key);
}

}  // namespace router::routerctl
