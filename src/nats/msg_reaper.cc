#include "nats/msg_reaper.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace router::nats_adapter {

namespace {

size_t ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe % MsgReaper::kStripes;
}

}  // namespace

MsgReaper::MsgReaper(size_t batch) : batch_(std::max<size_t>(1, batch)) {}

MsgReaper::~MsgReaper() { Flush(); }

void MsgReaper::Release(natsMsg* msg) {
  if (msg == nullptr) return;
  Stripe& stripe = stripes_[ThreadStripe()];
  std::vector<natsMsg*> full;
  {
    absl::MutexLock lock(&stripe.mu);
    if (stripe.held.capacity() < batch_) stripe.held.reserve(batch_);
    stripe.held.push_back(msg);
    if (stripe.held.size() < batch_) return;
    full.swap(stripe.held);
  }
  // Outside the lock: the first destroy wakes cnats' GC thread, the others join its list.
  for (natsMsg* m : full) natsMsg_Destroy(m);
}

void MsgReaper::Flush() {
  for (Stripe& stripe : stripes_) {
    std::vector<natsMsg*> all;
    {
      absl::MutexLock lock(&stripe.mu);
      all.swap(stripe.held);
    }
    for (natsMsg* m : all) natsMsg_Destroy(m);
  }
}

size_t MsgReaper::held() const {
  size_t n = 0;
  for (const Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mu);
    n += stripe.held.size();
  }
  return n;
}

}  // namespace router::nats_adapter
