// bench_nats_echo: the bare cnats baseline of nats_decide (reliability-and-performance.md §2.3).
// Answers every message on the decide subject, in queue group router-decide-group, with one
// constant DecideResponse (the shape of a pushing decide's reply; no parsing, no JetStream).
//
// Usage: bench_nats_echo [--url nats://127.0.0.1:4222] [--subject beamline.router.v1.decide]
//                        [--connections 2]
// One connection and async subscription per --connections (cnats delivers each subscription's
// messages on its own thread). Prints "ready" once subscribed; runs until SIGINT/SIGTERM.
#include <nats/nats.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr char kReply[] =
    R"({"ok":true,"decision":{"provider_id":"a","reason":"sticky","priority":100,)"
    R"("expected_latency_ms":200,"expected_cost":0.01,"policy_id":"three_providers",)"
    R"("policy_version":1,"decision_id":"7c9e6679-7425-40de-944b-e07fc1f66afe","metadata":{)"
    R"("session_id":"s-1","tenant_id":"bench-0","policy_id":"three_providers",)"
    R"("policy_version":"1","decision_id":"7c9e6679-7425-40de-944b-e07fc1f66afe",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}},"context":{"request_id":"r",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}})";

void OnRequest(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) {
    natsConnection_Publish(nc, reply, kReply, static_cast<int>(sizeof(kReply) - 1));
  }
  natsMsg_Destroy(msg);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222";
  std::string subject = "beamline.router.v1.decide";
  int connections = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--url") == 0) url = argv[i + 1];
    if (std::strcmp(argv[i], "--subject") == 0) subject = argv[i + 1];
    if (std::strcmp(argv[i], "--connections") == 0)
      connections = std::max(1, std::atoi(argv[i + 1]));
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  nats_Open(-1);
  std::vector<natsConnection*> conns;
  std::vector<natsSubscription*> subs;
  for (int i = 0; i < connections; ++i) {
    natsConnection* nc = nullptr;
    natsSubscription* sub = nullptr;
    natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
    if (s == NATS_OK) {
      s = natsConnection_QueueSubscribe(&sub, nc, subject.c_str(), "router-decide-group", OnRequest,
                                        nullptr);
    }
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s == NATS_OK) s = natsConnection_Flush(nc);
    if (s != NATS_OK) {
      std::fprintf(stderr, "bench_nats_echo: %s\n", natsStatus_GetText(s));
      return 2;
    }
    conns.push_back(nc);
    subs.push_back(sub);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  for (auto* sub : subs) natsSubscription_Destroy(sub);
  for (auto* nc : conns) natsConnection_Destroy(nc);
  nats_Close();
  return 0;
}
