#include "support/nats_server.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/wait_for.h"

namespace router::testing {
namespace {

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

std::string Tail(const std::string& text, size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

int ParseNatsPortsFile(const std::string& text) {
  const size_t key = text.find("\"nats\"");
  if (key == std::string::npos) return 0;
  // "nats://host:port", or "tls://host:port" when the server requires TLS.
  const size_t quote = text.find('"', text.find('[', key));
  const size_t sep = text.find("://", key);
  if (quote == std::string::npos || sep == std::string::npos) return 0;
  const size_t scheme = quote + 1;
  const size_t end = text.find('"', scheme);
  const std::string url = text.substr(scheme, end == std::string::npos ? end : end - scheme);
  const size_t colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  int port = 0;
  for (size_t i = colon + 1; i < url.size() && url[i] >= '0' && url[i] <= '9'; ++i) {
    port = port * 10 + (url[i] - '0');
  }
  return port;
}

NatsServerProcess::NatsServerProcess(NatsServerOptions options) : options_(std::move(options)) {}

NatsServerProcess::~NatsServerProcess() {
  Kill(SIGKILL);
  if (!temp_dir_.empty() && std::getenv("ROUTER_KEEP_TMP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

absl::Status NatsServerProcess::PrepareTempDir() {
  if (!temp_dir_.empty()) return absl::OkStatus();
  std::string pattern = (std::filesystem::temp_directory_path() / "nats-itest-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return absl::InternalError(std::string("mkdtemp: ") + std::strerror(errno));
  }
  temp_dir_ = buf.data();
  store_dir_ = temp_dir_ + "/store";
  ports_dir_ = temp_dir_ + "/ports";
  std::error_code ec;
  std::filesystem::create_directories(store_dir_, ec);
  std::filesystem::create_directories(ports_dir_, ec);
  if (ec) return absl::InternalError("create_directories: " + ec.message());
  return absl::OkStatus();
}

std::string NatsServerProcess::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

std::string NatsServerProcess::ReadLog() const { return ReadFileText(log_path_); }

bool NatsServerProcess::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  pid_ = -1;
  return true;
}

bool NatsServerProcess::Running() { return pid_ > 0 && !Reap(false); }

void NatsServerProcess::Kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  Reap(true);
}

absl::Status NatsServerProcess::Restart() {
  Kill(SIGKILL);
  return Start();
}

absl::Status NatsServerProcess::Start() {
  if (auto s = PrepareTempDir(); !s.ok()) return s;
  if (pid_ > 0) return absl::FailedPreconditionError("nats-server already running");
  ++run_;
  log_path_ = temp_dir_ + "/nats-server-" + std::to_string(run_) + ".log";

  const char* bin_env = std::getenv("NATS_SERVER_BIN");
  const std::string binary = bin_env != nullptr && *bin_env != '\0' ? bin_env : "nats-server";
  std::vector<std::string> args = {binary,
                                   "-a",
                                   "127.0.0.1",
                                   "-p",
                                   port_ > 0 ? std::to_string(port_) : "-1",
                                   "--ports_file_dir",
                                   ports_dir_};
  if (options_.jetstream) {
    args.insert(args.end(), {"-js", "-sd", store_dir_});
  }
  if (!options_.config_text.empty()) {
    const std::string config_path = temp_dir_ + "/nats.conf";
    std::ofstream out(config_path, std::ios::binary | std::ios::trunc);
    out << ReplaceAll(options_.config_text, "${TMP}", temp_dir_);
    out.close();
    if (!out) return absl::InternalError("cannot write " + config_path);
    args.push_back("-c");
    args.push_back(config_path);
  }
  for (const auto& a : options_.extra_args) args.push_back(a);

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::InternalError("cannot create " + log_path_);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    const char msg[] = "exec nats-server failed\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  const std::string ports_file = ports_dir_ + "/" +
                                 std::filesystem::path(binary).filename().string() + "_" +
                                 std::to_string(pid) + ".ports";
  int parsed = 0;
  bool exited = false;
  absl::Status wait = WaitFor(
      [&] {
        parsed = ParseNatsPortsFile(ReadFileText(ports_file));
        if (parsed > 0) return true;
        if (!Running()) {
          exited = true;
          return true;
        }
        return false;
      },
      options_.startup_timeout, "nats-server ports file " + ports_file);
  if (exited) {
    return absl::FailedPreconditionError("nats-server exited during startup:\n" + Tail(ReadLog()));
  }
  if (!wait.ok()) {
    Kill(SIGKILL);
    return absl::DeadlineExceededError(std::string(wait.message()) + "\n" + Tail(ReadLog()));
  }
  port_ = parsed;
  return absl::OkStatus();
}

}  // namespace router::testing
