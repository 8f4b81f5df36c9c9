#include "support/router_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/wait_for.h"

extern char** environ;

namespace router::testing {
namespace {

constexpr std::string_view kEnvPrefix = "BEAMLINE_ROUTER_";

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

// Value of `"key":"123"` or `"key":123` in `line`; 0 when absent.
int FindPortField(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  size_t pos = line.find(needle);
  if (pos == std::string::npos) return 0;
  pos += needle.size();
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '"')) ++pos;
  int value = 0;
  bool any = false;
  while (pos < line.size() && line[pos] >= '0' && line[pos] <= '9') {
    value = value * 10 + (line[pos] - '0');
    any = true;
    ++pos;
  }
  return any ? value : 0;
}

std::string Tail(const std::string& text, size_t n = 4000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ParseListeningLine(const std::string& output, int* grpc_port, int* http_port) {
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) return false;  // incomplete line: wait for more output
    std::string line = output.substr(start, end - start);
    if (line.find("router.listening") != std::string::npos) {
      int g = FindPortField(line, "grpc_port");
      int h = FindPortField(line, "http_port");
      if (g > 0) {
        *grpc_port = g;
        *http_port = h;
        return true;
      }
    }
    start = end + 1;
  }
  return false;
}

std::string RouterProcess::BinaryPath() {
  if (const char* bin = std::getenv("ROUTER_BIN"); bin != nullptr && *bin != '\0') return bin;
  return std::string(ROUTER_BINARY_DIR) + "/beamline-router";
}

RouterProcess::RouterProcess(RouterOptions options) : options_(std::move(options)) {}

RouterProcess::~RouterProcess() {
  Kill();
  if (!temp_dir_.empty() && std::getenv("ROUTER_KEEP_TMP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

absl::Status RouterProcess::PrepareTempDir() {
  if (!temp_dir_.empty()) return absl::OkStatus();
  std::string pattern = (std::filesystem::temp_directory_path() / "router-itest-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return absl::InternalError(std::string("mkdtemp: ") + std::strerror(errno));
  }
  temp_dir_ = buf.data();
  data_dir_ = temp_dir_ + "/data";
  return WriteConfig();
}

absl::Status RouterProcess::WriteConfig() {
  config_path_.clear();
  if (options_.config_toml.empty()) return absl::OkStatus();
  config_path_ = temp_dir_ + "/router.toml";
  std::ofstream out(config_path_, std::ios::binary | std::ios::trunc);
  out << ReplaceAll(options_.config_toml, "${TMP}", temp_dir_);
  out.close();
  if (!out) return absl::InternalError("cannot write " + config_path_);
  return absl::OkStatus();
}

absl::Status RouterProcess::SetConfigToml(const std::string& toml) {
  options_.config_toml = toml;
  if (temp_dir_.empty()) return absl::OkStatus();  // written by PrepareTempDir
  return WriteConfig();
}

absl::StatusOr<std::string> RouterProcess::WriteFile(const std::string& relative_path,
                                                     const std::string& content) {
  if (auto s = PrepareTempDir(); !s.ok()) return s;
  std::filesystem::path path = std::filesystem::path(temp_dir_) / relative_path;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return absl::InternalError("create_directories: " + ec.message());
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) return absl::InternalError("cannot write " + path.string());
  return path.string();
}

absl::Status RouterProcess::Spawn() {
  if (auto s = PrepareTempDir(); !s.ok()) return s;
  if (pid_ > 0) return absl::FailedPreconditionError("router already running");
  ++run_;
  stdout_path_ = temp_dir_ + "/stdout-" + std::to_string(run_) + ".log";
  stderr_path_ = temp_dir_ + "/stderr-" + std::to_string(run_) + ".log";
  grpc_port_ = 0;
  http_port_ = 0;
  last_exit_code_ = -1;

  const std::string binary = BinaryPath();
  std::vector<std::string> args = {binary,        "--grpc-listen", "127.0.0.1:0", "--http-listen",
                                   "127.0.0.1:0", "--data-dir",    data_dir_};
  if (!config_path_.empty()) {
    args.push_back("--config");
    args.push_back(config_path_);
  }
  for (const auto& a : options_.extra_args) args.push_back(ReplaceAll(a, "${TMP}", temp_dir_));

  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kEnvPrefix.size()) == kEnvPrefix) continue;
    env.emplace_back(entry);
  }
  for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);

  // Everything the child needs is prepared before fork (only async-signal-safe calls after).
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_fd = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out_fd < 0 || err_fd < 0) {
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
    return absl::InternalError("cannot create output files in " + temp_dir_);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::close(err_fd);
    return absl::InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    (void)!::chdir(temp_dir_.c_str());
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "execve failed\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  pid_ = pid;
  return absl::OkStatus();
}

