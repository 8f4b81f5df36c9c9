#include "grpc/call_counter.h"

namespace router::grpc_adapter {
namespace {

class CallCounterInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  CallCounterInterceptor(const CallObserver& observer, const char* method)
      : observer_(observer), method_(method != nullptr ? method : "") {}

  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            ::grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::string_view service, method;
      SplitMethodPath(method_, &service, &method);
      observer_(service, method, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  const CallObserver& observer_;
  std::string_view method_;
};

class CallCounterFactory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallCounterFactory(CallObserver observer, std::vector<std::string> counted_by_handler)
      : observer_(std::move(observer)), counted_by_handler_(std::move(counted_by_handler)) {}
  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo* info) override {
    const std::string_view method = info->method() != nullptr ? info->method() : "";
    for (const std::string& m : counted_by_handler_) {
      if (method == m) return nullptr;  // gRPC skips interception when no interceptor is made
    }
    return new CallCounterInterceptor(observer_, info->method());
  }

 private:
  const CallObserver observer_;
  const std::vector<std::string> counted_by_handler_;
};

}  // namespace

void SplitMethodPath(std::string_view path, std::string_view* service, std::string_view* method) {
  *service = "other";
  *method = "other";
  if (path.empty() || path.front() != '/') return;
  path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return;
  std::string_view full_service = path.substr(0, slash);
  *method = path.substr(slash + 1);
  size_t dot = full_service.rfind('.');
  std::string_view short_name =
      dot == std::string_view::npos ? full_service : full_service.substr(dot + 1);
  if (short_name == "ServerReflection") short_name = "Reflection";
  *service = short_name;
}

std::string_view StatusCodeName(::grpc::StatusCode code) {
  switch (code) {
    case ::grpc::StatusCode::OK:
      return "OK";
    case ::grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case ::grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case ::grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case ::grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case ::grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case ::grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case ::grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case ::grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case ::grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case ::grpc::StatusCode::ABORTED:
      return "ABORTED";
    case ::grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case ::grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case ::grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case ::grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case ::grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case ::grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> MakeCallCounterFactory(
    CallObserver observer, std::vector<std::string> counted_by_handler) {
  return std::make_unique<CallCounterFactory>(std::move(observer), std::move(counted_by_handler));
}

}  // namespace router::grpc_adapter
