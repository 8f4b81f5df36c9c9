#pragma once
// Intrusive indices of the assignment outbox (nats-contracts.md §6.2): a doubly linked list and
// an indexed binary min-heap over objects that carry their own link / heap position, so an
// object can be moved between the outbox's queues (ready, waiting to retry, in flight,
// retained) without allocating and removed from any of them in O(1) / O(log n) when it ends.
// Neither owns its elements.
// Thread-safety: none (the outbox guards them with its mutex).

#include <cstddef>
#include <utility>
#include <vector>

namespace router::nats_adapter::outbox_index {

template <typename T>
struct ListLink {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

// FIFO list threaded through the member `L` of T. An element is in at most one list per link.
template <typename T, ListLink<T> T::*L>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  T* front() const { return head_; }
  static bool Contains(const T* x) { return (x->*L).linked; }

  void PushBack(T* x) {
    ListLink<T>& l = x->*L;
    l.prev = tail_;
    l.next = nullptr;
    l.linked = true;
    if (tail_ != nullptr) {
      (tail_->*L).next = x;
    } else {
      head_ = x;
    }
    tail_ = x;
    ++size_;
  }

  // REQUIRES: x is in this list.
  void Erase(T* x) {
    ListLink<T>& l = x->*L;
    if (l.prev != nullptr) {
      (l.prev->*L).next = l.next;
    } else {
      head_ = l.next;
    }
    if (l.next != nullptr) {
      (l.next->*L).prev = l.prev;
    } else {
      tail_ = l.prev;
    }
    l = ListLink<T>{};
    --size_;
  }

  T* PopFront() {
    T* x = head_;
    if (x != nullptr) Erase(x);
    return x;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

// Binary min-heap by `Less` whose elements know their position (member `Pos`), so any element
// can be removed in O(log n). An element is in at most one heap per position member.
template <typename T, typename Less, size_t T::*Pos>
class IndexedHeap {
 public:
  static constexpr size_t kNotInHeap = static_cast<size_t>(-1);

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  T* top() const { return heap_.front(); }

  void Push(T* x) {
    x->*Pos = heap_.size();
    heap_.push_back(x);
    SiftUp(heap_.size() - 1);
  }

  T* Pop() {
    T* x = heap_.front();
    Erase(x);
    return x;
  }

  // REQUIRES: x is in this heap.
  void Erase(T* x) {
    const size_t i = x->*Pos;
    const size_t last = heap_.size() - 1;
    if (i != last) {
      Place(i, heap_[last]);
      heap_.pop_back();
      if (i > 0 && less_(*heap_[i], *heap_[(i - 1) / 2])) {
        SiftUp(i);
      } else {
        SiftDown(i);
      }
    } else {
      heap_.pop_back();
    }
    x->*Pos = kNotInHeap;
  }

 private:
  void Place(size_t i, T* x) {
    heap_[i] = x;
    x->*Pos = i;
  }
  void SiftUp(size_t i) {
    T* x = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!less_(*x, *heap_[parent])) break;
      Place(i, heap_[parent]);
      i = parent;
    }
    Place(i, x);
  }
  void SiftDown(size_t i) {
    T* x = heap_[i];
    const size_t n = heap_.size();
    while (true) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less_(*heap_[child + 1], *heap_[child])) ++child;
      if (!less_(*heap_[child], *x)) break;
      Place(i, heap_[child]);
      i = child;
    }
    Place(i, x);
  }

  std::vector<T*> heap_;
  Less less_;
};

}  // namespace router::nats_adapter::outbox_index