bool RouterProcess::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  if (r == pid_) {
    if (WIFEXITED(status)) {
      last_exit_code_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      last_exit_code_ = 128 + WTERMSIG(status);
    }
  }
  pid_ = -1;
  return true;
}

bool RouterProcess::Running() { return pid_ > 0 && !Reap(false); }

absl::Status RouterProcess::Start() {
  if (auto s = Spawn(); !s.ok()) return s;
  bool exited = false;
  absl::Status wait = WaitFor(
      [&] {
        if (ParseListeningLine(ReadStdout(), &grpc_port_, &http_port_)) return true;
        if (!Running()) {
          exited = true;
          return true;
        }
        return false;
      },
      options_.startup_timeout, "router.listening from " + BinaryPath());
  if (exited) {
    return absl::FailedPreconditionError(
        "router exited during startup with code " + std::to_string(last_exit_code_) +
        "\n--- stdout:\n" + Tail(ReadStdout()) + "\n--- stderr:\n" + Tail(ReadStderr()));
  }
  if (!wait.ok()) {
    Kill();
    return absl::DeadlineExceededError(std::string(wait.message()) + "\n--- stdout:\n" +
                                       Tail(ReadStdout()) + "\n--- stderr:\n" + Tail(ReadStderr()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitReport> RouterProcess::StartExpectingFailure() {
  if (auto s = Spawn(); !s.ok()) return s;
  bool listening = false;
  absl::Status wait = WaitFor(
      [&] {
        if (ParseListeningLine(ReadStdout(), &grpc_port_, &http_port_)) {
          listening = true;
          return true;
        }
        return !Running();
      },
      options_.startup_timeout, "the router to exit");
  if (listening) {
    Kill();
    return absl::FailedPreconditionError(
        "router started listening although startup should fail"
        "\n--- stdout:\n" +
        Tail(ReadStdout()));
  }
  if (!wait.ok()) {
    Kill();
    return wait;
  }
  ExitReport report;
  report.exit_code = last_exit_code_;
  report.stdout_text = ReadStdout();
  report.stderr_text = ReadStderr();
  return report;
}

void RouterProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(true);
}

void RouterProcess::Signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

absl::StatusOr<int> RouterProcess::WaitExit(std::chrono::milliseconds timeout) {
  absl::Status wait = WaitFor([&] { return !Running(); }, timeout, "the router to exit");
  if (!wait.ok()) return wait;
  return last_exit_code_;
}

absl::StatusOr<int> RouterProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return last_exit_code_;
  Signal(SIGTERM);
  auto code = WaitExit(timeout);
  if (!code.ok()) Kill();
  return code;
}

absl::Status RouterProcess::Restart() {
  Kill();
  return Start();
}

std::string RouterProcess::grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }

std::string RouterProcess::ReadStdout() const {
  return stdout_path_.empty() ? "" : ReadWholeFile(stdout_path_);
}

std::string RouterProcess::ReadStderr() const {
  return stderr_path_.empty() ? "" : ReadWholeFile(stderr_path_);
}

}  // namespace router::testing
