#pragma once
// MsgReaper: destroys cnats messages in batches. natsMsg_Destroy hands every message to cnats'
// garbage-collector thread and wakes it whenever its list was empty, which at NATS decide
// rates is almost every time: one futex wake and two context switches per message, ~10 % of
// the router's CPU per pushing decide (docs/PERFORMANCE.md, P5). Messages released here are
// held until `batch` of them are collected and then destroyed together (one wake per batch).
//
// Used for the hot messages only (decide requests, published assignments after their PubAck);
// they own nothing but their memory, so holding up to kStripes x (batch - 1) = 504 of them
// while the router is idle costs at most a few hundred kilobytes. Flush() destroys what is held
// (the transport calls it when it stops); the destructor flushes too. Requires the cnats library to
// be open (nats_Open) until then, as natsMsg_Destroy does.
//
// Thread-safe: Release() and Flush() may be called from any thread. Releases go to one of
// kStripes stripes chosen per thread (a thread keeps its stripe), each with its own mutex and
// batch, so the decide and PubAck threads do not contend.

#include <nats/nats.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace router::nats_adapter {

class MsgReaper {
 public:
  static constexpr size_t kDefaultBatch = 64;
  static constexpr size_t kStripes = 8;

  explicit MsgReaper(size_t batch = kDefaultBatch);
  ~MsgReaper();
  MsgReaper(const MsgReaper&) = delete;
  MsgReaper& operator=(const MsgReaper&) = delete;

  // Takes ownership of `msg` (null ignored).
  void Release(natsMsg* msg);
  // Destroys every held message.
  void Flush();
  size_t held() const;

 private:
  struct alignas(64) Stripe {
    mutable absl::Mutex mu;
    std::vector<natsMsg*> held ABSL_GUARDED_BY(mu);
  };
  const size_t batch_;
  Stripe stripes_[kStripes];
};

// natsMsg_Destroy through `reaper` when non-null, else at once.
inline void ReleaseMsg(MsgReaper* reaper, natsMsg* msg) {
  if (reaper != nullptr) {
    reaper->Release(msg);
  } else {
    natsMsg_Destroy(msg);
  }
}

}  // namespace router::nats_adapter
