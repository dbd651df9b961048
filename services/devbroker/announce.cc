#include "services/devbroker/announce.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace claims::devbroker {

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("write " + temp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      close(fd);
      unlink(temp.c_str());
      return Unavailable("write " + temp + ": " + reason);
    }
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    unlink(temp.c_str());
    return Unavailable("close " + temp + ": " + std::strerror(errno));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temp.c_str());
    return Unavailable("rename " + temp + " to " + path + ": " + reason);
  }
  return Status::Ok();
}

}  // namespace claims::devbroker
