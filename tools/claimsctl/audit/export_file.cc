#include "tools/claimsctl/audit/export_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mutualaid/audit/v1/export.pb.h"

namespace claims::audit {
namespace {

constexpr char kFormat[] = "mutualaid.audit.v1.ExportRecord/varint-delimited";
constexpr size_t kChunk = 4 << 20;
// No pipeline record comes near this; a larger length means a broken file, not a big record.
constexpr uint64_t kMaxRecord = 256 << 20;

// Incremental SHA-256 over OpenSSL's EVP interface.
class StreamHash {
 public:
  StreamHash() : ctx_(EVP_MD_CTX_new()) { Reset(); }
  ~StreamHash() { EVP_MD_CTX_free(ctx_); }
  StreamHash(const StreamHash&) = delete;
  StreamHash& operator=(const StreamHash&) = delete;
  void Reset() { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  // The hex digest of everything so far; the running state is left untouched.
  std::string Hex() const {
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    EVP_MD_CTX_copy_ex(copy, ctx_);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(copy, digest, &n);
    EVP_MD_CTX_free(copy);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out.push_back(kHex[digest[i] >> 4]);
      out.push_back(kHex[digest[i] & 15]);
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Reads a varint at data[*pos..end). False when it is truncated or longer than 10 bytes.
bool ReadVarint(const char* data, size_t end, size_t* pos, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
    const auto byte = static_cast<uint8_t>(data[(*pos)++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string AtPosition(uint64_t position) { return "byte " + std::to_string(position); }

}  // namespace

Status ParseRecord(std::string_view bytes, RecordView& record) {
  record.topic = {};
  record.partition = 0;
  record.offset = 0;
  record.key = {};
  record.envelope = {};
  const char* data = bytes.data();
  const size_t end = bytes.size();
  size_t pos = 0;
  while (pos < end) {
    uint64_t tag = 0;
    if (!ReadVarint(data, end, &pos, &tag)) return InvalidArgument("broken field tag");
    const uint64_t field = tag >> 3;
    const uint64_t wire = tag & 7;
    if (wire == 0) {
      uint64_t v = 0;
      if (!ReadVarint(data, end, &pos, &v)) return InvalidArgument("broken varint");
      if (field == 2) record.partition = static_cast<int32_t>(v);
      if (field == 3) record.offset = static_cast<int64_t>(v);
    } else if (wire == 2) {
      uint64_t n = 0;
      if (!ReadVarint(data, end, &pos, &n) || n > end - pos) {
        return InvalidArgument("field " + std::to_string(field) + " runs past the record");
      }
      const std::string_view v(data + pos, n);
      pos += n;
      if (field == 1) record.topic = v;
      if (field == 4) record.key = v;
      if (field == 5) record.envelope = v;
    } else if (wire == 1) {
      pos += 8;
    } else if (wire == 5) {
      pos += 4;
    } else {
      return InvalidArgument("unsupported wire type " + std::to_string(wire));
    }
  }
  if (pos != end) return InvalidArgument("a field runs past the record");
  if (record.topic.empty()) return InvalidArgument("record has no topic");
  return Status::Ok();
}

// ---- Manifest ----

std::string ManifestPath(const std::string& export_path) { return export_path + ".manifest.json"; }

std::string Manifest::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["file"] = file;
  j["bytes"] = bytes;
  j["sha256"] = sha256;
  j["records"] = records;
  j["partitions"] = nlohmann::ordered_json::array();
  for (const PartitionRange& p : partitions) {
    nlohmann::ordered_json e;
    e["topic"] = p.topic;
    e["partition"] = p.partition;
    e["first_offset"] = p.first_offset;
    e["last_offset"] = p.last_offset;
    e["count"] = p.count;
    j["partitions"].push_back(e);
  }
  return j.dump(2) + "\n";
}

Result<Manifest> Manifest::FromJson(std::string_view text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("manifest " + source + " is not JSON", {{source, "not a JSON object"}});
  }
  std::vector<FieldViolation> bad;
  auto get = [&](const nlohmann::json& obj, const char* name, auto& out, const std::string& path) {
    auto it = obj.find(name);
    if (it == obj.end()) {
      bad.push_back({source + ": " + path + name, "missing"});
      return;
    }
    try {
      it->get_to(out);
    } catch (const nlohmann::json::exception&) {
      bad.push_back({source + ": " + path + name, "has the wrong type"});
    }
  };
  Manifest m;
  std::string format;
  get(j, "format", format, "");
  if (!format.empty() && format != kFormat) {
    bad.push_back({source + ": format", "'" + format + "' is not " + kFormat});
  }
  get(j, "file", m.file, "");
  get(j, "bytes", m.bytes, "");
  get(j, "sha256", m.sha256, "");
  get(j, "records", m.records, "");
  auto parts = j.find("partitions");
  if (parts == j.end() || !parts->is_array()) {
    bad.push_back({source + ": partitions", "missing or not an array"});
  } else {
    for (size_t i = 0; i < parts->size(); ++i) {
      const std::string path = "partitions[" + std::to_string(i) + "].";
      PartitionRange p;
      get((*parts)[i], "topic", p.topic, path);
      get((*parts)[i], "partition", p.partition, path);
      get((*parts)[i], "first_offset", p.first_offset, path);
      get((*parts)[i], "last_offset", p.last_offset, path);
      get((*parts)[i], "count", p.count, path);
      m.partitions.push_back(std::move(p));
    }
  }
  if (!bad.empty()) return InvalidArgument("manifest " + source + " is invalid", std::move(bad));
  return m;
}

Result<Manifest> ReadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read the manifest " + path);
  std::stringstream text;
  text << in.rdbuf();
  return Manifest::FromJson(text.str(), path);
}

// ---- Writer ----

struct ExportWriter::Impl {
  std::string path;
  FILE* file = nullptr;
  StreamHash hash;
  uint64_t bytes = 0;
  uint64_t records = 0;
  std::map<std::pair<std::string, int32_t>, PartitionRange> partitions;
  std::string frame;
  mutualaid::audit::v1::ExportRecord record;
};

ExportWriter::ExportWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ExportWriter::~ExportWriter() {
  if (impl_->file != nullptr) std::fclose(impl_->file);
}

Result<std::unique_ptr<ExportWriter>> ExportWriter::Create(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = std::fopen(path.c_str(), "wb");
  if (impl->file == nullptr) {
    return Unavailable("cannot create the export file " + path + ": " + std::strerror(errno));
  }
  std::setvbuf(impl->file, nullptr, _IOFBF, 1 << 20);
  return std::unique_ptr<ExportWriter>(new ExportWriter(std::move(impl)));
}

void ExportWriter::DeclarePartition(const std::string& topic, int32_t partition) {
  PartitionRange& p = impl_->partitions[{topic, partition}];
  p.topic = topic;
  p.partition = partition;
}

Status ExportWriter::Append(std::string_view topic, int32_t partition, int64_t offset,
                            std::string_view key, std::string_view envelope) {
  Impl& w = *impl_;
  PartitionRange& p = w.partitions[{std::string(topic), partition}];
  if (p.count > 0 && offset <= p.last_offset) {
    return InvalidArgument("offsets of " + std::string(topic) + "/" + std::to_string(partition) +
                           " must increase: " + std::to_string(offset) + " after " +
                           std::to_string(p.last_offset));
  }
  p.topic = std::string(topic);
  p.partition = partition;
  if (p.count == 0) p.first_offset = offset;
  p.last_offset = offset;
  ++p.count;
  w.record.set_topic(std::string(topic));
  w.record.set_partition(partition);
  w.record.set_offset(offset);
  w.record.set_key(std::string(key));
  w.record.set_envelope(std::string(envelope));
  w.frame.clear();
  AppendVarint(w.frame, w.record.ByteSizeLong());
  w.record.AppendToString(&w.frame);
  if (std::fwrite(w.frame.data(), 1, w.frame.size(), w.file) != w.frame.size()) {
    return Unavailable("cannot write " + w.path + ": " + std::strerror(errno));
  }
  w.hash.Update(w.frame.data(), w.frame.size());
  w.bytes += w.frame.size();
  ++w.records;
  return Status::Ok();
}

Result<Manifest> ExportWriter::Finish() {
  Impl& w = *impl_;
  const bool flushed = std::fflush(w.file) == 0 && fsync(fileno(w.file)) == 0;
  const bool closed = std::fclose(w.file) == 0;
  w.file = nullptr;
  if (!flushed || !closed) return Unavailable("cannot write " + w.path);
  Manifest m;
  m.file = std::filesystem::path(w.path).filename().string();
  m.bytes = w.bytes;
  m.sha256 = w.hash.Hex();
  m.records = w.records;
  for (auto& [key, range] : w.partitions) m.partitions.push_back(range);
  const std::string manifest_path = ManifestPath(w.path);
  std::ofstream out(manifest_path, std::ios::binary | std::ios::trunc);
  out << m.ToJson();
  out.close();
  if (!out) return Unavailable("cannot write the manifest " + manifest_path);
  return m;
}

// ---- Reader ----

struct ExportReader::Impl {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
  // Bytes [buffer_start, buffer_start + length) of the file; allocated once, grown only for a
  // record larger than it, never zero-filled.
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  size_t length = 0;
  uint64_t buffer_start = 0;
  size_t cursor = 0;       // next unread byte within buffer
  uint64_t file_read = 0;  // bytes read from the file so far
  StreamHash hash;
  bool hashing = true;

  // Makes at least `n` bytes available from the cursor, unless the file ends first.
  Status Fill(size_t n) {
    if (length - cursor >= n) return Status::Ok();
    if (cursor > 0) {
      std::memmove(buffer.get(), buffer.get() + cursor, length - cursor);
      length -= cursor;
      buffer_start += cursor;
      cursor = 0;
    }
    if (n > capacity || capacity == 0) {
      const size_t grown = std::max(n, kChunk);
      std::unique_ptr<char[]> bigger(new char[grown]);
      if (length > 0) std::memcpy(bigger.get(), buffer.get(), length);
      buffer = std::move(bigger);
      capacity = grown;
    }
    while (length < n && file_read < size) {
      const ssize_t got =
          ::pread(fd, buffer.get() + length, capacity - length, static_cast<off_t>(file_read));
      if (got < 0) return Unavailable("cannot read " + path + ": " + std::strerror(errno));
      if (got == 0) break;
      if (hashing) hash.Update(buffer.get() + length, static_cast<size_t>(got));
      length += static_cast<size_t>(got);
      file_read += static_cast<uint64_t>(got);
    }
    return Status::Ok();
  }
};

ExportReader::ExportReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ExportReader::~ExportReader() {
  if (impl_->fd >= 0) ::close(impl_->fd);
}

Result<std::unique_ptr<ExportReader>> ExportReader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl->fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  const off_t end = ::lseek(impl->fd, 0, SEEK_END);
  if (end < 0) return NotFound("cannot read " + path + ": " + std::strerror(errno));
  impl->size = static_cast<uint64_t>(end);
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(impl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return std::unique_ptr<ExportReader>(new ExportReader(std::move(impl)));
}

Result<bool> ExportReader::Next(RecordView& record) {
  Impl& r = *impl_;
  if (r.length - r.cursor < 10) {
    if (Status s = r.Fill(10); !s.ok()) return s;
  }
  if (r.cursor == r.length) return false;
  const uint64_t position = r.buffer_start + r.cursor;
  size_t pos = r.cursor;
  uint64_t length = 0;
  if (!ReadVarint(r.buffer.get(), r.length, &pos, &length) || length > kMaxRecord) {
    return DataLoss(r.path + ": " + AtPosition(position) + ": broken record length");
  }
  const size_t prefix = pos - r.cursor;
  if (r.length - r.cursor < prefix + length) {
    if (Status s = r.Fill(prefix + length); !s.ok()) return s;
    if (r.length - r.cursor < prefix + length) {
      return DataLoss(r.path + ": " + AtPosition(position) + ": record of " +
                      std::to_string(length) + " bytes is cut off by the end of the file");
    }
  }
  const std::string_view bytes(r.buffer.get() + r.cursor + prefix, length);
  if (Status s = ParseRecord(bytes, record); !s.ok()) {
    return DataLoss(r.path + ": " + AtPosition(position) + ": " + s.message());
  }
  record.position = position;
  r.cursor += prefix + length;
  return true;
}

Result<RecordView> ExportReader::ReadAt(uint64_t position, std::string& storage) const {
  const Impl& r = *impl_;
  storage.resize(10);
  ssize_t got = ::pread(r.fd, storage.data(), 10, static_cast<off_t>(position));
  if (got <= 0) return DataLoss(r.path + ": " + AtPosition(position) + ": cannot read");
  size_t pos = 0;
  uint64_t length = 0;
  if (!ReadVarint(storage.data(), static_cast<size_t>(got), &pos, &length) || length > kMaxRecord) {
    return DataLoss(r.path + ": " + AtPosition(position) + ": broken record length");
  }
  storage.resize(length);
  got = ::pread(r.fd, storage.data(), length, static_cast<off_t>(position + pos));
  if (got < 0 || static_cast<uint64_t>(got) != length) {
    return DataLoss(r.path + ": " + AtPosition(position) + ": record cut off");
  }
  RecordView record;
  if (Status s = ParseRecord(storage, record); !s.ok()) {
    return DataLoss(r.path + ": " + AtPosition(position) + ": " + s.message());
  }
  record.position = position;
  return record;
}

Status ExportReader::Rewind(bool hash) {
  Impl& r = *impl_;
  r.hashing = hash;
  r.length = 0;
  r.buffer_start = 0;
  r.cursor = 0;
  r.file_read = 0;
  r.hash.Reset();
  return Status::Ok();
}

uint64_t ExportReader::size() const { return impl_->size; }
uint64_t ExportReader::position() const { return impl_->buffer_start + impl_->cursor; }
std::string ExportReader::Sha256Hex() const { return impl_->hash.Hex(); }

const std::string& ExportReader::path() const { return impl_->path; }

}  // namespace claims::audit
