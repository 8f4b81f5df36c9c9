#pragma once
// The metric catalogue (observability.md §2.5): the one source declaring every metric family of
// the router with its type, help, labels and their class, bucket layout and enum value sets.
// Families of later milestones are declared with `exported = false` and are never registered, so
// the exposition names no metric that no code records (OBS O4). `beamline-router
// --print-metrics-catalogue` prints CatalogueJson().
//
// Immutable after first use (built once, thread-safe static initialisation).

#include <string>
#include <string_view>
#include <vector>

#include "obs/metrics/metric_def.h"

namespace router::obs {

// Every family, sorted by name.
const std::vector<MetricDef>& Catalogue();

// The entry named `name`, or nullptr.
const MetricDef* FindCatalogueEntry(std::string_view name);

// {"metrics":[{"name":..., "type":"counter|gauge|histogram", "help":...,
//   "labels":[{"name":..., "class":"enum|tenant|open|metric|info", "values":[...]}],
//   "buckets":null | {"layout":"fast|io|provider|bytes", "bounds":[...]}, "exported":bool}, ...]}
// One metric per line, sorted by name, trailing newline.
std::string CatalogueJson();

}  // namespace router::obs
