#pragma once
// The router's version string, in one place (router.starting, --version, router_build_info,
// span resource service.version).

namespace router::app {
inline constexpr char kVersion[] = "0.1.0";
}  // namespace router::app
