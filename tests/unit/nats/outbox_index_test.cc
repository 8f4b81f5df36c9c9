// The intrusive indices of the assignment outbox (nats/outbox_index.h): the FIFO list and the
// indexed min-heap the §6.2 outbox keeps its ready / retry / in-flight / retained entries in,
// checked against std containers over random operation sequences.

#include "nats/outbox_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace router::nats_adapter::outbox_index {
namespace {

struct Item {
  int64_t key = 0;
  int id = 0;
  ListLink<Item> link;
  size_t pos = static_cast<size_t>(-1);
};
struct ByKey {
  bool operator()(const Item& a, const Item& b) const {
    return a.key != b.key ? a.key < b.key : a.id < b.id;
  }
};

TEST(OutboxIndexTest, ListKeepsFifoOrderUnderRandomErase) {
  std::mt19937 rng(7);
  std::vector<std::unique_ptr<Item>> items;
  IntrusiveList<Item, &Item::link> list;
  std::deque<Item*> model;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 3);
    if (op == 0 || model.empty()) {
      items.push_back(std::make_unique<Item>());
      items.back()->id = step;
      list.PushBack(items.back().get());
      model.push_back(items.back().get());
    } else if (op == 1) {
      ASSERT_EQ(list.PopFront(), model.front());
      model.pop_front();
    } else {
      const size_t i = rng() % model.size();
      EXPECT_TRUE(decltype(list)::Contains(model[i]));
      list.Erase(model[i]);
      EXPECT_FALSE(decltype(list)::Contains(model[i]));
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
    }
    ASSERT_EQ(list.size(), model.size());
    ASSERT_EQ(list.front(), model.empty() ? nullptr : model.front());
  }
}

TEST(OutboxIndexTest, HeapPopsInOrderUnderRandomErase) {
  std::mt19937 rng(11);
  std::vector<std::unique_ptr<Item>> items;
  IndexedHeap<Item, ByKey, &Item::pos> heap;
  std::set<std::pair<int64_t, int>> model;
  std::map<int, Item*> live;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 3);
    if (op == 0 || live.empty()) {
      items.push_back(std::make_unique<Item>());
      Item* x = items.back().get();
      x->id = step;
      x->key = static_cast<int64_t>(rng() % 1000);
      heap.Push(x);
      model.emplace(x->key, x->id);
      live[x->id] = x;
    } else if (op == 1) {
      Item* x = heap.Pop();
      ASSERT_EQ(std::make_pair(x->key, x->id), *model.begin());
      model.erase(model.begin());
      live.erase(x->id);
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng() % live.size()));
      heap.Erase(it->second);
      model.erase({it->second->key, it->second->id});
      live.erase(it);
    }
    ASSERT_EQ(heap.size(), model.size());
    if (!model.empty()) {
      ASSERT_EQ(std::make_pair(heap.top()->key, heap.top()->id), *model.begin());
    }
  }
}

}  // namespace
}  // namespace router::nats_adapter::outbox_index
