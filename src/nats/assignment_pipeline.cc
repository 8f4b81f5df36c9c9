#include "nats/assignment_pipeline.h"

#include <algorithm>
#include <string>

namespace router::nats_adapter {

OutboxOptions OutboxOptionsFromConfig(const config::NatsConfig& config) {
  const config::JetStreamConfig& js = config.jetstream;
  OutboxOptions o;
  o.capacity = static_cast<size_t>(std::max<int64_t>(js.outbox.capacity, 1));
  o.max_age_ms = js.outbox.max_age_ms;
  o.retain_after_ack_ms = js.outbox.retain_after_ack_ms;
  o.max_outstanding = static_cast<size_t>(std::max<int64_t>(js.publish.max_outstanding, 1));
  o.pub_ack_timeout_ms = js.publish.pub_ack_timeout_ms;
  o.max_attempts = js.publish.max_attempts;
  o.retry_base_ms = js.publish.retry_base_ms;
  o.retry_max_ms = js.publish.retry_max_ms;
  o.immediate = config.assignments.reply_mode == config::ReplyMode::kImmediate;
  o.publish_timeout_ms = config.assignments.publish_timeout_ms;
  o.duplicate_window_ms = js.streams.assignments.duplicate_window_s * 1000;
  return o;
}

AssignmentPipeline::AssignmentPipeline(const config::NatsConfig& config, NatsConnection& connection,
                                       const Clock& clock, LogSink log,
                                       std::function<void()> on_no_stream)
    : log_(std::move(log)) {
  publisher_ = std::make_unique<AssignmentPublisher>(connection, std::move(on_no_stream));
  OutboxHooks hooks;
  hooks.on_fate = [this](const FateEvent& ev) { OnFate(ev); };
  hooks.on_enqueued = [this](std::string_view tenant) {
    if (enqueued_) enqueued_->Get({tenant}).Inc();
  };
  hooks.on_rejected = [this] {
    if (rejected_) rejected_->Get().Inc();
  };
  hooks.on_retry = [this](PublishError reason) {
    if (retry_) retry_->Get({PublishErrorName(reason)}).Inc();
  };
  hooks.on_publish_latency = [this](double s) {
    if (publish_latency_) publish_latency_->Get().Observe(s);
  };
  hooks.on_reply_wait = [this](bool published, double s) {
    if (reply_wait_) reply_wait_->Get({published ? "published" : "timeout"}).Observe(s);
  };
  hooks.on_log = [this](std::string_view event, std::string_view message,
                        const std::vector<std::pair<std::string, std::string>>& context) {
    Log(log_, event == "assignment.publish_failed" ? "ERROR" : "INFO", event, message, context);
  };
  outbox_ = std::make_unique<AssignmentOutbox>(OutboxOptionsFromConfig(config), clock, *publisher_,
                                               std::move(hooks));
  publisher_->SetOutbox(outbox_.get());
}

AssignmentPipeline::~AssignmentPipeline() {
  Stop(0);
  // No reply callback reaches the outbox after this (the outbox dies before the publisher).
  // Not in Stop(): an entry enqueued late (a decide that outlived the drain) still publishes
  // while the connection is up.
  publisher_->Close();
}

void AssignmentPipeline::SetMetrics(obs::RouterMetrics* metrics) {
  if (metrics == nullptr || !metrics->registry) return;
  obs::Registry& r = *metrics->registry;
  enqueued_ = r.FindCounter("router_assignment_enqueued_total");
  outcomes_ = r.FindCounter("router_assignment_outcomes_total");
  published_ = r.FindCounter("router_assignment_published_total");
  retry_ = r.FindCounter("router_assignment_retry_total");
  failures_ = r.FindCounter("router_assignment_publish_failures_total");
  rejected_ = r.FindCounter("router_assignment_outbox_rejected_total");
  publish_latency_ = r.FindHistogram("router_assignment_publish_latency_seconds");
  reply_wait_ = r.FindHistogram("router_assignment_reply_wait_seconds");
  AssignmentOutbox* outbox = outbox_.get();
  if (auto* g = r.FindGauge("router_assignment_outbox_depth")) {
    g->SetCallback(std::span<const std::string_view>(),
                   [outbox] { return static_cast<double>(outbox->Depth()); });
  }
  if (auto* g = r.FindGauge("router_assignment_outbox_capacity")) {
    const double capacity = static_cast<double>(outbox->options().capacity);
    g->SetCallback(std::span<const std::string_view>(), [capacity] { return capacity; });
  }
  if (auto* g = r.FindGauge("router_assignment_outbox_oldest_age_seconds")) {
    g->SetCallback(std::span<const std::string_view>(),
                   [outbox] { return outbox->OldestAgeSeconds(); });
  }
}

void AssignmentPipeline::OnFate(const FateEvent& ev) {
  if (outcomes_) outcomes_->Get({AssignmentFateName(ev.fate)}).Inc();
  if (IsStored(ev.fate)) {
    if (published_) published_->Get({ev.tenant_id}).Inc();
    if (correlation_) {
      correlation_->MarkPublished(ev.assignment_id, static_cast<int64_t>(ev.stream_seq),
                                  ev.fate == AssignmentFate::kDeduplicated);
    }
    return;
  }
  if (failures_) {
    const PublishError reason = ev.last_error.value_or(PublishError::kTimeout);
    failures_->Get({PublishErrorName(reason)}).Inc();
  }
  if (correlation_) correlation_->MarkPublishFailed(ev.assignment_id, AssignmentFateName(ev.fate));
}

void AssignmentPipeline::OnConnectionEvent(ConnectionEvent event) {
  outbox_->SetConnected(event == ConnectionEvent::kConnected ||
                        event == ConnectionEvent::kReconnected);
}

void AssignmentPipeline::Start() { outbox_->Start(); }

void AssignmentPipeline::Stop(int64_t timeout_ms) {
  if (stopped_) return;
  stopped_ = true;
  outbox_->Stop(timeout_ms);
}

}  // namespace router::nats_adapter
